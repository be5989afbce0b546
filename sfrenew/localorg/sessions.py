"""Sessions (access tokens) of the local org, and the 401 Salesforce answers without one.

A session lives for a fixed lifetime from when it was issued (a Salesforce org's
timeout is counted from the last activity; a fixed lifetime is stricter and lets
tests and benchmarks predict exactly when a client must log in again). Tokens are
random and only live in memory: a restarted org has invalidated every session,
as a real org does after a password reset.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sfrenew.localorg.errors import SalesforceApiError

Clock = Callable[[], datetime]
DEFAULT_SESSION_LIFETIME = timedelta(hours=2)
_MAX_SESSIONS = 10_000  # beyond this the oldest are dropped, so logins cannot grow memory


@dataclass(frozen=True)
class Session:
    """One access token and who it runs as."""

    token: str
    user_id: str
    username: str
    issued_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        # The token is a credential: keep it out of any log line.
        return f"Session(user_id={self.user_id!r}, expires_at={self.expires_at.isoformat()})"


def invalid_session() -> SalesforceApiError:
    """Salesforce's 401 for a missing, unknown or expired session."""
    return SalesforceApiError.single(401, "INVALID_SESSION_ID", "Session expired or invalid")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <t>`` (or legacy ``OAuth <t>``) header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token.strip():
        return None
    return token.strip()


class SessionRegistry:
    """Issues, looks up and expires sessions. Thread-safe."""

    def __init__(self, *, org_id: str, clock: Clock, lifetime: timedelta) -> None:
        self._org_id = org_id
        self._clock = clock
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    @property
    def lifetime(self) -> timedelta:
        """How long a new session is valid."""
        return self._lifetime

    @lifetime.setter
    def lifetime(self, value: timedelta) -> None:
        # Applies to sessions issued from now on, as changing an org's timeout does.
        self._lifetime = value

    def issue(self, *, user_id: str, username: str) -> Session:
        """A new session for this user."""
        now = self._clock()
        # Real tokens are "<15-char org id>!<opaque>"; clients sometimes split on "!".
        token = f"{self._org_id[:15]}!AQ{secrets.token_urlsafe(72).replace('-', '.')}"
        session = Session(token=token, user_id=user_id, username=username,
                          issued_at=now, expires_at=now + self._lifetime)
        with self._lock:
            self._drop_expired(now)
            while len(self._sessions) >= _MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[token] = session
        return session

    def lookup(self, token: str | None) -> Session:
        """The live session of a token; 401 INVALID_SESSION_ID otherwise."""
        if token is None:
            raise invalid_session()
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= now:
                del self._sessions[token]
                session = None
        if session is None:
            raise invalid_session()
        return session

    def expire_all(self) -> int:
        """End every session now (tests: force clients through re-authentication)."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
        return count

    def revoke(self, token: str) -> bool:
        """End one session; True when it existed."""
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def _drop_expired(self, now: datetime) -> None:
        for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[token]
