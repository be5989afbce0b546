"""A connection that cannot succeed is reported at once, with the URL and the cause.

Retried: a reset or a timeout (tested in test_transport.py). Not retried: a name that
does not resolve, a refused connection (a real closed port here), a certificate that
does not verify (tests/integration/test_unreachable.py, against the local org).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests

from sfrenew.salesforce import (
    AuthFlow,
    BudgetGuard,
    CallCounter,
    CallKind,
    RetryPolicy,
    SalesforceConfig,
    TransientError,
    Unreachable,
    UnreachableCause,
    connect,
)
from sfrenew.salesforce.errors import classify_connection_failure, unreachable_cause


def _closed_port() -> int:
    # Bind, read the port, close: nothing listens there for the test's few milliseconds.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _token_config(instance_url: str, monkeypatch: pytest.MonkeyPatch) -> SalesforceConfig:
    monkeypatch.setenv("SFRENEW_TEST_ACCESS_TOKEN", "00Dxx!token")
    return SalesforceConfig(target="org", auth=AuthFlow.ACCESS_TOKEN, instance_url=instance_url,
                            access_token_env="SFRENEW_TEST_ACCESS_TOKEN")


def _connect(config: SalesforceConfig, counter: CallCounter,
             sleeps: list[float]) -> Callable[[], object]:
    # The real policy with 5 attempts; its sleeps are recorded, not slept.
    policy = RetryPolicy(attempts=5, initial_wait=1.0, max_wait=4.0, jitter=0.0,
                         sleep=sleeps.append)
    gateway = connect(config, retry=policy, budget=BudgetGuard(), counter=counter,
                      session=requests.Session(), check_limits=False)
    return gateway.limits


def test_a_refused_connection_is_reported_at_once_with_the_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    counter, sleeps = CallCounter(), list[float]()
    limits = _connect(_token_config(f"https://127.0.0.1:{port}", monkeypatch), counter, sleeps)

    with pytest.raises(Unreachable) as caught:
        limits()

    assert caught.value.cause is UnreachableCause.REFUSED
    assert str(caught.value).startswith(f"cannot reach https://127.0.0.1:{port}: connection "
                                        "refused")
    assert counter.get(CallKind.LIMITS) == 1  # one try: the old code tried 5 times
    assert sleeps == []


def test_a_name_that_does_not_resolve_is_reported_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_name(*_args: object, **_kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # The resolver fails as it does for a mistyped host; the real requests/urllib3
    # stack wraps it, so the classification sees what it sees in production.
    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    counter, sleeps = CallCounter(), list[float]()
    limits = _connect(_token_config("https://acme.my.salesforce.invalid", monkeypatch),
                      counter, sleeps)

    with pytest.raises(Unreachable) as caught:
        limits()

    assert caught.value.cause is UnreachableCause.DNS
    assert "cannot reach https://acme.my.salesforce.invalid: the host name does not resolve" \
        in str(caught.value)
    assert counter.get(CallKind.LIMITS) == 1
    assert sleeps == []


def test_a_refused_login_endpoint_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("SFRENEW_TEST_SECRET", "s")
    config = SalesforceConfig(target="org", auth=AuthFlow.CLIENT_CREDENTIALS, consumer_key="ck",
                              my_domain_url=f"https://127.0.0.1:{port}",
                              consumer_secret_env="SFRENEW_TEST_SECRET")
    counter = CallCounter()
    with pytest.raises(Unreachable) as caught:
        connect(config, retry=RetryPolicy(attempts=5, sleep=lambda _s: None), counter=counter,
                session=requests.Session(), check_limits=False)
    assert caught.value.url == f"https://127.0.0.1:{port}"
    assert counter.get(CallKind.AUTH) == 1


@pytest.mark.parametrize(("wrapped", "expected"), [
    # what urllib3/requests wrap, innermost first: the type decides, never the text
    (socket.gaierror(socket.EAI_NONAME, "x"), UnreachableCause.DNS),
    (ConnectionRefusedError(111, "x"), UnreachableCause.REFUSED),
    (__import__("ssl").SSLCertVerificationError(1, "x"), UnreachableCause.TLS),
    (ConnectionResetError(104, "x"), None),
    (TimeoutError("x"), None),
])
def test_causes_are_classified_by_type(wrapped: BaseException,
                                       expected: UnreachableCause | None) -> None:
    inner = OSError("urllib3 NewConnectionError")
    inner.__cause__ = wrapped
    outer = requests.ConnectionError(inner)
    assert unreachable_cause(outer) is expected
    error = classify_connection_failure(outer, url="https://x.example/services/data/v62.0/q?a=1",
                                        what="query call", connected=True)
    if expected is None:
        assert isinstance(error, TransientError)
        assert error.ambiguous
        assert f"query call failed: {type(wrapped).__name__} talking to https://x.example" \
            == str(error)
    else:
        assert isinstance(error, Unreachable)
        assert error.url == "https://x.example"  # no path, no query (a query may hold data)
