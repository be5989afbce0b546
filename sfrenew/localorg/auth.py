"""Authentication endpoints: OAuth 2.0 token endpoint and SOAP ``login()``.

``POST /services/oauth2/token`` supports the client credentials, JWT bearer and
username-password grants and answers exactly like Salesforce (a JSON token, or a
400 ``{"error", "error_description"}``). ``POST /services/Soap/u/{version}``
answers the partner WSDL ``login`` call that simple-salesforce's username/password
login sends (see ``soap.py`` for the XML).

Only the org's integration user can log in: seeded users have no password, as in
an org where people log in through single sign-on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt

from sfrenew.localorg.identity import OrgIdentity
from sfrenew.localorg.sessions import Clock, Session, SessionRegistry
from sfrenew.localorg.soap import (
    login_fault,
    login_response,
    logout_response,
    parse_login,
    parse_logout,
    session_fault,
)
from sfrenew.localorg.wire import Request, Response

log = logging.getLogger(__name__)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audiences Salesforce accepts in a JWT bearer assertion (plus the org's own URL).
_STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_LEEWAY_SECONDS = 30

UserResolver = Callable[[str], str | None]  # username -> active user Id


class OAuthError(Exception):
    """A token endpoint failure: Salesforce's ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def _oauth_error(error: str, description: str) -> Response:
    response = Response.json(400, {"error": error, "error_description": description})
    response.error_code = error
    return response


def _auth_failure() -> OAuthError:
    return OAuthError("invalid_grant", "authentication failure")


