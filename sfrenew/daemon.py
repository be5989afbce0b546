"""The daemon: one scheduler per state directory, runs one at a time, clean stops.

``STATE_DIR/daemon.lock`` (a :class:`sfrenew.locks.FileLock`: ``fcntl.flock``; the
kernel drops it when the process dies, even on ``kill -9``, so no stale lock needs a
clock to expire) is held for the daemon's life: a second daemon on the same state
refuses to start and names the PID holding it. Runs have their own lock, taken by the
runner (``run.lock``): a fire that finds a backfill running gets the one
:class:`sfrenew.locks.Busy` and waits for it (polling, until stop) instead of failing,
and the runner settles runs a crash left ``running``.

SIGTERM and Ctrl-C set the ``stop`` event: the run in flight finishes its chunk,
checkpoints and returns ``stopped``; the scheduler fires nothing new; exit 0.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any, Protocol

import structlog

from sfrenew.config import AppConfig
from sfrenew.jobs import JobSpec
from sfrenew.locks import Busy, FileLock
from sfrenew.logs import bound, outcome_level
from sfrenew.metrics import BIND_HOST, Metrics, MetricsServer
from sfrenew.runner import ProgressSink, RunOutcome, RunRequest
from sfrenew.scheduler import JobScheduler
from sfrenew.store import make_state_dir, open_store

log = structlog.get_logger(__name__)

DAEMON_LOCK = "daemon.lock"
DAEMON_STARTED = "daemon_started"
DAEMON_STOPPING = "daemon_stopping"
DAEMON_STOPPED = "daemon_stopped"
JOB_FINISHED = "job_finished"
JOB_FAILED = "job_failed"
WAITING_FOR_RUN = "waiting_for_run"
SECRET_NAMES = ("consumer_secret", "password", "security_token", "access_token")


class Executor(Protocol):
    """The runner's ``execute`` (injected so tests can stand in for it)."""

    def __call__(self, config: AppConfig, request: RunRequest, *,
                 clock: Callable[[], datetime], stop: threading.Event | None = None,
                 progress: ProgressSink | None = None) -> RunOutcome:
        """Run ``request`` and say what happened."""


def daemon_lock(config: AppConfig) -> FileLock:
    """The lock the daemon holds for its whole life."""
    return FileLock(config.state_dir / DAEMON_LOCK, purpose="the sfrenew daemon")


def known_secrets(config: AppConfig) -> set[str]:
    """Secret values the config refers to (for the log redactor); unresolvable ones are
    skipped, as the run itself will report them."""
    values: set[str] = set()
    for name in SECRET_NAMES:
        try:
            secret = config.salesforce.secret(name, base_dir=config.base_dir)
        except Exception:  # noqa: S112 (a missing secret is the run's error to report)
            continue
        if secret is not None:
            values.add(secret.reveal())
    return values


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop``. A second Ctrl-C kills as usual (an impatient
    operator keeps the last word); a repeated SIGTERM does not, because supervisors
    (``timeout``, some init systems) deliver it to the process and its group alike.
    Handlers are restored on exit."""
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        if not stop.is_set():
            log.info(DAEMON_STOPPING, signal=signal.Signals(signum).name)
        stop.set()
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, previous[signal.SIGINT])

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def outcome_fields(outcome: RunOutcome) -> dict[str, Any]:
    """The canonical fields of a finished run's log line."""
    stats = outcome.stats
    written = stats.get("written") or {}
    return {"run_id": outcome.run_id, "status": outcome.status,
            "pulled": sum(int(v) for v in (stats.get("pulled") or {}).values()),
            "created": sum(int(c.get("created", 0)) for c in written.values()),
            "updated": sum(int(c.get("updated", 0)) for c in written.values()),
            "rejected": sum(int(c.get("rejected", 0)) for c in written.values()),
            # OAuth logins are not API calls: Salesforce does not count them, nor do caps.
            "api_calls": sum(n for kind, n in outcome.api_calls.items() if kind != "auth"),
            "logins": outcome.api_calls.get("auth", 0),
            "api_calls_by_kind": dict(outcome.api_calls),
            # Renewals past their start, unsigned (rules.lapse): the desk's most urgent.
            "lapsed": int((stats.get("plan") or {}).get("lapsed", 0)),
            "duration_s": round(outcome.duration_s, 3), "message": outcome.message}


