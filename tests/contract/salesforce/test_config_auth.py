"""The ``salesforce:`` config and the login flows (token calls served by ``responses``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from structlog.testing import capture_logs

from sfrenew.salesforce import (
    AuthFlow,
    ConfigurationError,
    RetryPolicy,
    SalesforceConfig,
    Secret,
    connect,
)
from sfrenew.salesforce.auth import EVENT_PASSWORD_DEPRECATED
from tests.contract.salesforce.conftest import API, INSTANCE, token_body

LOGIN_URL = "https://login.salesforce.com"


@pytest.mark.parametrize("key", ["consumer_secret", "password", "security_token",
                                 "access_token", "client_secret", "private_key"])
def test_literal_secret_is_rejected_with_a_hint(key: str) -> None:
    with pytest.raises(ValidationError, match="secrets must not be written in the config"):
        SalesforceConfig.model_validate({"auth": "password", "username": "u", key: "hunter2"})


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SalesforceConfig.model_validate({"target": "local", "local_data_dir": "x", "verify": False})


@pytest.mark.parametrize(("data", "message"), [
    ({"auth": "jwt", "consumer_key": "ck"}, "needs username, private_key_file"),
    ({"auth": "client_credentials", "consumer_key": "ck", "my_domain_url": INSTANCE},
     "needs consumer_secret_env or consumer_secret_file"),
    ({"auth": "access_token", "access_token_env": "T"}, "needs instance_url"),
    ({}, "auth is required"),
    ({"auth": "password", "username": "u", "password_env": "P",
      "login_url": "http://login.salesforce.com"}, "must be an https:// URL"),
])
def test_each_flow_names_what_it_misses(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SalesforceConfig.model_validate(data)


def test_secret_never_shows_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_PASSWORD", "hunter2")
    config = SalesforceConfig(auth=AuthFlow.PASSWORD, username="u", password_env="SF_PASSWORD")
    secret = config.secret("password")
    assert secret == Secret("hunter2")
    assert repr(secret) == str(secret) == f"{secret}" == "**********"
    assert "hunter2" not in repr([secret, {"p": secret}])
    assert secret is not None
    assert secret.reveal() == "hunter2"


def test_missing_secret_variable_is_a_configuration_error() -> None:
    config = SalesforceConfig(auth=AuthFlow.PASSWORD, username="u",
                              password_env="SFRENEW_TEST_NOT_SET")
    with pytest.raises(ConfigurationError, match="SFRENEW_TEST_NOT_SET is not set"):
        config.secret("password")


def _key_pair(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "server.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, public


def test_jwt_bearer_posts_a_signed_assertion(rsps: responses.RequestsMock,
                                             tmp_path: Path) -> None:
    key_file, public = _key_pair(tmp_path)
    token = rsps.post(f"{LOGIN_URL}/services/oauth2/token", json=token_body())
    config = SalesforceConfig(auth=AuthFlow.JWT, consumer_key="3MVG9ck", username="int@acme.com",
                              private_key_file=key_file)

    gateway = connect(config, retry=RetryPolicy.no_wait(), check_limits=False)

    form = parse_qs(str(token.calls[0].request.body))
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(form["assertion"][0], public, algorithms=["RS256"], audience=LOGIN_URL)
    assert (claims["iss"], claims["sub"]) == ("3MVG9ck", "int@acme.com")
    rsps.get(f"{API}/sobjects", json={"sobjects": []})
    assert gateway.describe_global() == {"sobjects": []}  # the instance from the token answer


def test_password_login_warns_that_it_is_deprecated(rsps: responses.RequestsMock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_PASSWORD", "hunter2")
    soap = ("<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="
            "'http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body><loginResponse><result>"
            f"<serverUrl>{INSTANCE}/services/Soap/u/62.0/00Dxx</serverUrl>"
            "<sessionId>00Dxx!soap</sessionId></result></loginResponse></soapenv:Body>"
            "</soapenv:Envelope>")
    login = rsps.post(f"{LOGIN_URL}/services/Soap/u/62.0", body=soap)
    config = SalesforceConfig(auth=AuthFlow.PASSWORD, username="u@acme.com",
                              password_env="SF_PASSWORD")

    with capture_logs() as logs:
        connect(config, retry=RetryPolicy.no_wait(), check_limits=False)

    assert login.call_count == 1
    events = [e for e in logs if e["event"] == EVENT_PASSWORD_DEPRECATED]
    assert events
    assert events[0]["log_level"] == "warning"
    assert "hunter2" not in json.dumps(logs, default=str)


def test_local_target_reads_connection_json_and_verifies_tls(rsps: responses.RequestsMock,
                                                             tmp_path: Path) -> None:
    local = "https://127.0.0.1:8443"
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not used by responses", encoding="utf-8")
    (tmp_path / "connection.json").write_text(json.dumps({
        "instance_url": local, "ca_file": str(ca_file), "client_id": "3MVG9local",
        "client_secret": "local-secret", "username": "integration@localorg",
        "password": "pw"}), encoding="utf-8")
    token = rsps.post(f"{local}/services/oauth2/token",
                      json={"access_token": "00Dlocal!x", "instance_url": local})
    session = requests.Session()

    connect(SalesforceConfig(target="local", local_data_dir=tmp_path),
            retry=RetryPolicy.no_wait(), check_limits=False, session=session)

    assert session.verify == str(ca_file)
    form = parse_qs(str(token.calls[0].request.body))
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == ["3MVG9local"]


def test_local_target_without_a_started_org_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is the local org started"):
        connect(SalesforceConfig(target="local", local_data_dir=tmp_path), check_limits=False)
