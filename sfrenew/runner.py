"""The runner: one run of a job, wiring pull → plan → apply → report together.

This is the only place that wires I/O (the gateway, the state store, the clock) to
the functional core. The scheduler, the backfill command and the CLI all call
:func:`execute` with a :class:`RunRequest`; what happened comes back as a
:class:`RunOutcome` and is kept in the store's ``runs`` table.

Stopping: ``stop`` is checked between chunks (pull pages batches, planned accounts,
write chunks); the chunk in flight is finished, a checkpoint is saved and the run
ends ``stopped``. ``resume_run_id`` continues a stopped or crashed run from its
checkpoint: accounts already planned and applied are not redone, and writes whose
outcome is unknown (an intent without a result) are looked up in the org first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sfrenew.config import AppConfig
from sfrenew.store import open_store


class Step(StrEnum):
    """The steps of a run, in the order they execute."""

    PULL = "pull"
    PLAN = "plan"
    APPLY = "apply"
    REPORT = "report"


@dataclass(frozen=True)
class RunRequest:
    """What to run: the job's name, its steps and the scope.

    ``accounts`` limits planning and applying to those Account Ids (empty: all);
    ``contract_end_from``/``contract_end_to`` limit it to contracts ending in that
    window (a backfill chunk); ``horizon_days`` overrides the rules' horizon;
    ``max_api_calls`` caps this run's calls below the config's cap; ``dry_run``
    plans (and reports) but writes nothing to Salesforce; ``rules`` limits what is
    written to some rule sets (see :mod:`sfrenew.plan.rulesets`).
    """

    job: str
    steps: tuple[Step, ...]
    dry_run: bool = False
    accounts: tuple[str, ...] = ()
    contract_end_from: date | None = None
    contract_end_to: date | None = None
    horizon_days: int | None = None
    max_api_calls: int | None = None
    resume_run_id: str | None = None
    kind: str = "run"
    plan_file: Path | None = None  # apply exactly this saved plan (no pull, no plan)
    rules: tuple[str, ...] = ()  # rule sets to write: renewals, risk, cadence (empty: all)


class ProgressSink(Protocol):
    """Where a run reports progress (a rich progress bar, a job queue, a test)."""

    def start(self, phase: str, total: int | None) -> None:
        """A phase begins; ``total`` units when known."""

    def advance(self, phase: str, n: int = 1) -> None:
        """``n`` more units of the phase are done."""

    def finish(self, phase: str) -> None:
        """The phase is over."""


@dataclass(frozen=True)
class RunOutcome:
    """What a run did: status is a ``RunStatus`` value (succeeded, stopped, failed…).

    ``stats`` is the store's RunStats JSON (rows pulled per object, records
    created/updated/skipped/rejected per object) plus the plan's counts;
    ``api_calls`` the calls by kind; ``message`` one sentence for people.
    """

    run_id: str
    status: str
    stats: dict[str, Any]
    api_calls: dict[str, int]
    duration_s: float
    message: str


class _NoProgress:
    def start(self, phase: str, total: int | None) -> None:
        """Nothing to show."""

    def advance(self, phase: str, n: int = 1) -> None:
        """Nothing to show."""

    def finish(self, phase: str) -> None:
        """Nothing to show."""


def execute(config: AppConfig, request: RunRequest, *, clock: Callable[[], datetime],
            stop: threading.Event | None = None,
            progress: ProgressSink | None = None) -> RunOutcome:
    """Run ``request`` under ``config`` and return what happened (see module docstring).

    What the org or the data did (budget spent, transient failures after retries,
    rejected rows, bad records, a configuration the org refuses) is the outcome's
    status and message, and the run is recorded with it. Only bugs raise (after the
    run is recorded as failed). :class:`RunBusy` when another run holds the state.
    """
    # The session module needs this module's types: imported here, not at the top.
    from sfrenew.apply.session import LOCK_NAME, RunSession, state_lock  # noqa: PLC0415

    started = time.monotonic()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(config.store_url)
    try:
        with state_lock(config.state_dir), store.advisory_lock(LOCK_NAME):
            session = RunSession(config=config, request=request, store=store, clock=clock,
                                 stop=stop, progress=progress or _NoProgress())
            return session.run(started)
    finally:
        store.close()
