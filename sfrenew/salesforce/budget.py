"""API accounting: calls counted by kind, and the guard that keeps a run within its share.

Salesforce counts every REST call (query pages, Collections, Bulk job steps, polls)
against the org's daily allocation; OAuth and SOAP logins are not counted. The guard
is asked *before* each counted call, so the call that would cross a limit is never
sent, and the error says how far the run got and what is left.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sfrenew.salesforce.errors import ApiUsage, BudgetExhausted


class CallKind(StrEnum):
    """What an API call was (the local org and benchmarks use the same names)."""

    QUERY_PAGE = "query_page"
    SOBJECT = "sobject"
    COLLECTIONS = "collections"
    COMPOSITE = "composite"
    BULK_JOB = "bulk_job"
    BULK_UPLOAD = "bulk_upload"
    BULK_POLL = "bulk_poll"
    BULK_RESULTS = "bulk_results"
    DESCRIBE = "describe"
    LIMITS = "limits"
    AUTH = "auth"

    @property
    def uses_allocation(self) -> bool:
        """Whether Salesforce charges this kind of call to the daily allocation."""
        return self is not CallKind.AUTH


@dataclass
class CallCounter:
    """Calls sent, by kind (retries and repeats after a refresh included)."""

    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, kind: CallKind) -> None:
        """Count one call."""
        with self._lock:
            self._counts[kind.value] += 1

    def get(self, kind: CallKind) -> int:
        """Calls of one kind."""
        with self._lock:
            return self._counts[kind.value]

    @property
    def api_calls(self) -> int:
        """Calls charged to the daily allocation (everything but logins)."""
        with self._lock:
            return sum(n for k, n in self._counts.items() if CallKind(k).uses_allocation)

    @property
    def total(self) -> int:
        """Every call sent, logins included."""
        with self._lock:
            return sum(self._counts.values())

    def as_dict(self) -> dict[str, int]:
        """A JSON-ready copy, by kind, sorted."""
        with self._lock:
            return dict(sorted(self._counts.items()))


@dataclass
class BudgetGuard:
    """A run's share of the org's API allocation.

    ``max_calls_per_run`` caps the calls this run may make (None: no cap);
    ``reserve_calls`` and ``reserve_percent`` leave a floor of the org's daily
    allocation untouched for everyone else (the larger of the two applies).
    """

    max_calls_per_run: int | None = None
    reserve_calls: int = 0
    reserve_percent: float = 0.0
    resume_hint: str = "resume the run once more calls are available"
    # A budget shared with other runs (a chunked backfill's, kept in PostgreSQL): asked
    # for the calls this run has not yet drawn, before they are sent; False when spent.
    shared: Callable[[int], bool] | None = None
    _used: int = field(default=0, init=False)
    _drawn: int = field(default=0, init=False)  # calls drawn from ``shared``
    _usage: ApiUsage | None = field(default=None, init=False)
    _since_usage: int = field(default=0, init=False)  # calls since ``_usage`` was reported

    def __post_init__(self) -> None:
        if self.max_calls_per_run is not None and self.max_calls_per_run < 0:
            raise ValueError("max_calls_per_run must not be negative")
        if self.reserve_calls < 0 or not 0 <= self.reserve_percent <= 100:
            raise ValueError("reserve must be non-negative calls and 0-100 percent")

    @property
    def calls_used(self) -> int:
        """Calls this run made that count against the allocation."""
        return self._used

    @property
    def usage(self) -> ApiUsage | None:
        """The org's usage as last reported by Salesforce."""
        return self._usage

    def daily_remaining(self) -> int | None:
        """Calls left in the org's daily allocation (estimated since the last report)."""
        if self._usage is None:
            return None
        return max(self._usage.remaining - self._since_usage, 0)

    def floor(self) -> int:
        """Daily calls to leave untouched."""
        percent = 0
        if self._usage is not None:
            percent = math.ceil(self._usage.max * self.reserve_percent / 100)
        return max(self.reserve_calls, percent)

    def check(self, calls: int = 1) -> None:
        """Raise :class:`BudgetExhausted` if ``calls`` more counted calls would cross a limit.

        The transport asks for one call before each request; a write asks for all the
        calls it needs before its first one, so it is either sent whole or not at all.
        """
        if self.max_calls_per_run is not None and self._used + calls > self.max_calls_per_run:
            left = self.max_calls_per_run - self._used
            raise self.exhausted(f"run cap {self.max_calls_per_run:,} reached" if calls == 1
                                 else f"run cap {self.max_calls_per_run:,} leaves {left:,} "
                                      f"calls, {calls:,} needed")
        remaining = self.daily_remaining()
        floor = self.floor()
        if remaining is not None and remaining - calls < floor:
            reason = f"reserve of {floor:,} daily calls reached" if floor \
                else "daily allocation spent"
            raise self.exhausted(reason if calls == 1 else f"{reason} ({calls:,} calls needed)")
        missing = self._used + calls - self._drawn
        if self.shared is not None and missing > 0:
            if not self.shared(missing):
                raise self.exhausted("the shared budget of the backfill is spent")
            self._drawn += missing

    def record_call(self) -> None:
        """Count one call that was sent."""
        self._used += 1
        self._since_usage += 1

    def observe(self, usage: ApiUsage | None) -> None:
        """Take the org's usage from a response header or ``/limits``."""
        if usage is not None:
            self._usage = usage
            self._since_usage = 0

    def exhausted(self, reason: str) -> BudgetExhausted:
        """The error that stops the run, saying what was used and what is left."""
        remaining = self.daily_remaining()
        daily_max = self._usage.max if self._usage else None
        left = (f"{remaining:,} of {daily_max:,} daily calls left"
                if remaining is not None and daily_max is not None
                else "daily allocation not reported yet")
        message = (f"stopped after {self._used:,} API calls: {reason}; {left}; "
                   f"{self.resume_hint}")
        return BudgetExhausted(message, calls_used=self._used, daily_remaining=remaining,
                               daily_max=daily_max, reason=reason)
