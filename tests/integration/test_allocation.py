"""The daily API allocation: counted calls, 403 REQUEST_LIMIT_EXCEEDED, persistence, /limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce.errors import ApiUsage, BudgetExhausted, classify
from tests.clock import now
from tests.integration.conftest import API_VERSION, content, new_http_session

pytestmark = pytest.mark.integration

SPENT = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


class FakeClock:
    """A settable org clock."""

    def __init__(self) -> None:
        self.now = now()  # the suite's pinned clock

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def http_for() -> Iterator[Any]:
    sessions: list[requests.Session] = []

    def make(org: LocalOrg) -> requests.Session:
        session = new_http_session(org)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


def client(org: LocalOrg, http: requests.Session) -> Any:
    return Salesforce(instance_url=org.instance_url, session_id=org.issue_session(),
                      session=http, version=API_VERSION)


def limits_url(org: LocalOrg) -> str:
    return f"{org.instance_url}/services/data/v{API_VERSION}/limits"


def test_refused_after_exactly_n_calls_and_still_after_a_restart(
        tmp_path: Path, http_for: Any) -> None:
    with LocalOrg(tmp_path, daily_api_requests=5) as org:
        sf = client(org, http_for(org))
        for _ in range(5):
            sf.query("SELECT Id FROM User")
        assert sf.api_usage["api-usage"].used == 5
        with pytest.raises(SalesforceRefusedRequest) as caught:
            sf.query("SELECT Id FROM User")
        assert content(caught.value) == SPENT
        raw = http_for(org).get(limits_url(org),
                                headers={"Authorization": f"Bearer {org.issue_session()}"})
        assert raw.status_code == 403
        assert raw.headers["Sforce-Limit-Info"] == "api-usage=5/5"
        error = classify(status=raw.status_code, body=raw.json(),
                         usage=ApiUsage.parse(raw.headers["Sforce-Limit-Info"]))
        assert isinstance(error, BudgetExhausted)
        assert org.stats()["calls"]["query_page"] == 6  # refused calls are counted, not charged

    with LocalOrg(tmp_path, daily_api_requests=5) as again:
        sf = client(again, http_for(again))
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM User")
        assert again.accounting.api_used == 5


def test_the_allocation_runs_out_in_the_middle_of_a_bulk_job(
        tmp_path: Path, http_for: Any) -> None:
    # create, upload, close, poll: the fifth call (the next poll) is refused.
    with LocalOrg(tmp_path, daily_api_requests=4) as org:
        sf = client(org, http_for(org))
        with pytest.raises(SalesforceRefusedRequest) as caught:
            sf.bulk2.Account.insert(records=[{"Name": "Late"}], wait=0.3)
        assert content(caught.value) == SPENT
        # The client polls once more after the refusal (to abort); that is refused too.
        stats = org.stats()
        assert stats["bulk"] == {"ingest_create": 1, "ingest_poll": 3, "ingest_state": 1,
                                 "ingest_upload": 1}
        assert stats["errors"]["REQUEST_LIMIT_EXCEEDED"] == 2
        assert stats["api_usage"] == {"used": 4, "max": 4}


def test_licences_add_their_share_and_limits_show_bulk_counters(
        tmp_path: Path, http_for: Any) -> None:
    with LocalOrg(tmp_path, daily_api_requests=100_000, licenses=3) as org:
        sf = client(org, http_for(org))
        list(sf.bulk2.User.query("SELECT Id FROM User", wait=0.02))
        sf.bulk2.Account.insert(records=[{"Name": "Counted"}], wait=0.02)
        limits = sf.limits()
        used = org.accounting.api_used
        assert limits["DailyApiRequests"]["Max"] == 103_000
        # /limits itself is counted after it answers.
        assert limits["DailyApiRequests"]["Remaining"] == 103_000 - (used - 1)
        assert limits["DailyBulkV2QueryJobs"] == {"Max": 10_000, "Remaining": 9_999}
        assert limits["DailyBulkApiBatches"] == {"Max": 15_000, "Remaining": 14_999}
        assert limits["DailyBulkV2QueryFileStorageMB"]["Remaining"] == 976_561


def test_usage_starts_over_when_the_utc_day_changes(tmp_path: Path, http_for: Any) -> None:
    clock = FakeClock()
    with LocalOrg(tmp_path, daily_api_requests=2, clock=clock) as org:
        sf = client(org, http_for(org))
        sf.limits()
        sf.limits()
        with pytest.raises(SalesforceRefusedRequest):
            sf.limits()
        tomorrow = clock.now.date() + timedelta(days=1)
        clock.now = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 0, 1, tzinfo=UTC)
        sf = client(org, http_for(org))  # the old session expired with the day
        assert sf.limits()["DailyApiRequests"] == {"Max": 2, "Remaining": 2}
        assert org.accounting.api_used == 1


def test_admin_path_changes_the_allocation(tmp_path: Path, http_for: Any) -> None:
    with LocalOrg(tmp_path) as org:
        http = http_for(org)
        info = org.connection_info
        basic = (info["client_id"], info["client_secret"])
        changed = http.post(f"{org.instance_url}/_localorg/allocation", auth=basic,
                            json={"daily_api_requests": 10, "licenses": 0, "used": 10})
        assert changed.status_code == 200
        assert changed.json()["limits"]["DailyApiRequests"] == {"Max": 10, "Remaining": 0}
        refused = http.get(limits_url(org),
                           headers={"Authorization": f"Bearer {org.issue_session()}"})
        assert refused.status_code == 403
        bad = http.post(f"{org.instance_url}/_localorg/allocation", auth=basic,
                        json={"daily": 1})
        assert bad.status_code == 400
