"""Retries with exact call counts, session refresh, paging and the budget stop."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from sfrenew.salesforce import (
    AuthError,
    AuthFlow,
    BudgetExhausted,
    BudgetGuard,
    CallKind,
    RetryPolicy,
    SalesforceConfig,
    TransientError,
    connect,
)
from tests.contract.salesforce.conftest import (
    API,
    INSTANCE,
    LIMIT_INFO,
    TOKEN_URL,
    GatewayFactory,
    calls_to,
    token_body,
)


def page(records: list[dict[str, Any]], *, total: int, next_url: str | None) -> dict[str, Any]:
    def with_attributes(r: dict[str, Any]) -> dict[str, Any]:
        url = f"/services/data/v62.0/sobjects/Account/{r['Id']}"
        return {"attributes": {"type": "Account", "url": url}, **r}

    body: dict[str, Any] = {"totalSize": total, "done": next_url is None,
                            "records": [with_attributes(r) for r in records]}
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def test_503_503_200_is_three_calls(rsps: responses.RequestsMock,
                                    make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=5)
    url = f"{API}/limits"
    unavailable = [{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}]
    rsps.get(url, status=503, json=unavailable)
    rsps.get(url, status=503, json=unavailable)
    rsps.get(url, status=200, json={"DailyApiRequests": {"Max": 100000, "Remaining": 99000}},
             headers=LIMIT_INFO)

    gateway.limits()

    assert calls_to(rsps, "/limits") == 3
    assert gateway.calls.get(CallKind.LIMITS) == 3
    assert gateway.budget.calls_used == 3


def test_503_every_time_gives_transient_error_after_attempt_bound(
        rsps: responses.RequestsMock, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=4)
    rsps.get(f"{API}/limits", status=503,
             json=[{"message": "x", "errorCode": "SERVER_UNAVAILABLE"}])

    with pytest.raises(TransientError):
        gateway.limits()

    assert calls_to(rsps, "/limits") == 4


def test_connection_errors_are_retried(rsps: responses.RequestsMock,
                                       make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(attempts=3)
    rsps.get(f"{API}/limits", body=requests.ConnectionError("reset"))
    rsps.get(f"{API}/limits", body=requests.Timeout("slow"))
    rsps.get(f"{API}/limits", json={})

    assert gateway.limits() == {}
    assert calls_to(rsps, "/limits") == 3


def test_paging_three_pages_with_batch_size_header(rsps: responses.RequestsMock,
                                                   make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    header = matchers.header_matcher({"Sforce-Query-Options": "batchSize=500"})
    rsps.get(f"{API}/query", match=[matchers.query_param_matcher({"q": "SELECT Id FROM Account"}),
                                    header],
             json=page([{"Id": "001A"}, {"Id": "001B"}], total=5,
                       next_url="/services/data/v62.0/query/01gX-500"))
    rsps.get(f"{API}/query/01gX-500", match=[header],
             json=page([{"Id": "001C"}, {"Id": "001D"}], total=5,
                       next_url="/services/data/v62.0/query/01gX-1000"))
    rsps.get(f"{API}/query/01gX-1000", match=[header],
             json=page([{"Id": "001E", "Owner": {"attributes": {"type": "User"}, "Name": "Ann"}}],
                       total=5, next_url=None))

    records = list(gateway.query("SELECT Id FROM Account", batch_size=500))

    assert [r["Id"] for r in records] == ["001A", "001B", "001C", "001D", "001E"]
    assert records[4] == {"Id": "001E", "Owner": {"Name": "Ann"}}  # attributes gone everywhere
    assert gateway.calls.get(CallKind.QUERY_PAGE) == 3


def test_include_deleted_uses_query_all(rsps: responses.RequestsMock,
                                        make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.get(f"{API}/queryAll", json=page([{"Id": "001A", "IsDeleted": True}], total=1,
                                           next_url=None))
    assert list(gateway.query("SELECT Id, IsDeleted FROM Account", include_deleted=True)) == [
        {"Id": "001A", "IsDeleted": True}]


def test_expired_session_in_query_paging_refreshes_once(rsps: responses.RequestsMock,
                                                        make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.get(f"{API}/query", json=page([{"Id": "001A"}], total=2,
                                       next_url="/services/data/v62.0/query/01gX-1"))
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    rsps.get(f"{API}/query/01gX-1", status=401, json=expired,
             match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!first"})])
    rsps.post(TOKEN_URL, json=token_body("00Dxx!second"))
    rsps.get(f"{API}/query/01gX-1", json=page([{"Id": "001B"}], total=2, next_url=None),
             match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!second"})])

    assert [r["Id"] for r in gateway.query("SELECT Id FROM Account")] == ["001A", "001B"]
    assert calls_to(rsps, "/oauth2/token") == 2  # the login, and exactly one refresh
    assert gateway.calls.get(CallKind.AUTH) == 2


def test_session_expired_twice_is_an_auth_error(rsps: responses.RequestsMock,
                                                make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    rsps.get(f"{API}/limits", status=401,
             json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    with pytest.raises(AuthError):
        gateway.limits()
    assert calls_to(rsps, "/oauth2/token") == 2
    assert calls_to(rsps, "/limits") == 2


def test_refused_login_is_an_auth_error(rsps: responses.RequestsMock,
                                        make_gateway: GatewayFactory) -> None:
    rsps.post(TOKEN_URL, status=400,
              json={"error": "invalid_client", "error_description": "invalid client credentials"})
    with pytest.raises(AuthError, match="invalid_client"):
        make_gateway()


def test_token_without_instance_url_is_an_auth_error(rsps: responses.RequestsMock,
                                                     make_gateway: GatewayFactory) -> None:
    rsps.post(TOKEN_URL, json={"access_token": "00Dxx!t", "token_type": "Bearer"})
    with pytest.raises(AuthError, match="no instance_url"):
        make_gateway()


def test_budget_cap_stops_before_the_call(rsps: responses.RequestsMock,
                                          make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(budget=BudgetGuard(max_calls_per_run=2))
    limits = rsps.get(f"{API}/limits", json={}, headers=LIMIT_INFO)

    gateway.limits()
    gateway.limits()
    with pytest.raises(BudgetExhausted) as raised:
        gateway.limits()

    assert limits.call_count == 2  # the third call was never sent
    assert raised.value.calls_used == 2
    assert raised.value.daily_remaining == 100000 - 120
    assert str(raised.value).startswith(
        "stopped after 2 API calls: run cap 2 reached; 99,880 of 100,000 daily calls left; ")


def test_budget_reserve_floor_from_limit_info(rsps: responses.RequestsMock,
                                              make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(budget=BudgetGuard(reserve_percent=1))  # keep 1,000 of 100,000
    limits = rsps.get(f"{API}/limits", json={},
                      headers={"Sforce-Limit-Info": "api-usage=99000/100000"})

    gateway.limits()  # the answer says 1,000 left: one more call would dip into the floor
    with pytest.raises(BudgetExhausted, match="reserve of 1,000 daily calls reached"):
        gateway.limits()
    assert limits.call_count == 1


def test_limits_feed_the_guard_at_start(rsps: responses.RequestsMock,
                                        make_gateway: GatewayFactory) -> None:
    rsps.get(f"{API}/limits", json={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}})
    gateway = make_gateway(check_limits=True, budget=BudgetGuard(reserve_calls=100))
    assert gateway.budget.daily_remaining() == 14000
    assert gateway.api_usage is not None
    assert gateway.api_usage.used == 1000


def test_access_token_cannot_refresh(rsps: responses.RequestsMock, monkeypatch:
                                     pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_TOKEN", "00Dxx!tok")
    config = SalesforceConfig(auth=AuthFlow.ACCESS_TOKEN, instance_url=INSTANCE,
                              access_token_env="SF_TOKEN")
    gateway = connect(config, retry=RetryPolicy.no_wait(), check_limits=False)
    rsps.get(f"{API}/sobjects", status=401,
             body=json.dumps([{"message": "x", "errorCode": "INVALID_SESSION_ID"}]))
    with pytest.raises(AuthError, match=r"access token was rejected \(invalid or expired\)"):
        gateway.describe_global()
    assert calls_to(rsps, "/sobjects") == 1
