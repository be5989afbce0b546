"""Latency and fault injection: the local org made slow, flaky and crowded on purpose.

``FaultConfig`` is a frozen value (given to ``LocalOrg(faults=...)``, the ``serve``
options, or ``POST /_localorg/faults`` at run time). ``FaultInjector`` applies it:

* as a ``CallHook`` before each counted REST call: fixed latency plus jitter; a
  concurrency cap on long-running requests (403 ``REQUEST_LIMIT_EXCEEDED``, with the
  ``Sforce-Limit-Info`` header showing allocation left, so a client can tell it from
  the daily limit, see ADR 0002); 503 ``SERVER_UNAVAILABLE``; ``QUERY_TIMEOUT`` on
  query calls;
* on single rows of writes (``FaultyStore``): ``UNABLE_TO_LOCK_ROW`` for a share of
  the rows of sObject, Collections, composite and Bulk saves;
* per Bulk job: extra processing time.

Every fault stream has its own ``random.Random`` seeded from the config's seed and
the stream's name, so the same seed and the same sequence of calls give the same
faults, and a failing test can be replayed.
"""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sfrenew.localorg.accounting import CallKind
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.wire import Request

_QUERY_KINDS = frozenset({CallKind.QUERY_PAGE, CallKind.BULK_QUERY_CREATE})
_STREAMS = ("latency", "unavailable", "lock_row", "query_timeout", "bulk_job")


