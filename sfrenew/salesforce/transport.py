"""The one HTTP choke point: every Salesforce call goes through :meth:`Transport.request`.

Per call, in this order: the budget guard is asked (nothing is sent when the run's
share is spent), the call is counted by kind, sent on the session simple-salesforce
holds, ``Sforce-Limit-Info`` is read, and a failure is classified by status and
``errorCode``. An expired session is refreshed once and the call repeated; transient
failures are retried by the one policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import IO, Any

import requests
import structlog
from simple_salesforce.api import Salesforce

from sfrenew.salesforce.auth import Login
from sfrenew.salesforce.budget import BudgetGuard, CallCounter, CallKind
from sfrenew.salesforce.errors import (
    ApiUsage,
    AuthError,
    BudgetExhausted,
    SessionExpired,
    UnexpectedResponse,
    classify,
    classify_connection_failure,
)
from sfrenew.salesforce.retry import RetryPolicy

log = structlog.get_logger(__name__)

EVENT_SESSION_REFRESHED = "salesforce.session.refreshed"
EVENT_RETRY = "salesforce.call.retry"


class Transport:
    """Authenticated, counted, budgeted, classified and retried HTTP to one org."""

    def __init__(self, *, login: Login, session: requests.Session, api_version: str,
                 retry: RetryPolicy, budget: BudgetGuard, counter: CallCounter,
                 timeout: float) -> None:
        self._login = login
        self._session = session
        self._api_version = api_version
        self.retry = retry
        self.budget = budget
        self.counter = counter
        self._timeout = timeout
        self._sf: Salesforce | None = None
        self.usage: ApiUsage | None = None

    # --- session ------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections (the session cannot be used afterwards)."""
        self._session.close()

    def authenticate(self) -> None:
        """Log in (retrying transient failures) and rebuild the simple-salesforce client."""
        for attempt in self.retry.retrying():
            with attempt:
                self.counter.add(CallKind.AUTH)
                grant = self._login.obtain(self._session)
        self._sf = Salesforce(instance_url=grant.instance_url,
                              session_id=grant.access_token.reveal(),
                              session=self._session, version=self._api_version)

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce client for the current session."""
        if self._sf is None:
            self.authenticate()
        if self._sf is None:  # authenticate() either sets it or raises
            raise AuthError("not logged in")
        return self._sf

    @property
    def instance_url(self) -> str:
        """``https://host[:port]`` of the org."""
        return f"https://{self.sf.sf_instance}"

    def url(self, path: str) -> str:
        """An absolute URL: ``/services/...`` paths on the instance, others under the API base."""
        if path.startswith("https://"):
            return path
        if path.startswith("/"):
            return self.instance_url + path
        return str(self.sf.base_url) + path

    # --- calls --------------------------------------------------------------------

    def request(self, kind: CallKind, method: str, path: str, *,
                params: Mapping[str, str] | None = None, json_body: Any = None,
                data: bytes | IO[bytes] | None = None,
                headers: Mapping[str, str] | None = None,
                idempotent: bool = True, stream: bool = False) -> requests.Response:
        """Send one logical call: retried if transient, repeated once after a refresh.

        ``idempotent=False`` (plain inserts) is not repeated after a failure that may
        have happened after Salesforce did the work (see ``TransientError.ambiguous``).
        ``data`` may be a seekable file (a Bulk upload spooled to disk): it is streamed,
        and rewound before every attempt. With ``stream`` a successful answer's body is
        left unread (a large Bulk results page, read row by row by the caller).
        """
        body = None if json_body is None else json.dumps(json_body, default=_json_default)
        payload = data if data is not None else (body.encode() if body is not None else None)
        for attempt in self.retry.retrying(idempotent=idempotent):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number > 1:
                    log.info(EVENT_RETRY, kind=kind.value, attempt=number)
                return self._send_refreshing(kind, method, path, params=params, data=payload,
                                             headers=headers, stream=stream)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def json(self, kind: CallKind, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request` and decode the JSON answer (floats as ``Decimal``; None if empty)."""
        return decode_json(self.request(kind, method, path, **kwargs))

    def _send_refreshing(self, kind: CallKind, method: str, path: str, *,
                         params: Mapping[str, str] | None, data: bytes | IO[bytes] | None,
                         headers: Mapping[str, str] | None, stream: bool) -> requests.Response:
        try:
            return self._send(kind, method, path, params=params, data=data, headers=headers,
                              stream=stream)
        except SessionExpired as exc:
            if not self._login.refreshable:
                raise AuthError("the access token was rejected (invalid or expired): "
                                "provide a new one (auth: "
                                f"{self._login.flow.value} cannot log in again)",
                                status=exc.status, error_code=exc.error_code) from None
            self.authenticate()
            log.info(EVENT_SESSION_REFRESHED, kind=kind.value)
        try:
            return self._send(kind, method, path, params=params, data=data, headers=headers,
                              stream=stream)
        except SessionExpired as exc:
            raise AuthError("the session expired again right after logging in",
                            status=exc.status, error_code=exc.error_code) from None

    def _send(self, kind: CallKind, method: str, path: str, *,
              params: Mapping[str, str] | None, data: bytes | IO[bytes] | None,
              headers: Mapping[str, str] | None, stream: bool = False) -> requests.Response:
        sf = self.sf
        if data is not None and not isinstance(data, bytes):
            data.seek(0)  # a repeated attempt sends the whole file again
        if kind.uses_allocation:
            self.budget.check()  # before anything is sent
        all_headers = dict(sf.headers)
        all_headers.pop("X-PrettyPrint", None)  # pretty JSON only costs bytes
        all_headers.update(headers or {})
        self.counter.add(kind)
        if kind.uses_allocation:
            self.budget.record_call()
        target = self.url(path)
        try:
            response = self._session.request(method, target, params=params, data=data,
                                             headers=all_headers, timeout=self._timeout,
                                             stream=stream)
        except requests.ConnectTimeout as exc:
            # Never connected: nothing reached Salesforce.
            raise classify_connection_failure(exc, url=target, what=f"{kind.value} call",
                                              connected=False) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            # DNS, refused, TLS: never connected and never will (not retried). Otherwise the
            # request may have been sent (and done) before the connection failed.
            raise classify_connection_failure(exc, url=target, what=f"{kind.value} call",
                                              connected=True) from None
        usage = ApiUsage.parse(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.usage = usage
            self.budget.observe(usage)
        if response.status_code < 300:
            return response
        error = classify(status=response.status_code, body=_error_body(response), usage=usage)
        if isinstance(error, BudgetExhausted):
            raise self.budget.exhausted(error.reason) from None
        raise error


def decode_json(response: requests.Response) -> Any:
    """The JSON body with floats as ``Decimal`` (money stays exact); None for no content."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise UnexpectedResponse(f"expected JSON, got {response.headers.get('Content-Type')}",
                                 status=response.status_code) from None


def _error_body(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _json_default(value: Any) -> Any:
    # Dates and money reach the wire as Salesforce expects them; nothing else is guessed.
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} to Salesforce")
