"""Salesforce failures, typed by what the caller can do about them.

| class | what the caller does |
|---|---|
| :class:`TransientError` | nothing: retried by the one policy, then the run checkpoints |
| :class:`Unreachable` | fix the address, the network or the certificate: not retried |
| :class:`AuthError` | fix credentials or permissions (:class:`SessionExpired`: refreshed once) |
| :class:`BudgetExhausted` | checkpoint and resume later (daily allocation spent, or our own cap) |
| :class:`ConfigurationError` | fix the config or the mapping (unknown field, object, bad SOQL) |
| :class:`SecretMissing` | set the secret's environment variable (a ConfigurationError) |
| :class:`RecordRejected` | report the record (a single-record call rejected its data) |
| :class:`MultipleMatches` | report the key (an upsert key matched more than one record: 300) |
| :class:`BulkJobFailed` | stop: Salesforce refused a whole Bulk API 2.0 job |
| :class:`UnexpectedResponse` | stop: an answer we do not understand |

Per-row failures of sObject Collections and Bulk API 2.0 are *not* exceptions: they
are :class:`~sfrenew.salesforce.results.RowResult` values; :func:`is_transient_row_error`
says which of them are retried.

Everything is decided by HTTP status, ``errorCode`` and the ``Sforce-Limit-Info``
header, never by message text (see ``docs/adr/0002-request-limit-exceeded.md``).
A failure to connect is classified by the type of its cause
(:func:`classify_connection_failure`): a reset or a timeout may clear and is retried; a
name that does not resolve, a refused connection or a certificate that does not verify
will not clear by waiting, and is reported at once with the URL and the cause.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

# Request-level codes that a later attempt may not see again.
TRANSIENT_CODES = frozenset({
    "SERVER_UNAVAILABLE", "QUERY_TIMEOUT", "UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG",
})
# Codes that mean the request names something wrong: the config or mapping must change.
CONFIGURATION_CODES = frozenset({
    "INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY", "NOT_FOUND", "INVALID_OPERATION",
    "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_QUERY_FILTER_OPERATOR", "INVALID_QUERY_LOCATOR",
    "API_DISABLED_FOR_ORG", "FUNCTIONALITY_NOT_ENABLED", "UNSUPPORTED_API_VERSION",
    "INVALIDENTITY", "INVALID_EXTERNAL_ID_FIELD", "METHOD_NOT_ALLOWED", "JSON_PARSER_ERROR",
    "INVALIDJOB",  # Bulk API 2.0: the job names an object, field or key that is not usable
})
# Row-level codes retried for the failed rows only (in smaller batches).
TRANSIENT_ROW_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
INVALID_SESSION_ID = "INVALID_SESSION_ID"


class GatewayError(Exception):
    """Base of every error the gateway raises; carries what Salesforce said."""

    def __init__(self, message: str, *, status: int | None = None,
                 error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class TransientError(GatewayError):
    """5xx, 503 SERVER_UNAVAILABLE, connection errors, timeouts, lock and concurrency limits.

    ``ambiguous`` is True when the request may have been carried out before it failed
    (a 500, a read timeout, a dropped connection): repeating it is only safe for calls
    that are idempotent, so a plain insert is not retried on such a failure.
    """

    def __init__(self, message: str, *, status: int | None = None,
                 error_code: str | None = None, ambiguous: bool = False) -> None:
        super().__init__(message, status=status, error_code=error_code)
        self.ambiguous = ambiguous


class UnreachableCause(StrEnum):
    """Why an org cannot be reached, in the words an operator acts on."""

    DNS = "the host name does not resolve (DNS failure): check the URL"
    REFUSED = "connection refused: nothing listens on that port (is the org or proxy up?)"
    TLS = ("TLS certificate verification failed: the certificate is not trusted for that "
           "host (check the URL, the CA bundle, or a proxy that intercepts TLS)")


class Unreachable(GatewayError):
    """The org cannot be reached and waiting will not help: reported at once, not retried."""

    def __init__(self, *, url: str, cause: UnreachableCause, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(f"cannot reach {url}: {cause.value}{extra}",
                         error_code=cause.name)
        self.url = url
        self.cause = cause


class AuthError(GatewayError):
    """Credentials refused, or the user lacks a permission (fix the config or the org)."""


class SessionExpired(AuthError):
    """401 INVALID_SESSION_ID: the gateway logs in again once and repeats the call."""


class ConfigurationError(GatewayError):
    """The request names a field, object or query Salesforce rejects; fix config or mapping."""


class SecretMissing(ConfigurationError):
    """A secret the config names by reference is not there (its environment variable is
    unset or empty): the environment, not the file, must change."""

    def __init__(self, message: str, *, setting: str, variable: str) -> None:
        super().__init__(message, error_code="SECRET_MISSING")
        self.setting = setting
        self.variable = variable


class RecordRejected(GatewayError):
    """A single-record call was refused for its data (DUPLICATE_VALUE, STRING_TOO_LONG, ...)."""

    def __init__(self, message: str, *, status: int | None = None, error_code: str | None = None,
                 fields: Sequence[str] = ()) -> None:
        super().__init__(message, status=status, error_code=error_code)
        self.fields = tuple(fields)


class MultipleMatches(GatewayError):
    """300: an external-Id value matched several records; ``urls`` lists them."""

    def __init__(self, message: str, *, urls: Sequence[str] = ()) -> None:
        super().__init__(message, status=300, error_code="MULTIPLE_CHOICES")
        self.urls = tuple(urls)


class BulkJobFailed(GatewayError):
    """Salesforce marked a Bulk API 2.0 job Failed or Aborted without processing a row."""

    def __init__(self, message: str, *, job_id: str, state: str) -> None:
        super().__init__(message, error_code=state)
        self.job_id = job_id
        self.state = state


class UnexpectedResponse(GatewayError):
    """An answer outside the documented shapes: stop rather than guess."""


class BudgetExhausted(GatewayError):
    """No further API call may be made in this run; the run checkpoints on it."""

    def __init__(self, message: str, *, calls_used: int, daily_remaining: int | None,
                 daily_max: int | None, reason: str) -> None:
        super().__init__(message, error_code=REQUEST_LIMIT_EXCEEDED)
        self.calls_used = calls_used
        self.daily_remaining = daily_remaining
        self.daily_max = daily_max
        self.reason = reason


@dataclass(frozen=True)
class ApiUsage:
    """``Sforce-Limit-Info: api-usage=used/max`` (the org's daily API requests)."""

    used: int
    max: int

    @property
    def remaining(self) -> int:
        """Calls left in the daily allocation."""
        return max(self.max - self.used, 0)

    @classmethod
    def parse(cls, header: str | None) -> ApiUsage | None:
        """Parse the header; None when absent or not in the documented shape."""
        if not header:
            return None
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "api-usage":
                used, _, total = value.partition("/")
                if used.isdigit() and total.isdigit():
                    return cls(used=int(used), max=int(total))
        return None


@dataclass(frozen=True)
class ErrorEntry:
    """The first entry of a REST error list."""

    error_code: str
    message: str
    fields: tuple[str, ...] = ()


def first_error(body: Any) -> ErrorEntry | None:
    """The first ``{errorCode, message, fields}`` of a REST error body, if it has one."""
    entry = body[0] if isinstance(body, list) and body else body
    if not isinstance(entry, Mapping):
        return None
    code = entry.get("errorCode") or entry.get("statusCode") or entry.get("error")
    if not isinstance(code, str):
        return None
    message = entry.get("message") or entry.get("error_description") or ""
    fields = entry.get("fields") or ()
    return ErrorEntry(code, str(message), tuple(str(f) for f in fields))


def classify(*, status: int, body: Any, usage: ApiUsage | None) -> GatewayError:
    """The typed error for a non-2xx answer, from its status, ``errorCode`` and usage header.

    ``usage`` is the ``Sforce-Limit-Info`` of the same response; it is what tells a spent
    daily allocation from a concurrency limit (both answer ``REQUEST_LIMIT_EXCEEDED``).
    """
    entry = first_error(body)
    code = entry.error_code if entry else None
    text = f"{status} {code}: {entry.message}" if entry else f"HTTP {status}"
    if status == 300:
        urls = [str(u) for u in body] if isinstance(body, list) else []
        return MultipleMatches(f"300: the key matched {len(urls)} records", urls=urls)
    if code == REQUEST_LIMIT_EXCEEDED:
        return _request_limit(status=status, text=text, usage=usage)
    if status == 401:
        if code == INVALID_SESSION_ID:
            return SessionExpired(text, status=status, error_code=code)
        return AuthError(text, status=status, error_code=code)
    if status >= 500 or code in TRANSIENT_CODES:
        # 503 and the codes Salesforce answers before doing any work are safe to repeat.
        ambiguous = status >= 500 and status != 503 and code not in TRANSIENT_CODES
        return TransientError(text, status=status, error_code=code, ambiguous=ambiguous)
    if code in CONFIGURATION_CODES or status in (404, 405):
        return ConfigurationError(text, status=status, error_code=code)
    if status == 403:
        return AuthError(text, status=status, error_code=code)
    if status == 400 and code is not None and entry is not None:
        return RecordRejected(text, status=status, error_code=code, fields=entry.fields)
    return UnexpectedResponse(text, status=status, error_code=code)


def _request_limit(*, status: int, text: str, usage: ApiUsage | None) -> GatewayError:
    # ADR 0002: the usage header on the answer decides; without it, 403 is the daily
    # limit (what Salesforce answers when TotalRequests is spent) and anything else is
    # a concurrency limit that clears by itself.
    daily = usage.used >= usage.max if usage is not None else status == 403
    if daily:
        remaining = usage.remaining if usage else 0
        return BudgetExhausted(
            f"stopped: the org's daily API allocation is spent ({text})",
            calls_used=0, daily_remaining=remaining, daily_max=usage.max if usage else None,
            reason="daily allocation spent",
        )
    return TransientError(text, status=status, error_code=REQUEST_LIMIT_EXCEEDED)


def is_transient_row_error(error_code: str | None) -> bool:
    """Whether a per-row failure is retried (for that row only)."""
    return error_code in TRANSIENT_ROW_CODES


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: ``__cause__``/``__context__``, the ``reason`` of
    urllib3's MaxRetryError and the first argument requests wraps (bounded, no cycles)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None),
                  *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))]
        todo.extend(n for n in nested if isinstance(n, BaseException))