@dataclass
class Authenticator:
    """Checks credentials and issues sessions for the integration user."""

    identity: OrgIdentity
    sessions: SessionRegistry
    resolve_user: UserResolver
    clock: Clock
    instance_url: Callable[[], str]

    # --- OAuth 2.0 -----------------------------------------------------------------

    def token_endpoint(self, request: Request) -> Response:
        """``POST /services/oauth2/token``."""
        try:
            session = self._grant(request)
        except OAuthError as exc:
            log.info("oauth token refused: %s", exc.error)
            response = Response.json(400, {"error": exc.error,
                                           "error_description": exc.description})
            response.error_code = exc.error
            return response
        return Response.json(200, self._token_body(session))

    def _grant(self, request: Request) -> Session:
        if request.method != "POST":
            raise OAuthError("invalid_request", "must use HTTP POST")
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"),
                                             keep_blank_values=True).items()}
        grant_type = form.get("grant_type") or request.param("grant_type")
        if grant_type == "client_credentials":
            self._check_client(request, form)
            return self._session_for(self.identity.username)
        if grant_type == "password":
            self._check_client(request, form)
            username, password = form.get("username", ""), form.get("password", "")
            if not self._password_ok(username, password):
                raise _auth_failure()
            return self._session_for(username)
        if grant_type == JWT_BEARER:
            return self._session_for(self._verify_assertion(form.get("assertion", "")))
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_client(self, request: Request, form: dict[str, str]) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.header("authorization")
        if basic and basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "invalid client credentials") from exc
            client_id, _, client_secret = decoded.partition(":")
        if not client_id or not hmac.compare_digest(client_id, self.identity.client_id):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not client_secret or not hmac.compare_digest(client_secret,
                                                        self.identity.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _verify_assertion(self, assertion: str) -> str:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if unverified.get("iss") != self.identity.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        audiences = [*_STANDARD_AUDIENCES, self.instance_url()]
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                self.identity.jwt_public_key_pem,
                algorithms=["RS256"],
                audience=audiences,
                issuer=self.identity.client_id,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub", "aud"], "verify_iat": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise OAuthError("invalid_grant", "audience is invalid") from exc
        except jwt.ExpiredSignatureError as exc:
            raise OAuthError("invalid_grant", "expired authorization code") from exc
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        username = str(claims["sub"])
        if username != self.identity.username:
            raise _auth_failure()
        return username

    def _token_body(self, session: Session) -> dict[str, Any]:
        instance_url = self.instance_url()
        identity_url = f"{instance_url}/id/{self.identity.org_id}/{session.user_id}"
        issued_at = str(int(session.issued_at.timestamp() * 1000))
        signature = base64.b64encode(hmac.new(
            self.identity.client_secret.encode(), (identity_url + issued_at).encode(),
            hashlib.sha256,
        ).digest()).decode()
        return {
            "access_token": session.token,
            "instance_url": instance_url,
            "id": identity_url,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api",
        }

    def identity_endpoint(self, request: Request, session: Session) -> Response:
        """``GET /id/{orgId}/{userId}`` (a token's ``id`` URL) or ``/services/oauth2/userinfo``."""
        instance_url = self.instance_url()
        user_id, org_id = session.user_id, self.identity.org_id
        if request.path.startswith("/id/"):
            parts = request.path.strip("/").split("/")
            if len(parts) != 3 or parts[1] != org_id or parts[2] != user_id:
                return Response.json(403, "Bad_Id")
        return Response.json(200, {
            "id": f"{instance_url}/id/{org_id}/{user_id}",
            "user_id": user_id,
            "organization_id": org_id,
            "username": session.username,
            "preferred_username": session.username,
            "email": session.username,
            "display_name": "sfrenew Integration",
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "urls": {
                "rest": f"{instance_url}/services/data/v{{version}}/",
                "sobjects": f"{instance_url}/services/data/v{{version}}/sobjects/",
                "query": f"{instance_url}/services/data/v{{version}}/query/",
                "limits": f"{instance_url}/services/data/v{{version}}/limits/",
            },
        })

    # --- SOAP login ----------------------------------------------------------------

    def revoke(self, request: Request) -> Response:
        """``POST /services/oauth2/revoke`` (or ``GET ...?token=``): end a session.

        "Revoke OAuth Tokens" (Salesforce Help, remoteaccess_revoke_token): the token
        comes form-encoded in the body (or as the ``token`` query parameter of a GET);
        200 with an empty body when it was revoked, else 400 ``invalid_token``.
        """
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace"),
                                             keep_blank_values=True).items()}
        token = form.get("token") or request.param("token") or ""
        if request.method not in ("POST", "GET") or not token:
            return _oauth_error("unsupported_token_type", "this token type is not supported")
        if not self.sessions.revoke(token):
            return _oauth_error("invalid_token", "invalid token")
        return Response(status=200, body=b"")

    def soap_login(self, request: Request, *, api_version: str) -> Response:
        """``POST /services/Soap/u/{version}`` with a partner ``login`` or ``logout`` envelope."""
        logout_session = parse_logout(request.body)
        if logout_session is not None:
            # logout() ends the session of its SessionHeader; a dead one is a fault.
            if not logout_session or not self.sessions.revoke(logout_session):
                return session_fault()
            return logout_response()
        credentials = parse_login(request.body)
        if credentials is None:
            return login_fault(500, "INVALID_LOGIN" if request.body else "UNKNOWN_EXCEPTION",
                               "Invalid username, password, security token; or user locked out."
                               if request.body else "Missing SOAP body")
        username, password = credentials
        if not self._password_ok(username, password):
            log.info("soap login refused")
            return login_fault(500, "INVALID_LOGIN",
                               "Invalid username, password, security token; or user locked out.")
        try:
            session = self._session_for(username)
        except OAuthError:
            return login_fault(500, "INVALID_LOGIN",
                               "Invalid username, password, security token; or user locked out.")
        return login_response(
            session=session, identity=self.identity, instance_url=self.instance_url(),
            api_version=api_version, lifetime_seconds=int(self.sessions.lifetime.total_seconds()),
        )

    # --- shared --------------------------------------------------------------------

    def _password_ok(self, username: str, password: str) -> bool:
        # The local org trusts 127.0.0.1 like a trusted IP range, so no security token
        # is required; one appended to the password is not accepted either.
        return hmac.compare_digest(username, self.identity.username) and hmac.compare_digest(
            password, self.identity.password)

    def _session_for(self, username: str) -> Session:
        user_id = self.resolve_user(username)
        if user_id is None:
            raise _auth_failure()
        return self.sessions.issue(user_id=user_id, username=username)
