"""Bulk API 2.0 jobs waited for as a group: one sleep per round, each job polled when due.

A run starts several independent jobs (the pull's queries, apply's ingest jobs for
objects whose lookups are resolved); Salesforce works on them at the same time, and
the client waits once for all of them rather than sleeping through each in turn.
Each job is polled when its :class:`~sfrenew.salesforce.polling.PollPolicy` says it
may be done (by its size, then its progress), and the group sleeps until the earliest
of those moments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfrenew.salesforce.budget import CallKind
from sfrenew.salesforce.errors import BulkJobFailed, UnexpectedResponse
from sfrenew.salesforce.polling import PollPolicy
from sfrenew.salesforce.retry import Sleep
from sfrenew.salesforce.transport import Transport, decode_json

TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})


@dataclass
class _Watch:
    path: str  # jobs/ingest/{id} or jobs/query/{id}
    expected_rows: int | None
    started: float
    due: float
    processed: int = 0
    polled_at: float | None = None
    rate: float | None = None
    info: dict[str, Any] | None = None  # the final job info, once terminal


class JobGroup:
    """Jobs being waited for together (not thread-safe: one run's thread uses it)."""

    def __init__(self, transport: Transport, policy: PollPolicy, *, max_wait_seconds: float,
                 sleep: Sleep = time.sleep, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        self._t = transport
        self._policy = policy
        self._max_wait = max_wait_seconds
        # Polls wait for Salesforce to work, so they sleep for real even when the
        # retry policy's backoff is switched off (tests set the poll interval to 0).
        self._sleep = sleep
        self._now = monotonic
        self._jobs: dict[str, _Watch] = {}

    def add(self, path: str, *, expected_rows: int | None) -> None:
        """Watch the job at ``path`` (its first poll is due by its size)."""
        now = self._now()
        first = self._policy.next_interval(waited=0.0, expected_rows=expected_rows,
                                           processed=0, rate=None)
        self._jobs[path] = _Watch(path=path, expected_rows=expected_rows, started=now,
                                  due=now + first)

    @property
    def running(self) -> int:
        """Jobs added and not yet seen finished."""
        return sum(1 for w in self._jobs.values() if w.info is None)

    def wait_for(self, path: str) -> dict[str, Any]:
        """The final job info of ``path``, polling every running job of the group as it
        comes due meanwhile; the job is forgotten once returned."""
        watch = self._jobs[path]
        while watch.info is None:
            now = self._now()
            due = [w for w in self._jobs.values() if w.info is None and w.due <= now]
            if not due:
                self._sleep(min(w.due for w in self._jobs.values() if w.info is None) - now)
                continue
            for w in due:
                self._poll(w)
        del self._jobs[path]
        return watch.info

    def _poll(self, watch: _Watch) -> None:
        info = decode_json(self._t.request(CallKind.BULK_POLL, "GET", watch.path))
        if not isinstance(info, dict) or "state" not in info:
            raise UnexpectedResponse(f"no job state in the answer to {watch.path}")
        now = self._now()
        if info["state"] in TERMINAL:
            watch.info = info
            return
        waited = now - watch.started
        if waited >= self._max_wait:
            raise BulkJobFailed(f"{watch.path} still {info['state']} after {waited:.0f}s",
                                job_id=watch.path.rsplit("/", 1)[-1], state=str(info["state"]))
        processed = int(info.get("numberRecordsProcessed") or 0)
        since = watch.polled_at if watch.polled_at is not None else watch.started
        if processed > watch.processed and now > since:
            watch.rate = (processed - watch.processed) / (now - since)
        watch.processed, watch.polled_at = processed, now
        watch.due = now + self._policy.next_interval(
            waited=waited, expected_rows=watch.expected_rows, processed=processed,
            rate=watch.rate)
