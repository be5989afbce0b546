"""The gateway against the local org over HTTPS: logins, reads, writes, refresh, faults, budget.

REST and Collections paths here; the same data through Bulk API 2.0, and the local
org's fault rates, are in ``test_gateway_bulk.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sfrenew.localorg.accounting import CallKind as OrgCallKind
from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.wire import Request
from sfrenew.salesforce import (
    AuthFlow,
    BudgetExhausted,
    BudgetGuard,
    CallKind,
    Gateway,
    RetryPolicy,
    SalesforceConfig,
    TransientError,
    connect,
    format_soql,
)
from sfrenew.salesforce.auth import EVENT_PASSWORD_DEPRECATED

pytestmark = pytest.mark.integration
_tags = itertools.count()


def gateway_for(org: LocalOrg, *, auth: AuthFlow | None = None, attempts: int = 5,
                budget: BudgetGuard | None = None) -> Gateway:
    config = SalesforceConfig(target="local", local_data_dir=org.data_dir, auth=auth,
                              bulk_poll_seconds=0)
    return connect(config, retry=RetryPolicy.no_wait(attempts=attempts), budget=budget)


@pytest.fixture
def gateway(local_org: LocalOrg) -> Iterator[Gateway]:
    with gateway_for(local_org) as gateway:
        yield gateway


@pytest.fixture
def tag() -> str:
    """A prefix unique to one test, so tests sharing the org never see each other's rows."""
    return f"gw{next(_tags)}x"


def renewals(tag: str, count: int) -> list[dict[str, Any]]:
    """Renewal opportunities keyed by ``Sfrenew_Key__c`` (an External ID on Opportunity;
    activities cannot have one in Salesforce, so Tasks are written by Id)."""
    return [{"Sfrenew_Key__c": f"{tag}-{i}", "Name": f"{tag} renewal {i}",
             "StageName": "Prospecting", "CloseDate": date(2026, 3, 1 + i % 28),
             "Amount": Decimal(1000 + i)} for i in range(count)]


def task_rows(tag: str, count: int) -> list[dict[str, Any]]:
    return [{"Subject": f"{tag} step {i}", "ActivityDate": date(2026, 3, 1 + i % 28),
             "Priority": "High" if i % 3 else "Normal"} for i in range(count)]


def mine(tag: str) -> str:
    return format_soql("Sfrenew_Key__c LIKE {}", f"{tag}-%")


def my_tasks(tag: str) -> str:
    return format_soql("Subject LIKE {}", f"{tag} step %")


@pytest.mark.parametrize("flow", [None, AuthFlow.JWT, AuthFlow.PASSWORD])
def test_every_local_login_flow(local_org: LocalOrg, flow: AuthFlow | None) -> None:
    with capture_logs() as logs:
        gateway = gateway_for(local_org, auth=flow)
    assert "Task" in {o["name"] for o in gateway.describe_global()["sobjects"]}
    assert gateway.api_usage is not None  # /limits read at connect
    warned = any(e["event"] == EVENT_PASSWORD_DEPRECATED for e in logs)
    assert warned is (flow is AuthFlow.PASSWORD)


def test_collections_upsert_then_rest_read(gateway: Gateway, tag: str) -> None:
    rows = renewals(tag, 450)
    rows[7]["Name"] = "x" * 300  # too long: rejected, as data

    first = gateway.write("upsert", "Opportunity", rows, external_id_field="Sfrenew_Key__c")
    again = gateway.write("upsert", "Opportunity", rows[:5], external_id_field="Sfrenew_Key__c")

    assert [r.index for r in first] == list(range(450))
    assert first[7].error_code == "STRING_TOO_LONG"
    assert first[7].fields == ("Name",)
    assert sum(r.success and r.created for r in first) == 449
    assert [r.created for r in again] == [False] * 5
    assert [r.id for r in again] == [r.id for r in first[:5]]
    assert gateway.calls.get(CallKind.COLLECTIONS) == 3 + 1

    fields = ["Id", "Sfrenew_Key__c", "CloseDate", "IsClosed", "Amount", "Probability",
              "Owner.Name"]
    records = {r["Sfrenew_Key__c"]: r for r in gateway.read("Opportunity", fields, mine(tag))}
    assert len(records) == 449
    assert records[f"{tag}-1"]["CloseDate"] == date(2026, 3, 2)
    assert records[f"{tag}-1"]["IsClosed"] is False
    assert records[f"{tag}-1"]["Amount"] == Decimal(1001)
    assert records[f"{tag}-1"]["Probability"] == Decimal(10)
    assert records[f"{tag}-0"]["Id"] == first[0].id
    assert f"{tag}-7" not in records


