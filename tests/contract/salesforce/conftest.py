"""A gateway wired to a ``responses`` registry: real HTTP code, canned Salesforce answers.

Answers follow the shapes in ``../shared/salesforce-corpus/shapes`` (error lists with
``errorCode``, SaveResults with ``statusCode``, Bulk CSVs with ``sf__`` columns).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from sfrenew.salesforce import (
    AuthFlow,
    BudgetGuard,
    CallCounter,
    Gateway,
    RetryPolicy,
    SalesforceConfig,
    Thresholds,
)
from sfrenew.salesforce.gateway import connect

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
LIMIT_INFO = {"Sforce-Limit-Info": "api-usage=120/100000"}


def token_body(token: str = "00Dxx!first") -> dict[str, Any]:
    """What the OAuth token endpoint answers (shapes/10_oauth2_token.json)."""
    return {"access_token": token, "instance_url": INSTANCE, "token_type": "Bearer",
            "id": f"{INSTANCE}/id/00Dxx0000000001/005xx0000000001", "issued_at": "1700000000000"}


def error(status: int, code: str, message: str = "m") -> tuple[int, dict[str, str], str]:
    """A REST error list answer for a ``responses`` callback."""
    return status, {}, json.dumps([{"message": message, "errorCode": code}])


def field(name: str, type_: str, *, rel: str | None = None,
          to: list[str] | None = None) -> dict[str, Any]:
    """One describe field entry (only the keys the gateway reads)."""
    return {"name": name, "type": type_, "relationshipName": rel, "referenceTo": to or []}


def describe(name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A minimal object describe."""
    return {"name": name, "fields": fields}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """The registry; every request not registered fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A consumer secret in a file, as the config refers to it."""
    path = tmp_path / "consumer_secret"
    path.write_text("s3cr3t-value\n", encoding="utf-8")
    return path


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def make_gateway(rsps: responses.RequestsMock, secret_file: Path) -> GatewayFactory:
    """Build a client-credentials gateway against the registry (token call registered)."""

    def build(*, attempts: int = 3, budget: BudgetGuard | None = None,
              thresholds: Thresholds | None = None, lock_retry_rounds: int = 3,
              check_limits: bool = False) -> Gateway:
        rsps.post(TOKEN_URL, json=token_body())
        config = SalesforceConfig(target="org", auth=AuthFlow.CLIENT_CREDENTIALS, consumer_key="ck",
                                  my_domain_url=INSTANCE, consumer_secret_file=secret_file,
                                  bulk_poll_seconds=0)
        gateway = connect(config, retry=RetryPolicy.no_wait(
            attempts=attempts, lock_retry_rounds=lock_retry_rounds),
            budget=budget or BudgetGuard(), counter=CallCounter(),
            session=requests.Session(), check_limits=check_limits)
        if thresholds is not None:
            gateway.thresholds = thresholds
        return gateway

    return build


def calls_to(rsps: responses.RequestsMock, url_part: str, method: str | None = None) -> int:
    """How many requests went to a URL containing ``url_part``."""
    return sum(1 for c in rsps.calls
               if url_part in (c.request.url or "") and (method is None or
                                                         c.request.method == method))
