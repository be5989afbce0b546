"""What a run is asked to do and what it reports back: plain values, no I/O.

The job specs, the CLI and the daemon build a :class:`RunRequest`; the runner answers
with a :class:`RunOutcome` and reports progress to a :class:`ProgressSink`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


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
    written to some rule sets (see :mod:`sfrenew.plan.rulesets`); ``full_plan``
    plans every account again instead of only what changed (``run.full_plan`` too).
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
    # rule sets to write: renewals, risk, cadence, analytics (empty: all but analytics)
    rules: tuple[str, ...] = ()
    full_plan: bool = False  # plan every account again (else only what changed)
    # A backfill chunk on the job queue: the run holds this lock and the org's run lock
    # *shared* (chunks of one backfill run side by side; a nightly run excludes them all),
    # and settles only its own crashed writes, never another chunk's in flight.
    chunk_lock: str | None = None


class ProgressSink(Protocol):
    """Where a run reports progress (a rich progress bar, a job queue, a test)."""

    def start(self, phase: str, total: int | None) -> None:
        """A phase begins; ``total`` units when known."""

    def advance(self, phase: str, n: int = 1) -> None:
        """``n`` more units of the phase are done."""

    def finish(self, phase: str) -> None:
        """The phase is over."""


class NoProgress:
    """A ProgressSink that shows nothing."""

    def start(self, phase: str, total: int | None) -> None:
        """Nothing to show."""

    def advance(self, phase: str, n: int = 1) -> None:
        """Nothing to show."""

    def finish(self, phase: str) -> None:
        """Nothing to show."""


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