def test_tasks_insert_update_delete_by_id(gateway: Gateway, tag: str) -> None:
    made = gateway.write("insert", "Task", task_rows(tag, 250))
    moved = gateway.write("update", "Task", [{"Id": r.id, "ActivityDate": date(2026, 5, 1)}
                                             for r in made])
    gone = gateway.write("delete", "Task", [{"Id": r.id} for r in made[:50]])
    assert all(r.success and r.created for r in made)
    assert all(r.success and not r.created for r in moved + gone)
    assert gateway.count("Task", my_tasks(tag)) == 200
    assert gateway.count("Task", my_tasks(tag), include_deleted=True) == 250


def test_read_types_match_query_values(gateway: Gateway, tag: str) -> None:
    written = gateway.write("insert", "Account", [
        {"Name": f"{tag} Acme", "AnnualRevenue": Decimal("1200000"), "NumberOfEmployees": 40,
         "Health_Score__c": 71, "Do_Not_Renew__c": True}])
    where = format_soql("Id = {}", written[0].id)
    fields = ["Id", "Name", "AnnualRevenue", "NumberOfEmployees", "Health_Score__c",
              "Do_Not_Renew__c", "CreatedDate"]
    [typed] = gateway.read("Account", fields, where)
    [raw] = gateway.query(format_soql("SELECT {:literal} FROM Account WHERE {:literal}",
                                      ", ".join(fields), where))
    assert typed["AnnualRevenue"] == Decimal("1200000") == raw["AnnualRevenue"]
    assert typed["NumberOfEmployees"] == 40
    assert typed["Do_Not_Renew__c"] is True
    assert typed["CreatedDate"].tzinfo is not None


def test_expired_session_is_refreshed_mid_paging(local_org: LocalOrg, gateway: Gateway,
                                                 tag: str) -> None:
    gateway.write("insert", "Task", task_rows(tag, 450))
    soql = format_soql("SELECT Id FROM Task WHERE {:literal}", my_tasks(tag))
    stream = gateway.query(soql, batch_size=200)
    got = [next(stream)]
    local_org.expire_sessions()  # the next page request meets 401 INVALID_SESSION_ID
    got.extend(stream)
    local_org.expire_sessions()
    results = gateway.write("update", "Task", [{"Id": r["Id"], "Priority": "Low"} for r in got])

    assert len({r["Id"] for r in got}) == 450
    assert all(r.success for r in results)
    assert gateway.calls.get(CallKind.AUTH) == 3  # the login and one refresh per expiry


class FailFirst:
    """A local org call hook: answer the first ``times`` calls of ``kind`` with an error."""

    def __init__(self, kind: OrgCallKind, times: int, *, status: int = 503,
                 code: str = "SERVER_UNAVAILABLE") -> None:
        self.kind, self.left, self.status, self.code = kind, times, status, code

    def before_call(self, request: Request, *, kind: OrgCallKind) -> None:
        if kind is self.kind and self.left > 0:
            self.left -= 1
            raise SalesforceApiError.single(self.status, self.code, "injected by the test")


Inject = Callable[[FailFirst], FailFirst]