@dataclass(frozen=True)
class FaultConfig:
    """What to inject. Rates are probabilities in [0, 1]; times are milliseconds."""

    seed: int = 0
    latency_ms: float = 0.0  # added to every counted call
    jitter_ms: float = 0.0  # plus a uniform random 0..jitter_ms
    bulk_job_ms: float = 0.0  # extra processing time of each Bulk job
    server_unavailable_rate: float = 0.0  # 503 SERVER_UNAVAILABLE
    lock_row_rate: float = 0.0  # UNABLE_TO_LOCK_ROW per written row
    query_timeout_rate: float = 0.0  # QUERY_TIMEOUT on query calls
    max_long_running: int = 0  # concurrent long-running requests allowed; 0 = no cap
    long_running_ms: float = 0.0  # a request counts as long-running after this long
    session_lifetime_s: float | None = None  # None = the org's setting

    def __post_init__(self) -> None:
        for name in ("server_unavailable_rate", "lock_row_rate", "query_timeout_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("latency_ms", "jitter_ms", "bulk_job_ms", "long_running_ms",
                     "max_long_running"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.session_lifetime_s is not None and self.session_lifetime_s <= 0:
            raise ValueError("session_lifetime_s must be positive")

    def with_changes(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with some fields changed (unknown names are a ``ValueError``)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return dataclasses.asdict(self)


def server_unavailable() -> SalesforceApiError:
    """503 as Salesforce answers during an instance problem or maintenance."""
    return SalesforceApiError.single(503, "SERVER_UNAVAILABLE",
                                     "Server temporarily unavailable. Please try again later.")


def query_timeout() -> SalesforceApiError:
    """400 QUERY_TIMEOUT, Salesforce's answer for a query that ran too long."""
    return SalesforceApiError.single(400, "QUERY_TIMEOUT",
                                     "Your query request was running for too long.")


def concurrent_limit() -> SalesforceApiError:
    """403 for too many concurrent long-running requests (not the daily limit)."""
    return SalesforceApiError.single(403, "REQUEST_LIMIT_EXCEEDED",
                                     "ConcurrentPerOrgLongTxn Limit exceeded.")


def unable_to_lock_row() -> SalesforceApiError:
    """A row that another transaction holds (a save's error, so it lists fields)."""
    return SalesforceApiError.dml("UNABLE_TO_LOCK_ROW",
                                  "unable to obtain exclusive access to this record")


class FaultInjector:
    """Applies a ``FaultConfig``; replace it at run time with ``configure``. Thread-safe."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[int, float] = {}  # request key -> start (monotonic)
        self._keys = iter(range(1, 2**62))
        self._injected: dict[str, int] = {}
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """The settings in force."""
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig) -> None:
        """Apply new settings; every fault stream restarts from the seed."""
        with self._lock:
            self._config = config
            self._random = {name: random.Random(f"{config.seed}:{name}")  # noqa: S311
                            for name in _STREAMS}

    def in_flight(self) -> int:
        """Counted calls being served right now (those the concurrency cap looks at)."""
        with self._lock:
            return len(self._in_flight)

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected (for stats)."""
        with self._lock:
            return dict(sorted(self._injected.items()))

    def _draw(self, stream: str, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            hit = self._random[stream].random() < rate
            if hit:
                self._injected[stream] = self._injected.get(stream, 0) + 1
            return hit

    # --- CallHook ------------------------------------------------------------------

    def before_call(self, request: Request, *, kind: CallKind) -> None:  # noqa: ARG002
        """Cap, latency, 503 and QUERY_TIMEOUT for one counted call."""
        config = self.config
        key = self._enter(config)
        try:
            delay = config.latency_ms
            if config.jitter_ms > 0:
                with self._lock:
                    delay += self._random["latency"].uniform(0, config.jitter_ms)
            if delay > 0:
                time.sleep(delay / 1000)
            if self._draw("unavailable", config.server_unavailable_rate):
                raise server_unavailable()
            if kind in _QUERY_KINDS and self._draw("query_timeout", config.query_timeout_rate):
                raise query_timeout()
        except BaseException:
            self._leave(key)
            raise
        _current.key = key

    def after_call(self, request: Request, *, kind: CallKind) -> None:  # noqa: ARG002
        """The call is answered: it no longer counts towards the concurrency cap."""
        key = getattr(_current, "key", None)
        if key is not None:
            _current.key = None
            self._leave(key)

    def _enter(self, config: FaultConfig) -> int:
        now = time.monotonic()
        threshold = config.long_running_ms / 1000
        with self._lock:
            if config.max_long_running > 0:
                long_running = sum(1 for start in self._in_flight.values()
                                   if now - start >= threshold)
                if long_running >= config.max_long_running:
                    self._injected["concurrency"] = self._injected.get("concurrency", 0) + 1
                    raise concurrent_limit()
            key = next(self._keys)
            self._in_flight[key] = now
            return key

    def _leave(self, key: int) -> None:
        with self._lock:
            self._in_flight.pop(key, None)

    # --- rows and jobs -----------------------------------------------------------------

    def check_row(self) -> None:
        """Maybe refuse one row of a write with UNABLE_TO_LOCK_ROW."""
        if self._draw("lock_row", self.config.lock_row_rate):
            raise unable_to_lock_row()

    def bulk_job_delay(self) -> float:
        """Seconds of extra processing time for one Bulk job."""
        return self.config.bulk_job_ms / 1000


_current = threading.local()  # the in-flight key of the request this thread serves


class FaultyStore:
    """The org store with ``UNABLE_TO_LOCK_ROW`` injected on single-row writes."""

    def __init__(self, store: StorePort, faults: FaultInjector) -> None:
        self._store = store
        self._faults = faults

    def create(self, sobject: str, values: dict[str, Any], *, user_id: str) -> str:
        """Insert a record, unless the row is 'locked'."""
        self._faults.check_row()
        return self._store.create(sobject, values, user_id=user_id)

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *,
               user_id: str) -> None:
        """Update a record, unless the row is 'locked'."""
        self._faults.check_row()
        self._store.update(sobject, record_id, values, user_id=user_id)

    def delete(self, sobject: str, record_id: str, *, user_id: str) -> None:
        """Delete a record, unless the row is 'locked'."""
        self._faults.check_row()
        self._store.delete(sobject, record_id, user_id=user_id)

    def upsert(self, sobject: str, ext_field: str, ext_value: Any, values: dict[str, Any], *,
               user_id: str) -> tuple[str, bool]:
        """Upsert a record, unless the row is 'locked'."""
        self._faults.check_row()
        return self._store.upsert(sobject, ext_field, ext_value, values, user_id=user_id)

    def get(self, sobject: str, record_id: str, fields: list[str] | None = None, *,
            api_version: str) -> dict[str, Any]:
        """Reads are never faulted."""
        return self._store.get(sobject, record_id, fields, api_version=api_version)

    def transaction(self) -> AbstractContextManager[Any]:
        """The store's transaction."""
        return self._store.transaction()

    def read_connection(self) -> sqlite3.Connection:
        """The store's read connections."""
        return self._store.read_connection()