def unreachable_cause(exc: BaseException) -> UnreachableCause | None:
    """The permanent reason a connection failed, from the types it wraps; None if it may
    clear by itself (a reset, a timeout, a dropped connection)."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return UnreachableCause.TLS
        if isinstance(cause, socket.gaierror):
            return UnreachableCause.DNS
        if isinstance(cause, ConnectionRefusedError):
            return UnreachableCause.REFUSED
    return None


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: where a connection goes, without path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def classify_connection_failure(exc: BaseException, *, url: str, what: str,
                                connected: bool) -> GatewayError:
    """The typed error for a request that got no HTTP answer.

    :class:`Unreachable` (not retried) when the cause cannot clear by waiting; otherwise
    a :class:`TransientError`, ``ambiguous`` when the request may have been sent
    (``connected``: the failure came after the connection was made).
    """
    cause = unreachable_cause(exc)
    if cause is not None:
        return Unreachable(url=origin(url), cause=cause)
    return TransientError(f"{what} failed: {_innermost(exc)} talking to {origin(url)}",
                          ambiguous=connected)


def _innermost(exc: BaseException) -> str:
    # The operating system's word for it (ConnectionResetError, TimeoutError) rather than
    # the wrapper's (requests' ConnectionError), for the operator reading the message.
    names = [type(c).__name__ for c in _causes(exc) if type(c).__module__ == "builtins"]
    return names[-1] if names else type(exc).__name__
