"""Logins and sessions through simple-salesforce's own login code."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import SalesforceLogin, token_login

from sfrenew.localorg.app import LocalOrg
from tests.integration.conftest import (
    API_VERSION,
    RouteToLocalOrg,
    SalesforceClient,
    client_credentials_token,
    content,
)

pytestmark = pytest.mark.integration

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _token_url(org: LocalOrg) -> str:
    return f"{org.instance_url}/services/oauth2/token"


def _an_hour_ago() -> int:
    """A JWT exp an hour past: JWTs are checked against the real clock (PyJWT in the local
    org, as Salesforce does), never the suite's pinned one."""
    return int(time.time()) - 3600  # noqa: clock


def _assertion(org: LocalOrg, **overrides: object) -> str:
    info = org.connection_info
    claims: dict[str, object] = {
        "iss": info["client_id"], "sub": info["username"],
        # a JWT's exp is checked against the real clock (by PyJWT in the local org, as by
        # Salesforce), never a pinned one
        "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180,  # noqa: clock
    }
    claims.update(overrides)
    key = org.identity.jwt_private_key_file.read_bytes()
    return jwt.encode(claims, key, algorithm="RS256")


def test_client_credentials_token_has_salesforce_shape(local_org: LocalOrg,
                                                       http: requests.Session) -> None:
    info = local_org.connection_info
    response = http.post(_token_url(local_org), data={
        "grant_type": "client_credentials", "client_id": info["client_id"],
        "client_secret": info["client_secret"]})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at",
                         "signature"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == local_org.instance_url
    assert body["id"].endswith(f"/id/{local_org.identity.org_id}/{local_org.integration_user_id}")
    assert isinstance(body["issued_at"], str)
    assert body["access_token"].startswith(local_org.identity.org_id[:15] + "!")
    assert "Sforce-Limit-Info" not in response.headers


def test_client_credentials_through_basic_auth(local_org: LocalOrg,
                                               http: requests.Session) -> None:
    info = local_org.connection_info
    response = http.post(_token_url(local_org), data={"grant_type": "client_credentials"},
                         auth=(info["client_id"], info["client_secret"]))
    assert response.status_code == 200


@pytest.mark.parametrize(("data", "error", "description"), [
    ({"grant_type": "password", "username": "x", "password": "y"},
     "invalid_client_id", "client identifier invalid"),
    ({"grant_type": "client_credentials", "client_secret": "nope"},
     "invalid_client", "invalid client credentials"),
    ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported"),
    ({"grant_type": JWT_BEARER, "assertion": "not-a-jwt"}, "invalid_grant", "invalid assertion"),
])
def test_token_errors_have_salesforce_shape(local_org: LocalOrg, http: requests.Session,
                                            data: dict[str, str], error: str,
                                            description: str) -> None:
    info = local_org.connection_info
    if data["grant_type"] == "client_credentials":
        data = {**data, "client_id": info["client_id"]}
    response = http.post(_token_url(local_org), data=data)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_password_grant_and_bad_password(local_org: LocalOrg, http: requests.Session) -> None:
    info = local_org.connection_info
    base = {"grant_type": "password", "client_id": info["client_id"],
            "client_secret": info["client_secret"], "username": info["username"]}
    token, instance = token_login(_token_url(local_org), {**base, "password": info["password"]},
                                  "login", info["client_id"], None, None, http)
    assert token
    assert instance == local_org.instance_url.removeprefix("https://")
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        token_login(_token_url(local_org), {**base, "password": "wrong"}, "login",
                    info["client_id"], None, None, http)
    assert failure.value.code == "invalid_grant"
    assert failure.value.auth_message == "authentication failure"


def test_jwt_bearer_through_token_login(local_org: LocalOrg, http: requests.Session) -> None:
    info = local_org.connection_info
    token, _ = token_login(_token_url(local_org),
                           {"grant_type": JWT_BEARER, "assertion": _assertion(local_org)},
                           "login", info["client_id"], None, None, http)
    sf = Salesforce(instance_url=local_org.instance_url, session_id=token, session=http)
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


@pytest.mark.parametrize(("overrides", "description"), [
    ({"aud": "https://evil.example.com"}, "audience is invalid"),
    ({"exp": _an_hour_ago()}, "expired authorization code"),
    ({"sub": "someone.else@example.com"}, "authentication failure"),
])
def test_jwt_bearer_rejections(local_org: LocalOrg, http: requests.Session,
                               overrides: dict[str, object], description: str) -> None:
    response = http.post(_token_url(local_org), data={
        "grant_type": JWT_BEARER, "assertion": _assertion(local_org, **overrides)})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": description}


def test_jwt_signed_with_another_key_is_refused(local_org: LocalOrg,
                                                http: requests.Session) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    info = local_org.connection_info
    # a JWT's exp is checked against the real clock, never the pinned one
    expires = int(time.time()) + 60  # noqa: clock
    assertion = jwt.encode({"iss": info["client_id"], "sub": info["username"],
                            "aud": "https://login.salesforce.com", "exp": expires},
                           other, algorithm="RS256")
    response = http.post(_token_url(local_org),
                         data={"grant_type": JWT_BEARER, "assertion": assertion})
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_jwt_bearer_through_salesforce_class(local_org: LocalOrg,
                                             http: requests.Session) -> None:
    # simple-salesforce posts the assertion to https://login.salesforce.com; the adapter
    # mounted on the injected session routes that host to the local org.
    http.mount("https://login.salesforce.com", RouteToLocalOrg(local_org.instance_url))
    info = local_org.connection_info
    sf = Salesforce(username=info["username"], consumer_key=info["client_id"],
                    privatekey_file=info["jwt_key_file"], session=http, version=API_VERSION)
    assert sf.sf_instance == local_org.instance_url.removeprefix("https://")
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1


