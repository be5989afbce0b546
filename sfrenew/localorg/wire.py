"""HTTP values the local org's handlers take and return, independent of the server.

Handlers are plain functions from a :class:`Request` to a :class:`Response`, so
composite subrequests, tests and the HTTPS server all go through the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from sfrenew.localorg.errors import ErrorDetail, SalesforceApiError

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Request:
    """One HTTP request: method, decoded path, query parameters, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""

    @classmethod
    def build(cls, *, method: str, target: str, headers: dict[str, str],
              body: bytes = b"") -> Request:
        """A request from a raw target (``/path?query``), header names in any case."""
        path, _, query = target.partition("?")
        return cls(
            method=method.upper(),
            path=path,
            query=parse_qs(query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body parsed as JSON; 400 JSON_PARSER_ERROR when it is not JSON."""
        return parse_json(self.body)


def parse_json(body: bytes) -> Any:
    """Parse a JSON request body the way Salesforce reports failures."""
    if not body.strip():
        # What Salesforce answers for a POST/PATCH with no body at all.
        raise SalesforceApiError.single(
            400, "JSON_PARSER_ERROR",
            "No content to map due to end-of-input at [line:1, column:0]",
        )
    try:
        text = body.decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise SalesforceApiError.single(
            400, "JSON_PARSER_ERROR",
            f"Invalid UTF-8 start byte at [line:1, column:{exc.start + 1}]",
        ) from exc
    except json.JSONDecodeError as exc:
        raise SalesforceApiError.single(
            400, "JSON_PARSER_ERROR",
            f"Unexpected character ({_char_at(exc)}): expected a valid value "
            f"(number, String, array, object, 'true', 'false' or 'null') "
            f"at [line:{exc.lineno}, column:{exc.colno}]",
        ) from exc


def _char_at(exc: json.JSONDecodeError) -> str:
    if exc.pos >= len(exc.doc):
        return "end-of-input"
    ch = exc.doc[exc.pos]
    return f"'{ch}' (code {ord(ch)})"


@dataclass
class Response:
    """One HTTP response. ``error_code`` records what an error answer was, for accounting."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    error_code: str | None = None
    counted: bool = False  # set by the dispatcher: this call used API allocation

    @classmethod
    def json(cls, status: int, data: Any, *, headers: list[tuple[str, str]] | None = None
             ) -> Response:
        """A JSON response."""
        return cls(
            status=status,
            body=json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
            content_type=JSON_TYPE,
            headers=list(headers or []),
        )

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        """A response without a body (204 No Content)."""
        return cls(status=status)

    @classmethod
    def from_error(cls, error: SalesforceApiError) -> Response:
        """The Salesforce JSON error list for an error."""
        errors = error.errors or [ErrorDetail("UNKNOWN_EXCEPTION", "An unexpected error occurred.")]
        response = cls.json(error.status, [e.rest_json() for e in errors])
        response.error_code = errors[0].error_code
        if error.status == 401:
            response.headers.append(("WWW-Authenticate", "Token"))
        return response

    def json_body(self) -> Any:
        """The body parsed back (composite embeds subresponses as JSON values)."""
        if not self.body:
            return None
        if self.content_type is not None and self.content_type.startswith("application/json"):
            return json.loads(self.body)
        return self.body.decode("utf-8")

    def header(self, name: str) -> str | None:
        """The first response header with this name (case-insensitive)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def not_found() -> SalesforceApiError:
    """Salesforce's answer for a path or object that does not exist."""
    # Salesforce puts errorCode first here; key order is cosmetic for JSON clients.
    return SalesforceApiError.single(404, "NOT_FOUND", "The requested resource does not exist")


def method_not_allowed(method: str, allowed: list[str]) -> SalesforceApiError:
    """405 for a known resource called with an unsupported HTTP method."""
    return SalesforceApiError.single(
        405, "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(allowed))}",
    )
