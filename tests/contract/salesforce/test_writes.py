"""Collections and Bulk API 2.0 writes: per-row results as data, in input order."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from sfrenew.salesforce import (
    BudgetExhausted,
    BudgetGuard,
    CallKind,
    ConfigurationError,
    RowResult,
    Thresholds,
    TransientError,
)
from tests.contract.salesforce.conftest import API, TOKEN_URL, GatewayFactory, token_body

OK = {"success": True, "errors": []}
LOCK = {"success": False, "errors": [
    {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access",
     "fields": []}]}
DUPLICATE = {"success": False, "errors": [
    {"statusCode": "DUPLICATE_VALUE", "message": "duplicate value found: Key__c",
     "fields": ["Key__c"]}]}


def body_of(call: Any) -> dict[str, Any]:
    data = call.request.body
    return dict(json.loads(data.decode() if isinstance(data, bytes) else data))


def test_insert_results_in_order_with_data_errors(rsps: responses.RequestsMock,
                                                  make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.post(f"{API}/composite/sobjects", json=[{"id": "001A", **OK}, DUPLICATE,
                                                 {"id": "001C", **OK}])
    rows = [{"Name": "a", "Key__c": "1"}, {"Name": "b", "Key__c": "1"}, {"Name": "c"}]

    results = gateway.write("insert", "Account", rows)

    assert results == [
        RowResult(0, "001A", created=True, success=True),
        RowResult(1, None, created=False, success=False, error_code="DUPLICATE_VALUE",
                  message="duplicate value found: Key__c", fields=("Key__c",)),
        RowResult(2, "001C", created=True, success=True),
    ]
    sent = body_of(rsps.calls[-1])
    assert sent["allOrNone"] is False
    assert sent["records"][0] == {"attributes": {"type": "Account"}, "Name": "a", "Key__c": "1"}


def test_collections_calls_of_200(rsps: responses.RequestsMock,
                                  make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    sizes: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        records = json.loads(request.body)["records"]
        sizes.append(len(records))
        return 200, {}, json.dumps([{"id": r["Id"], **OK} for r in records])

    rsps.add_callback(responses.PATCH, f"{API}/composite/sobjects", callback=answer)
    rows = [{"Id": f"006{i:015d}", "StageName": "Prospecting"} for i in range(450)]

    results = gateway.write("update", "Opportunity", rows)

    assert sizes == [200, 200, 50]
    assert [r.index for r in results] == list(range(450))
    assert all(r.success and not r.created for r in results)
    assert gateway.calls.get(CallKind.COLLECTIONS) == 3


def test_lock_errors_retried_for_failed_rows_only_in_smaller_batches(
        rsps: responses.RequestsMock, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(lock_retry_rounds=3)
    seen: list[list[str]] = []
    locked_once: set[str] = set()

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        names = [r["Ext__c"] for r in json.loads(request.body)["records"]]
        seen.append(names)
        out = []
        for name in names:
            if int(name) % 3 == 0 and name not in locked_once:  # every third row locked once
                locked_once.add(name)
                out.append(LOCK)
            else:
                out.append({"id": f"a0X{int(name):015d}", "created": True, **OK})
        return 200, {}, json.dumps(out)

    rsps.add_callback(responses.PATCH, f"{API}/composite/sobjects/Renewal__c/Ext__c",
                      callback=answer)
    rows = [{"Ext__c": str(i), "Amount__c": i} for i in range(300)]

    results = gateway.write("upsert", "Renewal__c", rows, external_id_field="Ext__c")

    failed_first = [str(i) for i in range(300) if i % 3 == 0]
    # 300 rows in calls of 200; then the 100 locked rows, in calls of 100 (half of 200).
    assert [len(s) for s in seen] == [200, 100, 100]
    assert seen[2] == failed_first  # only the failed rows were sent again
    assert all(r.success and r.created for r in results)
    assert [r.index for r in results] == list(range(300))


def test_lock_retries_are_bounded(rsps: responses.RequestsMock,
                                  make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(lock_retry_rounds=2)
    rsps.post(f"{API}/composite/sobjects", json=[LOCK])
    results = gateway.write("insert", "Task", [{"Subject": "Call"}])
    assert results[0].error_code == "UNABLE_TO_LOCK_ROW"
    assert results[0].retriable
    assert gateway.calls.get(CallKind.COLLECTIONS) == 3  # first try and two rounds


def test_delete_sends_ids_and_upsert_needs_a_key(rsps: responses.RequestsMock,
                                                 make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.delete(f"{API}/composite/sobjects", json=[{"id": "00TA", **OK}, {"id": "00TB", **OK}],
                match=[matchers.query_param_matcher({"ids": "00TA,00TB", "allOrNone": "false"})])
    results = gateway.write("delete", "Task", [{"Id": "00TA"}, {"Id": "00TB"}])
    assert [r.success for r in results] == [True, True]
    with pytest.raises(ConfigurationError):
        gateway.write("upsert", "Task", [{"Subject": "x"}])


def test_expired_session_in_collections_refreshes_once(rsps: responses.RequestsMock,
                                                       make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.post(f"{API}/composite/sobjects", status=401,
              json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    rsps.post(TOKEN_URL, json=token_body("00Dxx!second"))
    rsps.post(f"{API}/composite/sobjects", json=[{"id": "001A", **OK}])
    assert gateway.write("insert", "Account", [{"Name": "a"}])[0].id == "001A"
    assert gateway.calls.get(CallKind.AUTH) == 2


# --- Bulk API 2.0 ingest ------------------------------------------------------------

JOB = "7508Z00000lSXvxQAG"
INGEST = f"{API}/jobs/ingest"


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def register_ingest_job(rsps: responses.RequestsMock, *, processed: int, failed: int,
                        poll_states: tuple[str, ...] = ("InProgress", "JobComplete")) -> None:
    rsps.post(INGEST, json={"id": JOB, "state": "Open", "object": "Account"})
    rsps.put(f"{INGEST}/{JOB}/batches", status=201)
    rsps.patch(f"{INGEST}/{JOB}", json={"id": JOB, "state": "UploadComplete"})
    for state in poll_states:
        rsps.get(f"{INGEST}/{JOB}", json={"id": JOB, "state": state,
                                          "numberRecordsProcessed": processed,
                                          "numberRecordsFailed": failed})


def test_bulk_ingest_results_in_input_order(rsps: responses.RequestsMock,
                                            make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(write_bulk_rows=3))
    register_ingest_job(rsps, processed=4, failed=1)
    # Result files come back in their own order; rows are matched by echoed values.
    rsps.get(f"{INGEST}/{JOB}/successfulResults", body=csv_text(
        ["sf__Id", "sf__Created", "Name", "NumberOfEmployees"],
        [["001C", "true", "Gamma, Inc.", "#N/A"], ["001A", "false", "Alpha", "30"],
         ["001D", "true", "Delta \"quoted\"", "5"]]))
    rsps.get(f"{INGEST}/{JOB}/failedResults", body=csv_text(
        ["sf__Id", "sf__Error", "Name", "NumberOfEmployees"],
        [["", "STRING_TOO_LONG:Name: data value too large:Name --", "B" * 300, "1"]]))
    rows: list[dict[str, Any]] = [
        {"Name": "Alpha", "NumberOfEmployees": 30}, {"Name": "B" * 300, "NumberOfEmployees": 1},
        {"Name": "Gamma, Inc.", "NumberOfEmployees": None},
        {"Name": "Delta \"quoted\"", "NumberOfEmployees": 5}]

    results = gateway.write("upsert", "Account", rows, external_id_field="Name")

    assert results == [
        RowResult(0, "001A", created=False, success=True),
        RowResult(1, None, created=False, success=False, error_code="STRING_TOO_LONG",
                  message="Name: data value too large", fields=("Name",)),
        RowResult(2, "001C", created=True, success=True),
        RowResult(3, "001D", created=True, success=True),
    ]
    job_spec = json.loads(rsps.calls[1].request.body or b"")
    assert job_spec["operation"] == "upsert"
    assert job_spec["externalIdFieldName"] == "Name"
    assert gateway.calls.as_dict() == {"auth": 1, "bulk_job": 2, "bulk_poll": 2,
                                       "bulk_results": 2, "bulk_upload": 1}


def test_clean_bulk_job_downloads_only_successes(rsps: responses.RequestsMock,
                                                 make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(write_bulk_rows=2))
    register_ingest_job(rsps, processed=2, failed=0, poll_states=("JobComplete",))
    rsps.get(f"{INGEST}/{JOB}/successfulResults", body=csv_text(
        ["sf__Id", "sf__Created", "Subject"], [["00TB", "true", "b"], ["00TA", "true", "a"]]))
    results = gateway.write("insert", "Task", [{"Subject": "a"}, {"Subject": "b"}])
    assert [r.id for r in results] == ["00TA", "00TB"]
    assert gateway.calls.get(CallKind.BULK_RESULTS) == 1


def test_expired_session_during_bulk_poll_refreshes_once(rsps: responses.RequestsMock,
                                                         make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(write_bulk_rows=1))
    rsps.post(INGEST, json={"id": JOB, "state": "Open"})
    rsps.put(f"{INGEST}/{JOB}/batches", status=201)
    rsps.patch(f"{INGEST}/{JOB}", json={"id": JOB, "state": "UploadComplete"})
    rsps.get(f"{INGEST}/{JOB}", status=401,
             json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    rsps.post(TOKEN_URL, json=token_body("00Dxx!second"))
    rsps.get(f"{INGEST}/{JOB}", json={"id": JOB, "state": "JobComplete",
                                      "numberRecordsProcessed": 1, "numberRecordsFailed": 0})
    rsps.get(f"{INGEST}/{JOB}/successfulResults",
             body=csv_text(["sf__Id", "sf__Created", "Id"], [["00TA", "false", "00TA"]]))

    results = gateway.write("delete", "Task", [{"Id": "00TA"}])

    assert results == [RowResult(0, "00TA", created=False, success=True)]
    assert gateway.calls.get(CallKind.AUTH) == 2


def test_bulk_lock_failures_retried_through_collections(rsps: responses.RequestsMock,
                                                        make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(write_bulk_rows=2))
    register_ingest_job(rsps, processed=2, failed=1, poll_states=("JobComplete",))
    rsps.get(f"{INGEST}/{JOB}/successfulResults",
             body=csv_text(["sf__Id", "sf__Created", "Subject"], [["00TA", "true", "a"]]))
    rsps.get(f"{INGEST}/{JOB}/failedResults", body=csv_text(
        ["sf__Id", "sf__Error", "Subject"],
        [["", "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--", "b"]]))
    rsps.post(f"{API}/composite/sobjects", json=[{"id": "00TB", **OK}],
              match=[matchers.json_params_matcher({"allOrNone": False, "records": [
                  {"attributes": {"type": "Task"}, "Subject": "b"}]})])

    results = gateway.write("insert", "Task", [{"Subject": "a"}, {"Subject": "b"}])

    assert [(r.index, r.id, r.success) for r in results] == [(0, "00TA", True), (1, "00TB", True)]


@pytest.mark.parametrize(("status", "code", "calls"), [
    (500, "UNKNOWN_EXCEPTION", 1),   # may have saved the rows: a plain insert is not repeated
    (503, "SERVER_UNAVAILABLE", 3),  # nothing was done: repeated up to the attempt bound
])
def test_insert_repeated_only_when_nothing_was_saved(rsps: responses.RequestsMock,
                                                     make_gateway: GatewayFactory, status: int,
                                                     code: str, calls: int) -> None:
    gateway = make_gateway(attempts=3)
    insert = rsps.post(f"{API}/composite/sobjects", status=status,
                       json=[{"message": "m", "errorCode": code}])
    with pytest.raises(TransientError) as raised:
        gateway.write("insert", "Task", [{"Subject": "Call"}])
    assert insert.call_count == calls
    assert raised.value.ambiguous is (status == 500)


def test_upsert_is_repeated_after_an_ambiguous_failure(rsps: responses.RequestsMock,
                                                       make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=3)
    url = f"{API}/composite/sobjects/Task/Sfrenew_Key__c"
    rsps.patch(url, body=requests.ConnectionError("connection reset by peer"))
    rsps.patch(url, json=[{"id": "00TA", "created": True, **OK}])
    results = gateway.write("upsert", "Task", [{"Sfrenew_Key__c": "k1", "Subject": "Call"}],
                            external_id_field="Sfrenew_Key__c")
    assert results[0].created
    assert gateway.calls.get(CallKind.COLLECTIONS) == 2


def test_a_write_the_budget_cannot_finish_is_not_started(rsps: responses.RequestsMock,
                                                         make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(budget=BudgetGuard(max_calls_per_run=2))
    insert = rsps.post(f"{API}/composite/sobjects", json=[])
    with pytest.raises(BudgetExhausted, match="run cap 2 leaves 2 calls, 3 needed"):
        gateway.write("insert", "Task", [{"Subject": str(i)} for i in range(401)])
    assert insert.call_count == 0


def test_budget_stops_lock_retries_but_keeps_first_pass_results(
        rsps: responses.RequestsMock, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(budget=BudgetGuard(max_calls_per_run=1))
    rsps.post(f"{API}/composite/sobjects", json=[{"id": "00TA", **OK}, LOCK])
    results = gateway.write("insert", "Task", [{"Subject": "a"}, {"Subject": "b"}])
    assert [(r.success, r.retriable) for r in results] == [(True, False), (False, True)]
    assert gateway.calls.get(CallKind.COLLECTIONS) == 1


def test_a_failed_retry_round_keeps_what_earlier_calls_saved(rsps: responses.RequestsMock,
                                                             make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=2)
    calls: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        records = json.loads(request.body)["records"]
        calls.append(len(records))
        if len(calls) <= 2:  # first pass (200 + 100): every other row locked
            return 200, {}, json.dumps([LOCK if int(r["Subject"]) % 2 else
                                        {"id": f"00T{r['Subject']}", **OK} for r in records])
        if len(calls) == 3:  # round 1, first call of 100: saved
            return 200, {}, json.dumps([{"id": f"00T{r['Subject']}", **OK} for r in records])
        return 503, {}, json.dumps([{"message": "m", "errorCode": "SERVER_UNAVAILABLE"}])

    rsps.add_callback(responses.POST, f"{API}/composite/sobjects", callback=answer)
    results = gateway.write("insert", "Task", [{"Subject": str(i)} for i in range(300)])

    assert calls == [200, 100, 100, 50, 50]  # the 50-row call failed twice, then we stopped
    assert sum(r.success for r in results) == 150 + 100
    assert sum(r.retriable for r in results) == 50
    assert all(r.id == f"00T{r.index}" for r in results if r.success)


def test_a_call_failing_for_good_after_saved_calls_returns_their_results(
        rsps: responses.RequestsMock, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=2)
    url = f"{API}/composite/sobjects"
    rsps.post(url, json=[{"id": f"00T{i}", **OK} for i in range(200)])
    rsps.post(url, status=503, json=[{"message": "m", "errorCode": "SERVER_UNAVAILABLE"}])

    results = gateway.write("insert", "Task", [{"Subject": str(i)} for i in range(450)])

    assert [r.success for r in results] == [True] * 200 + [False] * 250
    assert {r.error_code for r in results[200:]} == {"NOT_PROCESSED"}
    assert not any(r.retriable for r in results)
    assert gateway.calls.get(CallKind.COLLECTIONS) == 1 + 2


def test_a_first_call_failing_for_good_raises(rsps: responses.RequestsMock,
                                              make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=2)
    rsps.post(f"{API}/composite/sobjects", status=503,
              json=[{"message": "m", "errorCode": "SERVER_UNAVAILABLE"}])
    with pytest.raises(TransientError):
        gateway.write("insert", "Task", [{"Subject": str(i)} for i in range(450)])


@pytest.mark.parametrize(("method", "step"), [
    ("POST", ""),                       # job create
    ("PUT", f"/{JOB}/batches"),         # upload
    ("PATCH", f"/{JOB}"),               # close
    ("GET", f"/{JOB}"),                 # poll
    ("GET", f"/{JOB}/successfulResults"),  # results download
])
def test_expired_session_at_every_bulk_ingest_step(rsps: responses.RequestsMock,
                                                   make_gateway: GatewayFactory, method: str,
                                                   step: str) -> None:
    gateway = make_gateway(thresholds=Thresholds(write_bulk_rows=1))
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    rsps.add(method, f"{INGEST}{step}", status=401, json=expired)  # first answer: 401
    rsps.post(TOKEN_URL, json=token_body("00Dxx!second"))
    register_ingest_job(rsps, processed=1, failed=0, poll_states=("JobComplete",))
    rsps.get(f"{INGEST}/{JOB}/successfulResults",
             body=csv_text(["sf__Id", "sf__Created", "Subject"], [["00TA", "true", "a"]]))

    results = gateway.write("insert", "Task", [{"Subject": "a"}])

    assert results == [RowResult(0, "00TA", created=True, success=True)]
    assert gateway.calls.get(CallKind.AUTH) == 2  # the login and exactly one refresh
