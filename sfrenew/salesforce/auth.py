"""Logging in: JWT bearer, client credentials, access token, password, and the local org.

Token calls go to ``{login_url}/services/oauth2/token`` with ``requests`` here, not
through simple-salesforce, whose login helpers hard-code ``https://{domain}.salesforce.com``
(no port, no local org). Password login uses simple-salesforce's SOAP ``login()``
with ``scratch_url`` so it reaches any base URL; it is deprecated (Salesforce retires
SOAP ``login()`` in Summer '27) and says so in the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import requests
import structlog
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from sfrenew.salesforce.config import AuthFlow, SalesforceConfig, Secret
from sfrenew.salesforce.errors import (
    AuthError,
    ConfigurationError,
    TransientError,
    classify_connection_failure,
)

log = structlog.get_logger(__name__)

CONNECTION_FILE = "connection.json"
JWT_KEY_FILE = "jwt_key.pem"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_LIFETIME = timedelta(minutes=3)
EVENT_PASSWORD_DEPRECATED = "salesforce.auth.password_deprecated"  # noqa: S105 (event name)


@dataclass(frozen=True)
class SessionGrant:
    """An access token and the instance it is valid for."""

    access_token: Secret
    instance_url: str


@dataclass(frozen=True)
class Login:
    """One way to obtain a session; ``refreshable`` when it can log in again unattended."""

    obtain: Callable[[requests.Session], SessionGrant]
    refreshable: bool
    flow: AuthFlow


def _token_call(session: requests.Session, *, url: str, data: dict[str, str],
                timeout: float) -> SessionGrant:
    try:
        response = session.post(url, data=data, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        # A login changes nothing: repeating it is safe (never ambiguous).
        raise classify_connection_failure(exc, url=url, what="login (token endpoint)",
                                          connected=False) from None
    if response.status_code >= 500:
        raise TransientError(f"token endpoint answered {response.status_code}",
                             status=response.status_code)
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = body.get("error", "unknown_error") if isinstance(body, dict) else "unknown_error"
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        raise AuthError(f"login refused: {error}: {description}",
                        status=response.status_code, error_code=str(error))
    if not body.get("instance_url"):
        raise AuthError("login answered a token but no instance_url: check the login URL "
                        "(it must be the org's token endpoint)", status=response.status_code,
                        error_code="missing_instance_url")
    return SessionGrant(Secret(str(body["access_token"])), str(body["instance_url"]).rstrip("/"))


def _jwt_login(*, token_base: str, audience: str, consumer_key: str, username: str,
               key_file: Path, timeout: float) -> Login:
    def obtain(session: requests.Session) -> SessionGrant:
        try:
            key = key_file.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"salesforce.private_key_file: cannot read {key_file}: {exc.strerror}") from None
        claims = {"iss": consumer_key, "sub": username, "aud": audience,
                  "exp": int((datetime.now(UTC) + _ASSERTION_LIFETIME).timestamp())}
        assertion = jwt.encode(claims, key, algorithm="RS256")
        return _token_call(session, url=f"{token_base}/services/oauth2/token", timeout=timeout,
                           data={"grant_type": JWT_BEARER, "assertion": assertion})
    return Login(obtain, refreshable=True, flow=AuthFlow.JWT)


def _client_credentials_login(*, token_base: str, consumer_key: str, secret: Secret,
                              timeout: float) -> Login:
    def obtain(session: requests.Session) -> SessionGrant:
        return _token_call(session, url=f"{token_base}/services/oauth2/token", timeout=timeout,
                           data={"grant_type": "client_credentials", "client_id": consumer_key,
                                 "client_secret": secret.reveal()})
    return Login(obtain, refreshable=True, flow=AuthFlow.CLIENT_CREDENTIALS)


def _password_login(*, base_url: str, username: str, password: Secret,
                    security_token: Secret | None, api_version: str) -> Login:
    def obtain(session: requests.Session) -> SessionGrant:
        log.warning(EVENT_PASSWORD_DEPRECATED, username=username,
                    advice="switch to auth: jwt or client_credentials before Summer '27")
        try:
            token, instance = SalesforceLogin(
                username=username, password=password.reveal(),
                security_token=security_token.reveal() if security_token else None,
                sf_version=api_version, session=session, scratch_url=base_url)
        except SalesforceAuthenticationFailed as exc:
            raise AuthError(f"login refused: {exc.code}", error_code=str(exc.code)) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise classify_connection_failure(exc, url=base_url, what="login (SOAP)",
                                              connected=False) from None
        return SessionGrant(Secret(str(token)), f"https://{instance}")
    return Login(obtain, refreshable=True, flow=AuthFlow.PASSWORD)


def _access_token_login(*, instance_url: str, token: Secret) -> Login:
    def obtain(_session: requests.Session) -> SessionGrant:
        return SessionGrant(token, instance_url.rstrip("/"))
    return Login(obtain, refreshable=False, flow=AuthFlow.ACCESS_TOKEN)


@dataclass(frozen=True)
class LocalConnection:
    """What the local org writes to ``connection.json`` for its clients."""

    instance_url: str
    ca_file: Path
    client_id: str
    client_secret: Secret
    username: str
    password: Secret
    jwt_key_file: Path

    @classmethod
    def read(cls, data_dir: Path) -> LocalConnection:
        """Read the local org's ``connection.json``."""
        path = data_dir / CONNECTION_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                instance_url=str(raw["instance_url"]).rstrip("/"),
                ca_file=Path(raw["ca_file"]),
                client_id=str(raw["client_id"]),
                client_secret=Secret(str(raw["client_secret"])),
                username=str(raw["username"]),
                password=Secret(str(raw["password"])),
                jwt_key_file=Path(raw.get("jwt_key_file") or data_dir / JWT_KEY_FILE),
            )
        except OSError as exc:
            raise ConfigurationError(
                f"local org: cannot read {path}: {exc.strerror} (is the local org started?)"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"local org: {path} is not a valid connection file: "
                                     f"{type(exc).__name__}") from None


