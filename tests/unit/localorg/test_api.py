"""The request pipeline: auth before routing, accounting, the limit header, error shapes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sfrenew.localorg.accounting import Accounting, CallKind
from sfrenew.localorg.api import OrgApi
from sfrenew.localorg.auth import Authenticator
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.identity import load_or_create_identity
from sfrenew.localorg.routes import Call, Router
from sfrenew.localorg.sessions import SessionRegistry
from sfrenew.localorg.wire import Request, Response
from tests.clock import now


def _ok(call: Call) -> Response:
    return Response.json(200, {"user": call.session.user_id, "version": call.version})


def _bad(call: Call) -> Response:
    raise SalesforceApiError.single(400, "INVALID_FIELD", "nope", ("Name",))


def _crash(call: Call) -> Response:
    raise KeyError("secret internals")


@pytest.fixture
def api(tmp_path: Path) -> OrgApi:
    identity = load_or_create_identity(tmp_path)
    sessions = SessionRegistry(org_id=identity.org_id, clock=now,
                               lifetime=timedelta(hours=1))
    router = Router()
    router.add("GET", "ok", _ok, kind=CallKind.LIMITS)
    router.add("GET", "bad", _bad, kind=CallKind.SOBJECT)
    router.add("GET", "crash", _crash, kind=CallKind.SOBJECT)
    authenticator = Authenticator(identity=identity, sessions=sessions,
                                  resolve_user=lambda name: "005X", clock=now,
                                  instance_url=lambda: "https://127.0.0.1:1")
    return OrgApi(router=router, authenticator=authenticator, sessions=sessions,
                  accounting=Accounting(daily_api_requests=3))


def _get(api: OrgApi, path: str, token: str | None) -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.handle(Request.build(method="GET", target=path, headers=headers))


def test_counted_calls_carry_the_limit_header(api: OrgApi) -> None:
    token = api.sessions.issue(user_id="005X", username="u").token
    response = _get(api, "/services/data/v59.0/ok", token)
    assert response.status == 200
    assert response.json_body() == {"user": "005X", "version": "59.0"}
    assert response.header("Sforce-Limit-Info") == "api-usage=1/3"


def test_401_is_not_counted_and_has_no_limit_header(api: OrgApi) -> None:
    response = _get(api, "/services/data/v59.0/ok", "wrong")
    assert response.status == 401
    assert response.header("Sforce-Limit-Info") is None
    assert response.header("WWW-Authenticate") == "Token"
    assert api.accounting.api_used == 0


def test_errors_are_salesforce_shaped_and_counted(api: OrgApi) -> None:
    token = api.sessions.issue(user_id="005X", username="u").token
    bad = _get(api, "/services/data/v59.0/bad", token)
    assert bad.status == 400
    assert bad.json_body() == [{"message": "nope", "errorCode": "INVALID_FIELD",
                                "fields": ["Name"]}]
    crash = _get(api, "/services/data/v59.0/crash", token)
    assert crash.status == 500
    assert crash.json_body()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert b"secret internals" not in crash.body
    snapshot = api.accounting.snapshot()
    assert snapshot["errors"] == {"INVALID_FIELD": 1, "UNKNOWN_EXCEPTION": 1}
    assert snapshot["calls"] == {"sobject": 2}


def test_spent_allocation_is_request_limit_exceeded(api: OrgApi) -> None:
    token = api.sessions.issue(user_id="005X", username="u").token
    for _ in range(3):
        assert _get(api, "/services/data/v59.0/ok", token).status == 200
    refused = _get(api, "/services/data/v59.0/ok", token)
    assert refused.status == 403
    assert refused.json_body()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert api.accounting.api_used == 3
