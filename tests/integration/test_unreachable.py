"""A certificate that does not verify is reported at once, with the URL and the cause.

The local org's certificate is signed by its own CA; a client that trusts only the
system's CAs must refuse it, and must not retry (waiting does not make it trusted).
"""

from __future__ import annotations

import pytest
import requests

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import (
    AuthFlow,
    CallCounter,
    CallKind,
    RetryPolicy,
    SalesforceConfig,
    Unreachable,
    UnreachableCause,
    connect,
)

pytestmark = pytest.mark.integration


def test_an_untrusted_certificate_is_reported_at_once(local_org: LocalOrg,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFRENEW_TEST_ACCESS_TOKEN", "00Dxx!token")
    config = SalesforceConfig(target="org", auth=AuthFlow.ACCESS_TOKEN,
                              instance_url=local_org.instance_url,
                              access_token_env="SFRENEW_TEST_ACCESS_TOKEN")
    session = requests.Session()
    session.trust_env = False  # the system CAs only (no REQUESTS_CA_BUNDLE from outside)
    sleeps: list[float] = []
    counter = CallCounter()
    gateway = connect(config, retry=RetryPolicy(attempts=5, sleep=sleeps.append),
                      counter=counter, session=session, check_limits=False)
    with pytest.raises(Unreachable) as caught:
        gateway.limits()
    assert caught.value.cause is UnreachableCause.TLS
    assert str(caught.value).startswith(
        f"cannot reach {local_org.instance_url}: TLS certificate verification failed")
    assert counter.get(CallKind.LIMITS) == 1
    assert sleeps == []
