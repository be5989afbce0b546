"""The deterministic keys sfrenew writes (``Sfrenew_Key__c``) and finds records by.

One definition each, used by the planner and by the tests: a renewal opportunity's
key, a renewal line's and a cadence task's. Each is a 24-hex-digit BLAKE2b digest of
its parts joined by the unit separator (``\\x1f``, which no Salesforce Id, date or
step name contains), so no part can run into the next.
Keys are what make a run idempotent: the same contracts, start date, line and step
give the same key on every run, and an upsert by key updates instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from hashlib import blake2b

from sfrenew.core.rules.term import iso


def key_of(*parts: str) -> str:
    """The key of ``parts``: 12 bytes of BLAKE2b over ``"\\x1f".join(parts)``, as hex."""
    return blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def renewal_key(account_id: str, *, contract_ids: Sequence[str], start: date) -> str:
    """A new renewal opportunity's key: account, its contracts (sorted) and start date.

    The start date tells one year's renewal of a contract from the next. An open
    renewal sfrenew already made keeps its key (see ``plan_account``), so moving a
    date or adding a contract to the group updates it instead of replacing it.
    """
    return key_of("renewal", account_id, ",".join(sorted(contract_ids)), iso(start))


def adopted_renewal_key(opportunity_id: str) -> str:
    """The key of a renewal a person made and sfrenew adopted (``rules.adoption``).

    Derived from the person's opportunity alone, so the cadence tasks sfrenew adds to it
    (``task_key`` of this key) stay the same tasks on every run, whichever contracts the
    opportunity renews. The key is never written on the opportunity: sfrenew knows it
    by its Salesforce Id, and never takes it for one it made.
    """
    return key_of("adopted", opportunity_id)


def line_key(renewal: str, *, contract_id: str, source_line_id: str) -> str:
    """A renewal line's key: its renewal's key and the contract line it renews."""
    return key_of("line", renewal, contract_id, source_line_id)


def task_key(renewal_key: str, step: str) -> str:
    """A cadence task's key: its renewal's key and the cadence step."""
    return key_of("task", renewal_key, step)


def metric_key(metric: str, *, period: str, dimension: str, dimension_value: str,
               currency: str) -> str:
    """A renewal metric row's key: the metric, its period, the dimension and its value,
    and the currency it is stated in. Recomputing a figure updates its row."""
    return key_of("metric", metric, period, dimension, dimension_value, currency)


def snapshot_key(snapshot_date: date, *, period: str, category: str, currency: str) -> str:
    """A forecast snapshot row's key: the snapshot's date (the week's Monday), the period
    forecast, the forecast category and the currency. One row per week and category."""
    return key_of("snapshot", iso(snapshot_date), period, category, currency)
