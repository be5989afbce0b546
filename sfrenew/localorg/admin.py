"""The local org's own admin paths (``/_localorg/...``); not part of Salesforce's API.

* ``GET /_localorg/stats``: API usage, calls by kind, errors by code, record counts.
* ``POST /_localorg/stats/reset``: zero the accounting (benchmarks measure a run).
* ``POST /_localorg/sessions/expire``: end every session (tests of re-authentication
  against an org running in another process).

Callers authenticate with the connected app's credentials (HTTP Basic
``client_id:client_secret``) or a live session token, so reading stats neither
needs nor counts a login.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from typing import Any

from sfrenew.localorg.accounting import Accounting
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.identity import OrgIdentity
from sfrenew.localorg.sessions import SessionRegistry, bearer_token, invalid_session
from sfrenew.localorg.wire import Request, Response, method_not_allowed, not_found


class AdminResource:
    """Handles ``/_localorg/...``."""

    def __init__(self, *, identity: OrgIdentity, sessions: SessionRegistry,
                 accounting: Accounting, record_counts: Callable[[], dict[str, int]]) -> None:
        self._identity = identity
        self._sessions = sessions
        self._accounting = accounting
        self._record_counts = record_counts
        self._extra: dict[tuple[str, str], Callable[[Request], Response]] = {}
        self._extra_stats: dict[str, Callable[[], Any]] = {}

    def register(self, method: str, path: str, handler: Callable[[Request], Response]) -> None:
        """Serve another admin path (faults, allocation...) behind the same authentication."""
        self._extra[(method, path.rstrip("/"))] = handler

    def register_stats(self, name: str, provider: Callable[[], Any]) -> None:
        """Add a section to ``GET /_localorg/stats``."""
        self._extra_stats[name] = provider

    def handle(self, request: Request) -> Response:
        """Answer one admin request."""
        self._authenticate(request)
        extra = self._extra.get((request.method, request.path.rstrip("/")))
        if extra is not None:
            return extra(request)
        if any(path == request.path.rstrip("/") for _, path in self._extra):
            allowed = [m for m, path in self._extra if path == request.path.rstrip("/")]
            raise method_not_allowed(request.method, allowed)
        routes: dict[str, tuple[str, Callable[[], Response]]] = {
            "/_localorg/stats": ("GET", self._stats),
            "/_localorg/stats/reset": ("POST", self._reset),
            "/_localorg/sessions/expire": ("POST", self._expire_sessions),
        }
        route = routes.get(request.path.rstrip("/"))
        if route is None:
            raise not_found()
        method, handler = route
        if request.method != method:
            raise method_not_allowed(request.method, [method])
        return handler()

    def stats(self) -> dict[str, Any]:
        """What ``GET /_localorg/stats`` answers."""
        extra = {name: provider() for name, provider in self._extra_stats.items()}
        return {**self._accounting.snapshot(), **extra, "records": self._record_counts()}

    def _stats(self) -> Response:
        return Response.json(200, self.stats())

    def _reset(self) -> Response:
        self._accounting.reset()
        return Response.json(200, self.stats())

    def _expire_sessions(self) -> Response:
        return Response.json(200, {"expired": self._sessions.expire_all()})

    def _authenticate(self, request: Request) -> None:
        authorization = request.header("authorization") or ""
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise invalid_session() from exc
            client_id, _, secret = decoded.partition(":")
            if hmac.compare_digest(client_id, self._identity.client_id) and hmac.compare_digest(
                    secret, self._identity.client_secret):
                return
            raise invalid_session()
        try:
            self._sessions.lookup(bearer_token(authorization))
        except SalesforceApiError:
            raise invalid_session() from None
