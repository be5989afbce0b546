"""The Salesforce gateway: the only place sfrenew talks to Salesforce.

Public API (everything else in this package is private to it)::

    gateway = connect(config)                       # SalesforceConfig -> Gateway (closeable,
                                                    # a context manager)
    gateway.query(soql, include_deleted=False, batch_size=None)   # Iterator[dict], REST pages
    gateway.count("Contract", where)                # int, one COUNT() call
    gateway.read("Contract", ["Id", "EndDate"], where, include_deleted=False)
                                                    # Iterator[dict]; REST or Bulk by COUNT()
    gateway.write("upsert", "Opportunity", rows, external_id_field="Sfrenew_Key__c")
                                                    # list[RowResult], input order
    gateway.describe("Contract"); gateway.describe_global(); gateway.limits()
    gateway.in_chunks("SELECT Id FROM Contract WHERE AccountId IN {values}", ids)
    gateway.calls.as_dict(); gateway.api_usage; gateway.budget.calls_used

SOQL values go through :func:`format_soql` (never f-strings). Errors are typed by
what the caller can do (see :mod:`sfrenew.salesforce.errors`): the run retries
nothing itself (the gateway already did), checkpoints on :class:`BudgetExhausted`
and :class:`TransientError`, shows :class:`ConfigurationError`, :class:`AuthError` and
:class:`Unreachable` (a wrong address, a refused port, an untrusted certificate)
without a traceback, and reports failed rows from their :class:`RowResult`
(``NOT_PROCESSED``: a row never sent because the write was interrupted for good
after earlier calls saved rows; a later run sends it again).
"""

from sfrenew.salesforce.budget import BudgetGuard, CallCounter, CallKind
from sfrenew.salesforce.config import AuthFlow, SalesforceConfig, Secret
from sfrenew.salesforce.errors import (
    ApiUsage,
    AuthError,
    BudgetExhausted,
    BulkJobFailed,
    ConfigurationError,
    GatewayError,
    MultipleMatches,
    RecordRejected,
    SecretMissing,
    SessionExpired,
    TransientError,
    UnexpectedResponse,
    Unreachable,
    UnreachableCause,
)
from sfrenew.salesforce.gateway import Gateway, connect
from sfrenew.salesforce.port import GatewayPort, Thresholds
from sfrenew.salesforce.results import NOT_PROCESSED, Operation, RowResult
from sfrenew.salesforce.retry import RetryPolicy
from sfrenew.salesforce.soql import MAX_URL_BYTES, format_soql

__all__ = [
    "MAX_URL_BYTES",
    "NOT_PROCESSED",
    "ApiUsage",
    "AuthError",
    "AuthFlow",
    "BudgetExhausted",
    "BudgetGuard",
    "BulkJobFailed",
    "CallCounter",
    "CallKind",
    "ConfigurationError",
    "Gateway",
    "GatewayError",
    "GatewayPort",
    "MultipleMatches",
    "Operation",
    "RecordRejected",
    "RetryPolicy",
    "RowResult",
    "SalesforceConfig",
    "Secret",
    "SecretMissing",
    "SessionExpired",
    "Thresholds",
    "TransientError",
    "UnexpectedResponse",
    "Unreachable",
    "UnreachableCause",
    "connect",
    "format_soql",
]
