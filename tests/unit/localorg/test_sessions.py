"""Sessions: issue, lookup, expiry by lifetime, and the Authorization header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.sessions import SessionRegistry, bearer_token


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_session_lives_for_its_lifetime() -> None:
    clock = FakeClock()
    registry = SessionRegistry(org_id="00D5g0000000001AAA", clock=clock,
                               lifetime=timedelta(minutes=5))
    session = registry.issue(user_id="005", username="u")
    assert session.token.startswith("00D5g0000000001!")
    assert registry.lookup(session.token) == session
    clock.now += timedelta(minutes=5)
    with pytest.raises(SalesforceApiError) as failure:
        registry.lookup(session.token)
    assert failure.value.status == 401
    assert failure.value.rest_json() == [{"message": "Session expired or invalid",
                                          "errorCode": "INVALID_SESSION_ID"}]


def test_expire_all_and_unknown_tokens() -> None:
    registry = SessionRegistry(org_id="00D5g0000000001AAA", clock=FakeClock(),
                               lifetime=timedelta(hours=2))
    token = registry.issue(user_id="005", username="u").token
    assert registry.expire_all() == 1
    for candidate in (token, "nope", None):
        with pytest.raises(SalesforceApiError):
            registry.lookup(candidate)


def test_session_repr_hides_the_token() -> None:
    registry = SessionRegistry(org_id="00D5g0000000001AAA", clock=FakeClock(),
                               lifetime=timedelta(hours=2))
    session = registry.issue(user_id="005", username="u")
    assert session.token not in repr(session)


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("OAuth abc", "abc"), ("bearer  abc ", "abc"),
    ("Basic abc", None), ("Bearer", None), ("", None), (None, None),
])
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
