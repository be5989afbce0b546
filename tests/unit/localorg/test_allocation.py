"""The daily allocation: spending, refusing, licences, persistence and the UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sfrenew.localorg.allocation import ALLOCATION_FILE, DailyAllocation
from sfrenew.localorg.errors import SalesforceApiError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_spends_then_refuses_with_salesforce_error() -> None:
    allocation = DailyAllocation(clock=Clock(), daily_api_requests=2)
    allocation.check()
    allocation.spend()
    allocation.spend()
    with pytest.raises(SalesforceApiError) as caught:
        allocation.check()
    assert caught.value.status == 403
    assert caught.value.rest_json() == [{"message": "TotalRequests Limit exceeded.",
                                         "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_licences_add_a_thousand_each() -> None:
    allocation = DailyAllocation(clock=Clock(), licenses=25)
    assert allocation.maximum == 125_000
    allocation.configure(licenses=0, daily_api_requests=10)
    assert allocation.limits()["DailyApiRequests"] == {"Max": 10, "Remaining": 10}


def test_usage_persists_and_a_new_day_starts_at_zero(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / ALLOCATION_FILE
    first = DailyAllocation(clock=clock, path=path)
    for _ in range(3):
        first.spend()
    first.record_query_job()
    first.record_query_storage(3 * 1024 * 1024 + 1)
    again = DailyAllocation(clock=clock, path=path)
    assert again.used() == 3
    assert again.limits()["DailyBulkV2QueryJobs"]["Remaining"] == 9_999
    assert again.limits()["DailyBulkV2QueryFileStorageMB"]["Remaining"] == 976_562 - 4
    clock.now += timedelta(days=1)
    assert again.used() == 0
    assert DailyAllocation(clock=clock, path=path).used() == 0


def test_an_unreadable_file_starts_the_day_over(tmp_path: Path) -> None:
    path = tmp_path / ALLOCATION_FILE
    path.write_text("{not json")
    assert DailyAllocation(clock=Clock(), path=path).used() == 0
