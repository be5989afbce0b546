"""Fixtures for integration tests: one local org per test session, and clients of it.

Clients are the unmodified simple-salesforce ``Salesforce`` class on a
``requests.Session`` that trusts the org's CA file. ``trust_env`` is off because
``REQUESTS_CA_BUNDLE`` in the environment would otherwise override ``verify``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.login import token_login

from sfrenew.localorg.app import LocalOrg

API_VERSION = "59.0"
# simple-salesforce types ``sf.Account`` as a union of bulk handlers and SFType, so
# tests hold the client as Any rather than casting at every call.
SalesforceClient = Any


class RouteToLocalOrg(HTTPAdapter):
    """Sends requests for a fixed Salesforce host (``login.salesforce.com``) to the local org.

    simple-salesforce builds some login URLs as ``https://{domain}.salesforce.com``
    with no way to pass a full URL; mounting this adapter on the injected session
    points those logins at 127.0.0.1 without modifying simple-salesforce.
    """

    def __init__(self, instance_url: str) -> None:
        super().__init__()
        self._target = urlsplit(instance_url)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
             ) -> requests.Response:
        """Rewrite scheme and host, keep path and query."""
        parts = urlsplit(request.url or "")
        request.url = urlunsplit((self._target.scheme, self._target.netloc, parts.path,
                                  parts.query, parts.fragment))
        return super().send(request, *args, **kwargs)


def content(error: SalesforceError) -> Any:
    """The parsed JSON body simple-salesforce put on an exception (typed as bytes there)."""
    return error.content


def new_http_session(org: LocalOrg) -> requests.Session:
    """A requests session that trusts the org's CA (the caller closes it)."""
    session = requests.Session()
    session.verify = org.connection_info["ca_file"]
    session.trust_env = False
    return session


def client_credentials_token(org: LocalOrg, http: requests.Session) -> str:
    """An access token from the OAuth client credentials flow, via simple-salesforce."""
    info = org.connection_info
    token, _instance = token_login(
        f"{org.instance_url}/services/oauth2/token",
        {"grant_type": "client_credentials", "client_id": info["client_id"],
         "client_secret": info["client_secret"]},
        "login", info["client_id"], None, None, http,
    )
    return str(token)


@pytest.fixture(scope="session")
def local_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """A local org on a free port in a temporary data dir, for the whole test session."""
    org = LocalOrg(tmp_path_factory.mktemp("localorg"))
    org.start()
    try:
        yield org
    finally:
        org.stop()


@pytest.fixture
def http(local_org: LocalOrg) -> Iterator[requests.Session]:
    """A requests session trusting the org's CA."""
    session = new_http_session(local_org)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def sf(local_org: LocalOrg, http: requests.Session) -> SalesforceClient:
    """The unmodified simple-salesforce client with a fresh session on the local org."""
    token = client_credentials_token(local_org, http)
    return Salesforce(instance_url=local_org.instance_url, session_id=token, session=http,
                      version=API_VERSION)
