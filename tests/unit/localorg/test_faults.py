"""Fault settings and the seeded fault streams."""

from __future__ import annotations

import pytest

from sfrenew.localorg.accounting import CallKind
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.faults import FaultConfig, FaultInjector
from sfrenew.localorg.wire import Request

REQUEST = Request(method="GET", path="/services/data/v59.0/query")


def outcomes(injector: FaultInjector, calls: int) -> list[str]:
    seen = []
    for _ in range(calls):
        try:
            injector.before_call(REQUEST, kind=CallKind.QUERY_PAGE)
        except SalesforceApiError as exc:
            seen.append(exc.errors[0].error_code)
        else:
            injector.after_call(REQUEST, kind=CallKind.QUERY_PAGE)
            seen.append("ok")
    return seen


def test_same_seed_same_faults_and_streams_are_independent() -> None:
    config = FaultConfig(seed=11, server_unavailable_rate=0.2, query_timeout_rate=0.2)
    first = outcomes(FaultInjector(config), 200)
    assert first == outcomes(FaultInjector(config), 200)
    assert {"ok", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT"} == set(first)
    assert first != outcomes(FaultInjector(FaultConfig(seed=12, server_unavailable_rate=0.2,
                                                       query_timeout_rate=0.2)), 200)


def test_lock_rows_follow_their_own_stream() -> None:
    injector = FaultInjector(FaultConfig(seed=5, lock_row_rate=0.5))
    locked = []
    for _ in range(50):
        try:
            injector.check_row()
        except SalesforceApiError as exc:
            locked.append(exc.rest_json())
    assert locked
    assert locked[0] == [{"message": "unable to obtain exclusive access to this record",
                          "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]
    assert injector.injected() == {"lock_row": len(locked)}


def test_the_cap_counts_requests_in_flight() -> None:
    injector = FaultInjector(FaultConfig(max_long_running=1))
    injector.before_call(REQUEST, kind=CallKind.LIMITS)
    with pytest.raises(SalesforceApiError) as caught:
        injector._enter(injector.config)  # a second request while the first is in flight
    assert caught.value.status == 403
    injector.after_call(REQUEST, kind=CallKind.LIMITS)
    injector.before_call(REQUEST, kind=CallKind.LIMITS)
    injector.after_call(REQUEST, kind=CallKind.LIMITS)


@pytest.mark.parametrize("changes", [{"lock_row_rate": 1.5}, {"latency_ms": -1},
                                     {"unknown": 1}, {"session_lifetime_s": 0}])
def test_bad_settings_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|unknown"):
        FaultConfig().with_changes(changes)
