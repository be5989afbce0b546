"""Fault and latency injection: seeded 503s, lock errors on rows, timeouts, the concurrency cap,
session expiry while a client polls a Bulk job, and the admin path that changes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
)

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.faults import FaultConfig
from sfrenew.localorg.sessions import DEFAULT_SESSION_LIFETIME
from sfrenew.salesforce.errors import ApiUsage, TransientError, classify
from tests.integration.conftest import API_VERSION, content, new_http_session

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """An org of its own: faults set here must not leak into other tests."""
    with LocalOrg(Path(tmp_path_factory.mktemp("faulty"))) as local:
        yield local


@pytest.fixture
def http(org: LocalOrg) -> Iterator[requests.Session]:
    session = new_http_session(org)
    try:
        yield session
    finally:
        org.configure_faults(FaultConfig())
        session.close()


@pytest.fixture
def sf(org: LocalOrg, http: requests.Session) -> Any:
    return Salesforce(instance_url=org.instance_url, session_id=org.issue_session(),
                      session=http, version=API_VERSION)


def limits_url(org: LocalOrg) -> str:
    return f"{org.instance_url}/services/data/v{API_VERSION}/limits"


def statuses(org: LocalOrg, http: requests.Session, *, calls: int) -> list[int]:
    token = org.issue_session()
    return [http.get(limits_url(org), headers={"Authorization": f"Bearer {token}"}).status_code
            for _ in range(calls)]


def test_the_same_seed_gives_the_same_faults(org: LocalOrg, http: requests.Session) -> None:
    org.configure_faults(FaultConfig(seed=7, server_unavailable_rate=0.3))
    first = statuses(org, http, calls=40)
    org.configure_faults(FaultConfig(seed=7, server_unavailable_rate=0.3))
    again = statuses(org, http, calls=40)
    org.configure_faults(FaultConfig(seed=8, server_unavailable_rate=0.3))
    other = statuses(org, http, calls=40)

    assert first == again
    assert other != first
    assert set(first) == {200, 503}


def test_server_unavailable_through_simple_salesforce(org: LocalOrg, sf: Any) -> None:
    org.configure_faults(FaultConfig(server_unavailable_rate=1.0))
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.status == 503
    assert content(caught.value)[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_query_timeout_hits_queries_only(org: LocalOrg, sf: Any) -> None:
    org.configure_faults(FaultConfig(query_timeout_rate=1.0))
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM User")
    assert content(caught.value)[0]["errorCode"] == "QUERY_TIMEOUT"
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000


def test_lock_errors_on_single_rows_of_collections_and_bulk(org: LocalOrg, sf: Any) -> None:
    org.configure_faults(FaultConfig(seed=3, lock_row_rate=0.3))
    records = [{"attributes": {"type": "Account"}, "Name": f"Locked {i}"} for i in range(30)]
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": records})
    locked = [i for i, r in enumerate(results) if not r["success"]]
    assert locked
    assert len(locked) < 30
    assert {r["errors"][0]["statusCode"] for r in results if not r["success"]} == \
        {"UNABLE_TO_LOCK_ROW"}

    org.configure_faults(FaultConfig(seed=3, lock_row_rate=0.3))
    [job] = sf.bulk2.Account.insert(records=[{"Name": f"Bulk locked {i}"} for i in range(30)],
                                    wait=0.02)
    failed = sf.bulk2.Account.get_failed_records(job["job_id"]).splitlines()[1:]
    assert job["numberRecordsFailed"] == len(locked)  # same seed, same rows
    assert all('"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"' in line
               for line in failed)
    assert org.stats()["row_errors"]["UNABLE_TO_LOCK_ROW"] >= 2 * len(locked)


def test_latency_is_added_to_each_call(org: LocalOrg, sf: Any) -> None:
    org.configure_faults(FaultConfig(latency_ms=80))
    started = time.monotonic()
    sf.limits()
    assert time.monotonic() - started >= 0.08


def test_concurrency_cap_is_told_apart_from_the_daily_limit(
        org: LocalOrg, http: requests.Session) -> None:
    org.configure_faults(FaultConfig(latency_ms=1_500, max_long_running=1))
    token = org.issue_session()
    headers = {"Authorization": f"Bearer {token}"}
    slow: list[int] = []
    with new_http_session(org) as other:
        first = threading.Thread(target=lambda: slow.append(
            other.get(limits_url(org), headers=headers).status_code))
        first.start()
        deadline = time.monotonic() + 5
        while org.faults.in_flight() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until the first request is being served, however slow
        refused = http.get(limits_url(org), headers=headers)
        first.join()
    assert slow == [200]
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    usage = ApiUsage.parse(refused.headers["Sforce-Limit-Info"])
    assert usage is not None
    assert usage.used < usage.max
    assert isinstance(classify(status=403, body=refused.json(), usage=usage), TransientError)


def test_session_expires_while_polling_a_bulk_job(org: LocalOrg, sf: Any) -> None:
    org.configure_faults(FaultConfig(bulk_job_ms=2_000))
    bulk = sf.bulk2.Account._client  # the client's own upload and polling steps
    job = bulk.create_job("insert")
    bulk.upload_job_data(job["id"], "Name\nSlow Co\n")
    bulk.close_job(job["id"])
    assert bulk.get_job(job["id"], False)["state"] in ("UploadComplete", "InProgress")
    org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as caught:
        bulk.wait_for_job(job["id"], False, 0.01)
    assert content(caught.value) == [{"message": "Session expired or invalid",
                                      "errorCode": "INVALID_SESSION_ID"}]


def test_session_lifetime_is_a_fault_setting(org: LocalOrg, http: requests.Session) -> None:
    org.configure_faults(FaultConfig(session_lifetime_s=1.0))
    try:
        headers = {"Authorization": f"Bearer {org.issue_session()}"}
        assert http.get(limits_url(org), headers=headers).status_code == 200
        time.sleep(1.1)
        assert http.get(limits_url(org), headers=headers).status_code == 401
    finally:
        org.set_session_lifetime(DEFAULT_SESSION_LIFETIME)


def test_results_are_refused_while_a_query_job_runs(org: LocalOrg, sf: Any,
                                                    http: requests.Session) -> None:
    org.configure_faults(FaultConfig(bulk_job_ms=1_000))
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    base = f"{org.instance_url}/services/data/v{API_VERSION}/jobs/query"
    job = http.post(base, json={"operation": "query", "query": "SELECT Id FROM User"},
                    headers=headers).json()
    early = http.get(f"{base}/{job['id']}/results", headers=headers)
    assert early.status_code == 400
    assert early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    aborted = http.patch(f"{base}/{job['id']}", json={"state": "Aborted"}, headers=headers)
    assert aborted.json()["state"] == "Aborted"


def test_admin_path_sets_faults_and_stats_count_them(org: LocalOrg,
                                                     http: requests.Session) -> None:
    info = org.connection_info
    basic = (info["client_id"], info["client_secret"])
    admin = f"{org.instance_url}/_localorg"
    assert http.post(f"{admin}/stats/reset", auth=basic).status_code == 200
    changed = http.post(f"{admin}/faults", auth=basic,
                        json={"seed": 1, "server_unavailable_rate": 1.0})
    assert changed.status_code == 200
    assert changed.json()["config"]["server_unavailable_rate"] == 1.0
    assert statuses(org, http, calls=3) == [503, 503, 503]
    stats = http.get(f"{admin}/stats", auth=basic).json()
    assert stats["errors"] == {"SERVER_UNAVAILABLE": 3}
    assert stats["faults"]["unavailable"] >= 3
    assert stats["calls"]["limits"] == 3
    refused = http.post(f"{admin}/faults", auth=basic, json={"nonsense": 1})
    assert refused.status_code == 400
    assert http.post(f"{admin}/faults", auth=basic, json={"lock_row_rate": 2}).status_code == 400


def test_an_abort_while_a_job_runs_keeps_it_aborted(org: LocalOrg, sf: Any) -> None:
    org.configure_faults(FaultConfig(bulk_job_ms=1_000))
    bulk = sf.bulk2.Account._client
    job = bulk.create_job("insert")
    bulk.upload_job_data(job["id"], "Name\nOne\nTwo\nThree\n")
    bulk.close_job(job["id"])
    assert bulk.abort_job(job["id"], False)["state"] == "Aborted"
    time.sleep(1.2)  # longer than the processing time: the worker must not finish it
    info = bulk.get_job(job["id"], False)
    assert info["state"] == "Aborted"
    assert info["numberRecordsProcessed"] == 0
    assert sf.bulk2.Account.get_unprocessed_records(job["id"]) == "Name\nOne\nTwo\nThree\n"
    with pytest.raises(SalesforceMalformedRequest):
        bulk.abort_job(job["id"], False)
