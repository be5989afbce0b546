"""REST and Bulk API 2.0 against the local org: same data, same results, faults survived."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.faults import FaultConfig
from sfrenew.salesforce import (
    CallKind,
    Gateway,
    RetryPolicy,
    RowResult,
    SalesforceConfig,
    Thresholds,
    connect,
    format_soql,
)
from sfrenew.salesforce.port import StreamedWrite
from sfrenew.salesforce.results import Operation

pytestmark = pytest.mark.integration
REST = Thresholds(read_bulk_rows=10**9, write_bulk_rows=10**9)
BULK = Thresholds(read_bulk_rows=0, write_bulk_rows=1)
_tags = itertools.count()


def gateway_for(org: LocalOrg, *, attempts: int = 5, lock_retry_rounds: int = 3) -> Gateway:
    config = SalesforceConfig(target="local", local_data_dir=org.data_dir,
                              bulk_poll_seconds=0.05)
    return connect(config, retry=RetryPolicy.no_wait(attempts=attempts,
                                                    lock_retry_rounds=lock_retry_rounds))


@pytest.fixture
def tag() -> str:
    return f"gwb{next(_tags)}x"


def accounts(tag: str, count: int) -> list[dict[str, Any]]:
    """Accounts with every value type the gateway types: text with commas, quotes and
    newlines, currency, int, double, boolean, picklist, and empty values."""
    return [{"Name": f"{tag} Customer {i}, \"Inc\"", "AnnualRevenue": Decimal(1000 * i + 7),
             "NumberOfEmployees": i if i % 4 else None, "Health_Score__c": i % 101,
             "Do_Not_Renew__c": i % 3 == 0, "Segment__c": ("Enterprise", "SMB", None)[i % 3],
             "Description": None if i % 2 else f"line one\nline two {i}"}
            for i in range(count)]


def renewals(tag: str, count: int) -> list[dict[str, Any]]:
    """Renewal opportunities keyed by ``Sfrenew_Key__c`` (External ID on Opportunity)."""
    return [{"Sfrenew_Key__c": f"{tag}-{i}", "Name": f"{tag} renewal {i}",
             "StageName": ("Prospecting", "Qualification")[i % 2],
             "CloseDate": date(2026, 4, 1 + i % 30), "Amount": Decimal(100 * i) / 3}
            for i in range(count)]


def outcome(results: list[RowResult]) -> list[tuple[Any, ...]]:
    """What must match between paths (Ids differ between two separate writes)."""
    return [(r.index, r.success, r.created, r.error_code, r.fields, r.id is not None)
            for r in results]


def test_both_write_paths_give_the_same_row_results(local_org: LocalOrg, tag: str) -> None:
    gateway = gateway_for(local_org)
    by_path = {}
    for name, thresholds in (("rest", REST), ("bulk", BULK)):
        gateway.thresholds = thresholds
        rows = renewals(f"{tag}{name}", 30)
        rows[4]["Name"] = "x" * 300  # STRING_TOO_LONG
        rows[9]["StageName"] = None  # explicitly null: REQUIRED_FIELD_MISSING
        rows[12]["AccountId"] = "001000000000000AAA"  # no such record
        first = gateway.write("upsert", "Opportunity", rows, external_id_field="Sfrenew_Key__c")
        again = gateway.write("upsert", "Opportunity", rows[:3],
                              external_id_field="Sfrenew_Key__c")
        gone = gateway.write("delete", "Opportunity", [{"Id": r.id} for r in first[:2]])
        by_path[name] = (outcome(first), outcome(again), outcome(gone))
    assert by_path["rest"] == by_path["bulk"]
    errors = {o[0]: o[3] for o in by_path["rest"][0] if not o[1]}
    assert errors == {4: "STRING_TOO_LONG", 9: "REQUIRED_FIELD_MISSING",
                      12: "INVALID_CROSS_REFERENCE_KEY"}
    assert [o[2] for o in by_path["rest"][1]] == [False, False, False]
    assert gateway.calls.get(CallKind.BULK_JOB) >= 6  # the Bulk half really ran Bulk jobs


def test_both_read_paths_give_identical_records(local_org: LocalOrg, tag: str) -> None:
    gateway = gateway_for(local_org)
    gateway.thresholds = REST
    written = gateway.write("insert", "Account", accounts(tag, 120))
    gateway.write("delete", "Account", [{"Id": r.id} for r in written[:10]])
    where = format_soql("Name LIKE {}", f"{tag} %")
    fields = ["Id", "Name", "AnnualRevenue", "NumberOfEmployees", "Health_Score__c",
              "Do_Not_Renew__c", "Segment__c", "Description", "CreatedDate", "IsDeleted",
              "Owner.Name"]

    reads = {}
    for name, thresholds in (("rest", REST), ("bulk", BULK)):
        gateway.thresholds = thresholds
        reads[name] = (list(gateway.read("Account", fields, where)),
                       list(gateway.read("Account", fields, where, include_deleted=True)))

    assert reads["rest"] == reads["bulk"]
    live, with_deleted = reads["rest"]
    assert len(live) == 110
    assert len(with_deleted) == 120
    assert sum(r["IsDeleted"] for r in with_deleted) == 10
    assert live[0]["Name"].endswith(", \"Inc\"")
    assert gateway.calls.get(CallKind.BULK_JOB) == 2


def test_faults_survived_with_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    faults = FaultConfig(seed=7, server_unavailable_rate=0.15, lock_row_rate=0.1,
                         query_timeout_rate=0.1)
    with LocalOrg(tmp_path / "org", faults=faults) as org:
        gateway = gateway_for(org, attempts=12, lock_retry_rounds=8)
        for name, thresholds, count in (("rest", REST, 600), ("bulk", BULK, 2500)):
            gateway.thresholds = thresholds
            key = f"faulty{name}"
            results = gateway.write("upsert", "Opportunity", renewals(key, count),
                                    external_id_field="Sfrenew_Key__c")
            assert [r.index for r in results] == list(range(count))
            assert all(r.success for r in results), {r.error_code for r in results}
            assert len({r.id for r in results}) == count
            assert gateway.count("Opportunity", format_soql("Sfrenew_Key__c LIKE {}",
                                                            f"{key}-%")) == count
        injected = org.stats()["faults"]
    assert sum(injected.values()) > 0  # the faults really happened


@pytest.mark.parametrize("method", ["write_streamed", "start_streamed"])
def test_streamed_writes_answer_every_row_once_through_lock_errors(tmp_path: Path,
                                                                   method: str) -> None:
    # Rows read from the caller as they are uploaded, results given as the result files
    # are read; rows refused with a lock error are sent again before they are answered.
    # start_streamed has its Bulk job uploaded and closed before it returns; the small
    # write goes through Collections only as the answers are read.
    faults = FaultConfig(seed=3, lock_row_rate=0.1)
    with LocalOrg(tmp_path / "org", faults=faults) as org:
        gateway = gateway_for(org, lock_retry_rounds=8)
        rows = renewals("streamed", 300)
        small = renewals("streamed-small", 3)
        gateway.thresholds = Thresholds(read_bulk_rows=1, write_bulk_rows=10)
        columns = tuple(dict.fromkeys(k for r in rows for k in r))
        sent = getattr(gateway, method)([
            StreamedWrite(Operation.UPSERT, "Opportunity", columns, len(rows),
                          lambda: iter(rows), lambda idx: [rows[i] for i in idx],
                          "Sfrenew_Key__c"),
            StreamedWrite(Operation.UPSERT, "Opportunity", columns, len(small),
                          lambda: iter(small), lambda idx: [small[i] for i in idx],
                          "Sfrenew_Key__c")])
        started = method == "start_streamed"
        assert gateway.calls.get(CallKind.BULK_UPLOAD) == (1 if started else 0)
        assert gateway.calls.get(CallKind.BULK_JOB) == (2 if started else 0)
        assert gateway.calls.get(CallKind.COLLECTIONS) == 0
        answers = list(sent)
        by_request = {0: sorted(r.index for n, r in answers if n == 0),
                      1: sorted(r.index for n, r in answers if n == 1)}
        assert by_request == {0: list(range(300)), 1: [0, 1, 2]}
        assert all(r.success for _n, r in answers), {r.error_code for _n, r in answers}
        assert gateway.calls.get(CallKind.BULK_UPLOAD) >= 1
        assert gateway.calls.get(CallKind.COLLECTIONS) >= 1  # the small one: below 10 rows
        assert gateway.count("Opportunity", format_soql("Sfrenew_Key__c LIKE {}",
                                                        "streamed-%")) == 303
        assert org.stats()["faults"].get("lock_row", 0) > 0, org.stats()["faults"]


def test_session_expiring_during_bulk_polls_is_refreshed(tmp_path: Path) -> None:
    faults = FaultConfig(bulk_job_ms=1500, session_lifetime_s=1.0)
    with LocalOrg(tmp_path / "org", faults=faults) as org:
        gateway = gateway_for(org)
        gateway.thresholds = BULK
        results = gateway.write("upsert", "Opportunity", renewals("expiring", 50),
                                external_id_field="Sfrenew_Key__c")
        rows = list(gateway.read("Opportunity", ["Id", "Sfrenew_Key__c"]))
    assert all(r.success for r in results)
    assert len(rows) == 50
    assert gateway.calls.get(CallKind.AUTH) >= 2