def test_client_credentials_through_salesforce_class(local_org: LocalOrg,
                                                     http: requests.Session) -> None:
    # simple-salesforce posts to https://{domain}.salesforce.com/services/oauth2/token.
    http.mount("https://localorg.salesforce.com", RouteToLocalOrg(local_org.instance_url))
    info = local_org.connection_info
    sf = Salesforce(consumer_key=info["client_id"], consumer_secret=info["client_secret"],
                    domain="localorg", session=http, version=API_VERSION)
    assert sf.sf_instance == local_org.instance_url.removeprefix("https://")
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_password_grant_through_salesforce_class(local_org: LocalOrg,
                                                 http: requests.Session) -> None:
    http.mount("https://login.salesforce.com", RouteToLocalOrg(local_org.instance_url))
    info = local_org.connection_info
    sf = Salesforce(username=info["username"], password=info["password"],
                    consumer_key=info["client_id"], consumer_secret=info["client_secret"],
                    session=http, version=API_VERSION)
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1


def test_soap_login_through_salesforce_login(local_org: LocalOrg,
                                             http: requests.Session) -> None:
    info = local_org.connection_info
    session_id, instance = SalesforceLogin(
        username=info["username"], password=info["password"], security_token="",
        session=http, scratch_url=local_org.instance_url, sf_version=API_VERSION)
    assert instance == local_org.instance_url.removeprefix("https://")
    sf = Salesforce(instance=instance, session_id=session_id, session=http)
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_soap_login_bad_password_is_invalid_login(local_org: LocalOrg,
                                                  http: requests.Session) -> None:
    info = local_org.connection_info
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        SalesforceLogin(username=info["username"], password="wrong", security_token="",
                        session=http, scratch_url=local_org.instance_url)
    assert failure.value.code == "INVALID_LOGIN"


def test_soap_fault_is_500_with_login_fault(local_org: LocalOrg, http: requests.Session) -> None:
    envelope = ('<?xml version="1.0"?><env:Envelope xmlns:env='
                '"http://schemas.xmlsoap.org/soap/envelope/"><env:Body><n1:login '
                'xmlns:n1="urn:partner.soap.sforce.com"><n1:username>a</n1:username>'
                "<n1:password>b</n1:password></n1:login></env:Body></env:Envelope>")
    response = http.post(f"{local_org.instance_url}/services/Soap/u/{API_VERSION}",
                         data=envelope, headers={"Content-Type": "text/xml",
                                                 "SOAPAction": "login"})
    assert response.status_code == 500
    assert "<faultcode>sf:INVALID_LOGIN</faultcode>" in response.text


def test_password_login_through_salesforce_class_refreshes_expired_session(
        local_org: LocalOrg, http: requests.Session) -> None:
    http.mount("https://login.salesforce.com", RouteToLocalOrg(local_org.instance_url))
    info = local_org.connection_info
    sf = Salesforce(username=info["username"], password=info["password"], security_token="",
                    session=http, version=API_VERSION)
    first = sf.session_id
    local_org.expire_sessions()
    # simple-salesforce logs in again on INVALID_SESSION_ID and retries the call.
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    assert sf.session_id != first


def test_expired_session_raises_salesforce_expired_session(local_org: LocalOrg,
                                                           sf: SalesforceClient) -> None:
    sf.limits()
    local_org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as failure:
        sf.query("SELECT Id FROM User")
    assert content(failure.value) == [{"message": "Session expired or invalid",
                                      "errorCode": "INVALID_SESSION_ID"}]


def test_session_lifetime_ends_sessions(local_org: LocalOrg, http: requests.Session) -> None:
    local_org.set_session_lifetime(timedelta(seconds=1))
    try:
        token = client_credentials_token(local_org, http)
    finally:
        local_org.set_session_lifetime(timedelta(hours=2))
    url = f"{local_org.instance_url}/services/data/v{API_VERSION}/limits"
    assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(1.1)
    response = http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert "Sforce-Limit-Info" not in response.headers


def test_oauth_authorization_scheme_is_accepted(local_org: LocalOrg,
                                                http: requests.Session) -> None:
    token = client_credentials_token(local_org, http)
    response = http.get(f"{local_org.instance_url}/services/data/v{API_VERSION}/limits",
                        headers={"Authorization": f"OAuth {token}"})
    assert response.status_code == 200


def test_identity_url_of_the_token(local_org: LocalOrg, http: requests.Session) -> None:
    info = local_org.connection_info
    body = http.post(_token_url(local_org), data={
        "grant_type": "client_credentials", "client_id": info["client_id"],
        "client_secret": info["client_secret"]}).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    identity = http.get(body["id"], headers=headers)
    assert identity.status_code == 200
    assert identity.json()["user_id"] == local_org.integration_user_id
    assert identity.json()["username"] == info["username"]
    userinfo = http.get(f"{local_org.instance_url}/services/oauth2/userinfo", headers=headers)
    assert userinfo.json()["organization_id"] == local_org.identity.org_id
    assert http.get(body["id"]).status_code == 401