def local_session(*, instance_url: str, client_id: str, client_secret: Secret, ca_file: Path,
                  timeout: float = 10.0) -> SessionGrant:
    """A fresh session of a running local org by its connected app's client credentials
    (the values of its ``connection.json``); the login every other client uses."""
    login = _client_credentials_login(token_base=instance_url.rstrip("/"),
                                      consumer_key=client_id, secret=client_secret,
                                      timeout=timeout)
    with requests.Session() as http:
        http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify otherwise
        http.verify = str(ca_file)
        return login.obtain(http)


def login_for(config: SalesforceConfig, *,
              base_dir: Path | None = None) -> tuple[Login, Path | None]:
    """The login for a config, and the CA bundle to verify TLS with (None: system CAs)."""
    timeout = config.timeout_seconds
    if config.target == "local":
        data_dir = config.local_data_dir
        conn = LocalConnection.read(data_dir if base_dir is None or data_dir.is_absolute()
                                    else base_dir / data_dir)
        flow = config.auth or AuthFlow.CLIENT_CREDENTIALS
        if flow is AuthFlow.JWT:
            login = _jwt_login(token_base=conn.instance_url, audience=conn.instance_url,
                               consumer_key=conn.client_id, username=conn.username,
                               key_file=conn.jwt_key_file, timeout=timeout)
        elif flow is AuthFlow.PASSWORD:
            login = _password_login(base_url=conn.instance_url, username=conn.username,
                                    password=conn.password, security_token=None,
                                    api_version=config.api_version)
        else:
            login = _client_credentials_login(token_base=conn.instance_url,
                                              consumer_key=conn.client_id,
                                              secret=conn.client_secret, timeout=timeout)
        return login, conn.ca_file
    return _org_login(config, base_dir=base_dir), None


def _org_login(config: SalesforceConfig, *, base_dir: Path | None) -> Login:
    def need(value: Any, name: str) -> Any:
        if value is None:  # the config model already checks; this keeps mypy honest
            raise ConfigurationError(f"salesforce.{name} is required for auth: {config.auth}")
        return value

    timeout = config.timeout_seconds
    login_url = config.login_url.rstrip("/")
    match config.auth:
        case AuthFlow.JWT:
            key_file = need(config.private_key_file, "private_key_file")
            if base_dir is not None and not key_file.is_absolute():
                key_file = base_dir / key_file
            return _jwt_login(token_base=(config.my_domain_url or login_url).rstrip("/"),
                              audience=login_url, consumer_key=need(config.consumer_key,
                                                                     "consumer_key"),
                              username=need(config.username, "username"), key_file=key_file,
                              timeout=timeout)
        case AuthFlow.CLIENT_CREDENTIALS:
            return _client_credentials_login(
                token_base=need(config.my_domain_url, "my_domain_url").rstrip("/"),
                consumer_key=need(config.consumer_key, "consumer_key"),
                secret=need(config.secret("consumer_secret", base_dir=base_dir),
                            "consumer_secret_env"), timeout=timeout)
        case AuthFlow.ACCESS_TOKEN:
            return _access_token_login(
                instance_url=need(config.instance_url, "instance_url"),
                token=need(config.secret("access_token", base_dir=base_dir),
                           "access_token_env"))
        case AuthFlow.PASSWORD:
            return _password_login(
                base_url=(config.my_domain_url or login_url).rstrip("/"),
                username=need(config.username, "username"),
                password=need(config.secret("password", base_dir=base_dir), "password_env"),
                security_token=config.secret("security_token", base_dir=base_dir),
                api_version=config.api_version)
    raise ConfigurationError("salesforce.auth is required for target: org")