@dataclass
class JobFiring:
    """What the scheduler calls on each fire: wait for the run lock, run, account."""

    config: AppConfig
    executor: Executor
    clock: Callable[[], datetime]
    stop: threading.Event
    metrics: Metrics = field(default_factory=Metrics)
    busy_poll_s: float = 5.0
    # The org's remaining daily calls for the metrics gauge: one /limits call at most
    # every ``allocation_every_s`` (a run's own outcome does not carry it).
    allocation: Callable[[], int | None] | None = None
    allocation_every_s: float = 900.0
    _allocation_at: float | None = field(default=None, init=False, repr=False)

    def __call__(self, spec: JobSpec) -> None:
        with bound(job=spec.name):
            started = time.monotonic()
            try:
                outcome = self._execute(spec)
            except Exception:
                log.exception(JOB_FAILED, duration_s=round(time.monotonic() - started, 3))
                self.metrics.inc("sfrenew_runs_total", {"job": spec.name, "outcome": "failed"})
                return
            if outcome is None:
                return  # stopped while waiting for another run to end
            self.metrics.observe_run(job=spec.name, status=outcome.status, stats=outcome.stats,
                                     api_calls=outcome.api_calls,
                                     duration_s=outcome.duration_s, finished_at=self.clock())
            log.log(outcome_level(outcome.status), JOB_FINISHED, **outcome_fields(outcome))
            self._refresh_allocation()

    def _refresh_allocation(self) -> None:
        now = time.monotonic()
        if self.allocation is None or (self._allocation_at is not None
                                       and now - self._allocation_at < self.allocation_every_s):
            return
        self._allocation_at = now
        remaining = self.allocation()
        if remaining is not None:
            self.metrics.set_remaining(remaining)

    def _execute(self, spec: JobSpec) -> RunOutcome | None:
        told = False
        while not self.stop.is_set():
            try:
                return self.executor(self.config, spec.request(), clock=self.clock,
                                     stop=self.stop)
            except Busy as exc:
                if not told:
                    log.info(WAITING_FOR_RUN, reason=str(exc))
                    told = True
                self.stop.wait(self.busy_poll_s)
        return None


def serve(config: AppConfig, specs: list[JobSpec], *, executor: Executor,
          clock: Callable[[], datetime], stop: threading.Event,
          metrics_port: int | None = None, metrics_host: str = BIND_HOST,
          allocation: Callable[[], int | None] | None = None) -> None:
    """Hold the daemon lock and fire ``specs`` until ``stop`` is set.

    ``allocation`` reads the org's remaining daily API calls (for the metrics, only
    with a metrics port). Raises :class:`sfrenew.locks.Busy` when another daemon serves the same
    state dir.
    """
    make_state_dir(config.state_dir)  # StoreConfigurationError names state_dir
    with daemon_lock(config):
        with open_store(config.store_url) as store:
            last_runs = {spec.name: run.started_at for spec in specs
                         if (run := store.last_run(spec.name)) is not None}
        metrics = Metrics()
        metrics.start(jobs=[spec.name for spec in specs], started_at=clock())
        server = MetricsServer(metrics, port=metrics_port, host=metrics_host).start() \
            if metrics_port is not None else None
        scheduler = JobScheduler(JobFiring(config=config, executor=executor, clock=clock,
                                           stop=stop, metrics=metrics,
                                           allocation=allocation if server else None))
        try:
            scheduler.add_all(specs, now=clock(), last_runs=last_runs)
            scheduler.start()
            log.info(DAEMON_STARTED, pid=os.getpid(), state_dir=str(config.state_dir),
                     metrics_port=server.port if server else None,
                     jobs={name: when.isoformat() if when else None
                           for name, when in scheduler.next_fire_times().items()})
            while not stop.wait(0.5):
                pass
        finally:
            stop.set()
            scheduler.shutdown(wait=True)  # the run in flight ends at its next chunk
            if server is not None:
                server.close()
    log.info(DAEMON_STOPPED)
