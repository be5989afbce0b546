"""The org's daily API allocation and Bulk counters, persisted in the data dir.

Salesforce gives an org ``DailyApiRequests`` of 100,000 plus a share per licence
(1,000 each for Enterprise Edition) over a rolling 24 hours; the local org uses the
UTC day of its own clock instead, so a test or benchmark can predict exactly when
usage resets. Usage survives restarts: it is written to ``allocation.json`` in the
data dir (atomically, on every change) and read back on start. The same file keeps
the day's Bulk counters that ``/limits`` shows.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.sessions import Clock

log = logging.getLogger(__name__)

ALLOCATION_FILE = "allocation.json"
DEFAULT_DAILY_API_REQUESTS = 100_000
REQUESTS_PER_LICENSE = 1_000
# Bulk maxima of an Enterprise org, as /limits reports them.
MAX_BULK_API_BATCHES = 15_000
MAX_BULK_V2_QUERY_JOBS = 10_000
MAX_BULK_V2_QUERY_STORAGE_MB = 976_562
_FILE_VERSION = 1


def request_limit_exceeded() -> SalesforceApiError:
    """Salesforce's answer when the daily allocation is spent."""
    return SalesforceApiError.single(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


@dataclass
class _Usage:
    day: str
    api_used: int = 0
    bulk_batches: int = 0
    query_jobs: int = 0
    query_storage_bytes: int = 0


class DailyAllocation:
    """API usage against the day's allocation, and the day's Bulk counters. Thread-safe."""

    def __init__(self, *, clock: Clock, path: Path | None = None,
                 daily_api_requests: int = DEFAULT_DAILY_API_REQUESTS, licenses: int = 0) -> None:
        if daily_api_requests < 0 or licenses < 0:
            raise ValueError("the allocation and the licence count must not be negative")
        self._clock = clock
        self._path = path
        self._base = daily_api_requests
        self._licenses = licenses
        self._lock = threading.Lock()
        self._usage = self._load()

    # --- the allocation --------------------------------------------------------------

    @property
    def maximum(self) -> int:
        """``DailyApiRequests.Max``: the base allocation plus the licences' share."""
        return self._base + self._licenses * REQUESTS_PER_LICENSE

    def used(self) -> int:
        """Requests counted today."""
        with self._lock:
            return self._today().api_used

    def remaining(self) -> int:
        """Requests left today."""
        with self._lock:
            return max(self.maximum - self._today().api_used, 0)

    def check(self) -> None:
        """403 REQUEST_LIMIT_EXCEEDED when today's allocation is spent."""
        with self._lock:
            spent = self._today().api_used >= self.maximum
        if spent:
            raise request_limit_exceeded()

    def spend(self) -> int:
        """Count one request; today's usage after it."""
        with self._lock:
            usage = self._today()
            usage.api_used += 1
            self._save()
            return usage.api_used

    def configure(self, *, daily_api_requests: int | None = None, licenses: int | None = None,
                  used: int | None = None) -> None:
        """Change the allocation at run time (admin path), or set today's usage."""
        for value in (daily_api_requests, licenses, used):
            if value is not None and value < 0:
                raise ValueError("allocation settings must not be negative")
        with self._lock:
            if daily_api_requests is not None:
                self._base = daily_api_requests
            if licenses is not None:
                self._licenses = licenses
            if used is not None:
                self._today().api_used = used
            self._save()

    def reset(self) -> None:
        """Forget today's usage and Bulk counters."""
        with self._lock:
            self._usage = _Usage(day=self._day())
            self._save()

    # --- Bulk counters -----------------------------------------------------------------

    def record_bulk_batches(self, count: int) -> None:
        """Count ``DailyBulkApiBatches`` (one per 10,000 ingested rows)."""
        with self._lock:
            self._today().bulk_batches += count
            self._save()

    def record_query_job(self) -> None:
        """Count one ``DailyBulkV2QueryJobs``."""
        with self._lock:
            self._today().query_jobs += 1
            self._save()

    def record_query_storage(self, size_bytes: int) -> None:
        """Count query result bytes towards ``DailyBulkV2QueryFileStorageMB``."""
        with self._lock:
            self._today().query_storage_bytes += size_bytes
            self._save()

    def limits(self) -> dict[str, dict[str, int]]:
        """The live entries of ``/limits``."""
        with self._lock:
            usage = self._today()
            storage_mb = math.ceil(usage.query_storage_bytes / (1024 * 1024))
            return {
                "DailyApiRequests": {"Max": self.maximum,
                                     "Remaining": max(self.maximum - usage.api_used, 0)},
                "DailyBulkApiBatches": {
                    "Max": MAX_BULK_API_BATCHES,
                    "Remaining": max(MAX_BULK_API_BATCHES - usage.bulk_batches, 0)},
                "DailyBulkV2QueryJobs": {
                    "Max": MAX_BULK_V2_QUERY_JOBS,
                    "Remaining": max(MAX_BULK_V2_QUERY_JOBS - usage.query_jobs, 0)},
                "DailyBulkV2QueryFileStorageMB": {
                    "Max": MAX_BULK_V2_QUERY_STORAGE_MB,
                    "Remaining": max(MAX_BULK_V2_QUERY_STORAGE_MB - storage_mb, 0)},
            }

    def snapshot(self) -> dict[str, Any]:
        """Today's counters and the allocation settings (for stats)."""
        with self._lock:
            usage = self._today()
            return {**asdict(usage), "max": self.maximum, "base": self._base,
                    "licenses": self._licenses}

    # --- persistence -----------------------------------------------------------------

    def _day(self) -> str:
        return self._clock().astimezone(UTC).date().isoformat()

    def _today(self) -> _Usage:
        """Today's usage; a new UTC day starts from zero (caller holds the lock)."""
        day = self._day()
        if self._usage.day != day:
            self._usage = _Usage(day=day)
            self._save()
        return self._usage

    def _load(self) -> _Usage:
        today = self._day()
        if self._path is None or not self._path.exists():
            return _Usage(day=today)
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            if data.get("version") != _FILE_VERSION:
                raise ValueError(f"unknown allocation file version {data.get('version')!r}")
            usage = _Usage(day=str(data["day"]), api_used=int(data["api_used"]),
                           bulk_batches=int(data.get("bulk_batches", 0)),
                           query_jobs=int(data.get("query_jobs", 0)),
                           query_storage_bytes=int(data.get("query_storage_bytes", 0)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Refusing to start over a counter file would lock the user out of the org;
            # starting the day over is the lesser evil, and it is logged.
            log.warning("ignoring unreadable %s (%s); usage starts at zero", self._path, exc)
            return _Usage(day=today)
        return usage if usage.day == today else _Usage(day=today)

    def _save(self) -> None:
        if self._path is None:
            return
        payload = json.dumps({"version": _FILE_VERSION, **asdict(self._usage)})
        temporary = self._path.with_name(self._path.name + ".tmp")
        temporary.write_text(payload, encoding="utf-8")
        os.replace(temporary, self._path)
