"""API usage and call accounting for the local org.

One ``Accounting`` object per running org counts what clients did: the API usage
Salesforce reports in ``Sforce-Limit-Info`` and ``/limits`` (``DailyApiRequests``),
calls by kind (what benchmarks measure API efficiency with) and errors by code.

Counters are in memory and thread-safe. API usage itself is a
:class:`~sfrenew.localorg.allocation.DailyAllocation` (persisted in the data dir,
reset when the org clock's UTC day changes); ``check_allocation`` is the single
place a call is refused for lack of allocation.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sfrenew.localorg.allocation import DEFAULT_DAILY_API_REQUESTS, DailyAllocation

__all__ = ["DEFAULT_DAILY_API_REQUESTS", "Accounting", "CallKind"]
BULK_PREFIX = "bulk_"


class CallKind(StrEnum):
    """What a request was, for accounting."""

    QUERY_PAGE = "query_page"  # query, queryAll and every further page of either
    SOBJECT = "sobject"  # single-record get/create/update/delete/upsert
    COLLECTIONS = "collections"  # /composite/sobjects
    COMPOSITE = "composite"  # /composite (one call, up to 25 subrequests)
    DESCRIBE = "describe"  # global and per-object describe, basic info
    LIMITS = "limits"
    SEARCH = "search"  # SOSL search and recent items
    REPLICATION = "replication"  # sobjects/{Type}/updated and /deleted
    VERSIONS = "versions"  # /services/data/ and /services/data/vNN.0/
    AUTH = "auth"  # OAuth token endpoint and SOAP login
    ADMIN = "admin"  # /_localorg/... (not Salesforce)
    OTHER = "other"  # unknown paths, rejected requests
    # Bulk API 2.0, by endpoint (what the Bulk benchmarks count).
    BULK_INGEST_CREATE = "bulk_ingest_create"
    BULK_INGEST_UPLOAD = "bulk_ingest_upload"
    BULK_INGEST_STATE = "bulk_ingest_state"  # PATCH: close (UploadComplete) or abort
    BULK_INGEST_POLL = "bulk_ingest_poll"  # GET job info
    BULK_INGEST_RESULTS = "bulk_ingest_results"  # successful/failed/unprocessed results
    BULK_INGEST_LIST = "bulk_ingest_list"
    BULK_INGEST_DELETE = "bulk_ingest_delete"
    BULK_QUERY_CREATE = "bulk_query_create"
    BULK_QUERY_STATE = "bulk_query_state"  # PATCH: abort
    BULK_QUERY_POLL = "bulk_query_poll"
    BULK_QUERY_RESULTS = "bulk_query_results"  # one call per results page
    BULK_QUERY_LIST = "bulk_query_list"
    BULK_QUERY_DELETE = "bulk_query_delete"


class Accounting:
    """Thread-safe counters of API usage, calls by kind and errors by code."""

    def __init__(self, *, daily_api_requests: int = DEFAULT_DAILY_API_REQUESTS,
                 allocation: DailyAllocation | None = None) -> None:
        self._lock = threading.Lock()
        self.allocation = allocation or DailyAllocation(
            clock=lambda: datetime.now(UTC), daily_api_requests=daily_api_requests)
        self._calls: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._row_errors: Counter[str] = Counter()

    @property
    def api_max(self) -> int:
        """The daily allocation (``DailyApiRequests.Max``)."""
        return self.allocation.maximum

    @property
    def api_used(self) -> int:
        """API requests counted so far today."""
        return self.allocation.used()

    def check_allocation(self) -> None:
        """Refuse a counted call when the allocation is spent (403 REQUEST_LIMIT_EXCEEDED)."""
        self.allocation.check()

    def record_call(self, kind: CallKind, *, counted: bool) -> int:
        """Count one call of ``kind``; ``counted`` calls use API allocation. Returns usage."""
        with self._lock:
            self._calls[kind.value] += 1
        return self.allocation.spend() if counted else self.allocation.used()

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
        return f"api-usage={self.allocation.used()}/{self.allocation.maximum}"

    def remaining(self) -> int:
        """API requests left in the allocation."""
        return self.allocation.remaining()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        allocation = self.allocation.snapshot()
        with self._lock:
            calls = dict(sorted(self._calls.items()))
            return {
                "api_usage": {"used": allocation["api_used"], "max": allocation["max"]},
                "allocation": allocation,
                "calls": calls,
                "bulk": {k.removeprefix(BULK_PREFIX): v for k, v in calls.items()
                         if k.startswith(BULK_PREFIX)},
                "total_calls": sum(calls.values()),
                "errors": dict(sorted(self._errors.items())),
                "row_errors": dict(sorted(self._row_errors.items())),
            }

    def reset(self) -> None:
        """Zero every counter (today's API usage and Bulk counters included)."""
        self.allocation.reset()
        with self._lock:
            self._calls.clear()
            self._errors.clear()
            self._row_errors.clear()