@pytest.fixture
def inject(local_org: LocalOrg) -> Iterator[Inject]:
    """Add a call hook to the shared org for one test only."""
    added: list[FailFirst] = []

    def add(hook: FailFirst) -> FailFirst:
        added.append(hook)
        local_org.api.hooks.append(hook)
        return hook

    yield add
    for hook in added:
        local_org.api.hooks.remove(hook)


def test_injected_503s_are_survived_without_loss_or_duplicates(
        gateway: Gateway, tag: str, inject: Inject) -> None:
    inject(FailFirst(OrgCallKind.COLLECTIONS, 2))
    inject(FailFirst(OrgCallKind.QUERY_PAGE, 1, status=400, code="QUERY_TIMEOUT"))

    results = gateway.write("upsert", "Opportunity", renewals(tag, 300),
                            external_id_field="Sfrenew_Key__c")

    assert all(r.success for r in results)
    assert gateway.calls.get(CallKind.COLLECTIONS) == 2 + 2  # two 503s, then two calls
    assert gateway.count("Opportunity", mine(tag)) == 300
    assert len({r.id for r in results}) == 300


def test_transient_error_after_the_attempt_bound(local_org: LocalOrg, tag: str,
                                                 inject: Inject) -> None:
    gateway = gateway_for(local_org, attempts=3)
    hook = inject(FailFirst(OrgCallKind.COLLECTIONS, 10))
    with pytest.raises(TransientError):
        gateway.write("insert", "Task", task_rows(tag, 1))
    assert hook.left == 7


def test_budget_cap_stops_cleanly_before_the_call(local_org: LocalOrg, tag: str) -> None:
    gateway = gateway_for(local_org, budget=BudgetGuard(max_calls_per_run=3))  # limits = 1
    gateway.write("insert", "Task", task_rows(tag, 200))
    gateway.write("insert", "Task", task_rows(tag + "b", 200))
    served = local_org.accounting.api_used
    with pytest.raises(BudgetExhausted, match="stopped after 3 API calls: run cap 3 reached"):
        gateway.write("insert", "Task", task_rows(tag + "c", 1))
    assert local_org.accounting.api_used == served  # nothing was sent


def test_spent_daily_allocation_is_budget_exhausted(tmp_path: Path) -> None:
    with LocalOrg(tmp_path / "org", daily_api_requests=4) as org:
        ours = gateway_for(org)  # /limits: 1 of 4 used
        other = gateway_for(org)  # 2 of 4
        other.describe_global()
        other.describe_global()  # 4 of 4: ours does not know yet
        with pytest.raises(BudgetExhausted) as by_org:
            ours.describe_global()  # sent; the org answers 403 REQUEST_LIMIT_EXCEEDED
        with pytest.raises(BudgetExhausted) as by_guard:
            other.describe_global()  # not sent: the guard saw 4 of 4 in the last answer
    assert by_org.value.reason == "daily allocation spent"
    assert by_guard.value.reason == "daily allocation spent"
    assert ours.calls.get(CallKind.DESCRIBE) == 1


def test_reads_by_many_ids_fit_the_url_limit(gateway: Gateway, tag: str) -> None:
    """1,500 Ids make an ``Id IN (...)`` list of ~40 KB once URL-encoded: Salesforce (and
    the local org) answer 414 beyond 16,384 bytes, so the read is split into queries that
    fit, and every record comes back once, typed."""
    made = gateway.write("insert", "Task", task_rows(tag, 1500))
    ids = [str(r.id) for r in made]
    before = gateway.calls.as_dict().get("query_page", 0)
    rows = list(gateway.read_by_ids("Task", ["Id", "ActivityDate"], ids))
    assert sorted(str(r["Id"]) for r in rows) == sorted(ids)
    assert all(isinstance(r["ActivityDate"], date) for r in rows)
    # each Id costs about 27 URL bytes ('…' and a comma, encoded): at least 3 queries
    assert gateway.calls.as_dict().get("query_page", 0) - before >= 3
