"""Reads and writes of several objects at once, against the local org: the same records
and results as one call after another, fewer API calls (counted by the org itself),
Bulk jobs running together."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sfrenew.localorg.accounting import CallKind as OrgCallKind
from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import (
    CallKind,
    ConfigurationError,
    Gateway,
    RetryPolicy,
    SalesforceConfig,
    Thresholds,
    connect,
    format_soql,
)
from sfrenew.salesforce.port import ReadSpec, WriteRequest
from sfrenew.salesforce.results import Operation

pytestmark = pytest.mark.integration
REST = Thresholds(read_bulk_rows=10**9, write_bulk_rows=10**9)
BULK = Thresholds(read_bulk_rows=1, write_bulk_rows=1)
_tags = itertools.count()


def gateway_for(org: LocalOrg, thresholds: Thresholds) -> Gateway:
    config = SalesforceConfig(target="local", local_data_dir=org.data_dir,
                              bulk_poll_seconds=0.02)
    gateway = connect(config, retry=RetryPolicy.no_wait())
    gateway.thresholds = thresholds
    return gateway


@pytest.fixture
def tag() -> str:
    return f"gwm{next(_tags)}x"


def _accounts(tag: str, n: int) -> list[dict[str, Any]]:
    return [{"Name": f"{tag} a{i}", "AnnualRevenue": Decimal(i)} for i in range(n)]


def _renewals(tag: str, n: int) -> list[dict[str, Any]]:
    return [{"Sfrenew_Key__c": f"{tag}-{i}", "Name": f"{tag} r{i}", "StageName": "Prospecting",
             "CloseDate": date(2026, 5, 1)} for i in range(n)]


def _specs(tag: str, *, known: bool) -> list[ReadSpec]:
    like = f"{tag} %"
    account = ReadSpec("Account", ("Id", "Name", "AnnualRevenue"),
                       format_soql("Name LIKE {}", like), expected_rows=7 if known else None)
    renewal = ReadSpec("Opportunity", ("Id", "Sfrenew_Key__c", "Account.Name"),
                       format_soql("Name LIKE {}", like), expected_rows=5 if known else None)
    return [account, renewal] * 3  # six reads: two composite calls of five and one


def test_read_many_gives_what_reads_one_by_one_give(local_org: LocalOrg, tag: str) -> None:
    setup = gateway_for(local_org, REST)
    setup.write("insert", "Account", _accounts(tag, 7))
    setup.write("upsert", "Opportunity", _renewals(tag, 5), external_id_field="Sfrenew_Key__c")
    one_by_one = [list(setup.read(s.sobject, s.fields, s.where)) for s in _specs(tag,
                                                                                known=True)]
    for thresholds in (REST, BULK):
        gateway = gateway_for(local_org, thresholds)
        together = [list(rows) for rows in gateway.read_many(_specs(tag, known=False))]
        assert together == one_by_one
        assert [len(r) for r in together] == [7, 5, 7, 5, 7, 5]


def test_six_reads_over_rest_cost_four_calls_as_the_org_counts_them(
        local_org: LocalOrg, tag: str) -> None:
    gateway = gateway_for(local_org, REST)
    gateway.write("insert", "Account", _accounts(tag, 7))
    for spec in _specs(tag, known=False):  # describes cached before counting
        gateway.describe(spec.sobject)
    before = local_org.accounting.snapshot()["calls"]
    used = local_org.accounting.api_used
    rows = [len(list(r)) for r in gateway.read_many(_specs(tag, known=False))]
    after = local_org.accounting.snapshot()["calls"]
    assert rows == [7, 0, 7, 0, 7, 0]
    # Six COUNT()s: one composite of five and one plain query; six first pages: the same.
    assert after.get(OrgCallKind.COMPOSITE, 0) - before.get(OrgCallKind.COMPOSITE, 0) == 2
    assert after.get(OrgCallKind.QUERY_PAGE, 0) - before.get(OrgCallKind.QUERY_PAGE, 0) == 2
    assert local_org.accounting.api_used - used == 4  # a composite is one API call
    assert gateway.calls.get(CallKind.COMPOSITE) == 2


def test_a_failed_query_inside_a_composite_is_a_configuration_error(
        local_org: LocalOrg) -> None:
    gateway = gateway_for(local_org, REST)
    specs = [ReadSpec("Account", ("Id",), "Name = 'x'", expected_rows=0),
             ReadSpec("Account", ("Id",), "NoSuchField__c = 1", expected_rows=0)]
    with pytest.raises(ConfigurationError, match="INVALID_FIELD"):
        [list(rows) for rows in gateway.read_many(specs)]


def test_bulk_query_jobs_are_all_started_before_the_first_is_read(
        local_org: LocalOrg, tag: str) -> None:
    gateway_for(local_org, REST).write("insert", "Account", _accounts(tag, 7))
    gateway = gateway_for(local_org, BULK)
    reads = gateway.read_many(_specs(tag, known=True)[:4])
    first = next(reads)
    # Four jobs created, none read yet: they run in the org at the same time.
    assert gateway.calls.get(CallKind.BULK_JOB) == 4
    assert gateway.calls.get(CallKind.BULK_RESULTS) == 0
    assert len(list(first)) == 7
    assert [len(list(r)) for r in reads] == [0, 7, 0]


def test_write_many_runs_bulk_jobs_together_with_the_results_of_each(
        local_org: LocalOrg, tag: str) -> None:
    gateway = gateway_for(local_org, BULK)
    renewals = _renewals(tag, 40)
    renewals[3]["Name"] = "x" * 300  # STRING_TOO_LONG
    results = gateway.write_many([
        WriteRequest(Operation.INSERT, "Account", _accounts(tag, 30)),
        WriteRequest(Operation.UPSERT, "Opportunity", renewals, "Sfrenew_Key__c"),
        WriteRequest(Operation.INSERT, "Account", [])])
    accounts, opportunities, nothing = results
    assert [r.index for r in accounts] == list(range(30))
    assert all(r.success and r.created for r in accounts)
    assert [r.index for r in opportunities] == list(range(40))
    assert [r.error_code for r in opportunities if not r.success] == ["STRING_TOO_LONG"]
    assert nothing == []
    assert gateway.calls.get(CallKind.BULK_UPLOAD) == 2
    names = {r["Id"]: r["Name"] for r in gateway.query(format_soql(
        "SELECT Id, Name FROM Account WHERE Name LIKE {}", f"{tag} %"))}
    assert [names[str(r.id)] for r in accounts] == [f"{tag} a{i}" for i in range(30)]
