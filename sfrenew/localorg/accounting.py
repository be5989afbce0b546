"""API usage and call accounting for the local org.

One ``Accounting`` object per running org counts what clients did: the API usage
Salesforce reports in ``Sforce-Limit-Info`` and ``/limits`` (``DailyApiRequests``),
calls by kind (what benchmarks measure API efficiency with) and errors by code.

It is in memory and thread-safe. The daily allocation, persistence across restarts
and the reset at midnight belong to issue 3; they plug in here (``check_allocation``
is already the single place a call is refused for lack of allocation).
"""

from __future__ import annotations

import threading
from collections import Counter
from enum import StrEnum
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError

DEFAULT_DAILY_API_REQUESTS = 100_000


class CallKind(StrEnum):
    """What a request was, for accounting."""

    QUERY_PAGE = "query_page"  # query, queryAll and every further page of either
    SOBJECT = "sobject"  # single-record get/create/update/delete/upsert
    COLLECTIONS = "collections"  # /composite/sobjects
    COMPOSITE = "composite"  # /composite (one call, up to 25 subrequests)
    DESCRIBE = "describe"  # global and per-object describe, basic info
    LIMITS = "limits"
    VERSIONS = "versions"  # /services/data/ and /services/data/vNN.0/
    AUTH = "auth"  # OAuth token endpoint and SOAP login
    ADMIN = "admin"  # /_localorg/... (not Salesforce)
    OTHER = "other"  # unknown paths, rejected requests


class Accounting:
    """Thread-safe counters of API usage, calls by kind and errors by code."""

    def __init__(self, *, daily_api_requests: int = DEFAULT_DAILY_API_REQUESTS) -> None:
        self._lock = threading.Lock()
        self._api_max = daily_api_requests
        self._api_used = 0
        self._calls: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._row_errors: Counter[str] = Counter()

    @property
    def api_max(self) -> int:
        """The daily allocation (``DailyApiRequests.Max``)."""
        return self._api_max

    @property
    def api_used(self) -> int:
        """API requests counted so far."""
        with self._lock:
            return self._api_used

    def check_allocation(self) -> None:
        """Refuse a counted call when the allocation is spent (403 REQUEST_LIMIT_EXCEEDED)."""
        with self._lock:
            spent = self._api_used >= self._api_max
        if spent:
            raise SalesforceApiError.single(
                403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
            )

    def record_call(self, kind: CallKind, *, counted: bool) -> int:
        """Count one call of ``kind``; ``counted`` calls use API allocation. Returns usage."""
        with self._lock:
            self._calls[kind.value] += 1
            if counted:
                self._api_used += 1
            return self._api_used

    def record_error(self, error_code: str) -> None:
        """Count an error response (the first ``errorCode`` of its body)."""
        with self._lock:
            self._errors[error_code] += 1

    def record_row_errors(self, error_codes: list[str]) -> None:
        """Count per-row failures of a save (Collections, composite rows)."""
        if not error_codes:
            return
        with self._lock:
            self._row_errors.update(error_codes)

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value (``api-usage`` must come first)."""
        with self._lock:
            return f"api-usage={self._api_used}/{self._api_max}"

    def remaining(self) -> int:
        """API requests left in the allocation."""
        with self._lock:
            return max(self._api_max - self._api_used, 0)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            calls = dict(sorted(self._calls.items()))
            return {
                "api_usage": {"used": self._api_used, "max": self._api_max},
                "calls": calls,
                "total_calls": sum(calls.values()),
                "errors": dict(sorted(self._errors.items())),
                "row_errors": dict(sorted(self._row_errors.items())),
            }

    def reset(self) -> None:
        """Zero every counter (API usage included)."""
        with self._lock:
            self._api_used = 0
            self._calls.clear()
            self._errors.clear()
            self._row_errors.clear()
