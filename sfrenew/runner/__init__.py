"""The runner: one run of a job, wiring pull → plan → apply → report together.

This is the only place that wires I/O (the gateway, the state store, the locks, the
clock, progress) to the steps. The steps (:mod:`sfrenew.pull`, :mod:`sfrenew.plan`,
:mod:`sfrenew.apply`) take what they need as arguments and none imports the runner.
The scheduler, the backfill command and the CLI all call :func:`execute` with a
:class:`RunRequest`; what happened comes back as a :class:`RunOutcome` and is kept in
the store's ``runs`` table.

Stopping: ``stop`` is checked between chunks (pull pages batches, planned accounts,
write chunks); the chunk in flight is finished, a checkpoint is saved and the run
ends ``stopped``. ``resume_run_id`` continues a stopped or crashed run from its
checkpoint (a typed, versioned :class:`Checkpoint`): accounts already planned and
applied are not redone, and writes whose outcome is unknown (an intent without a
result) are looked up in the org first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sfrenew.config import AppConfig
from sfrenew.plan.build import plan_objects
from sfrenew.runner._checkpoint import (
    CHECKPOINT_VERSION,
    Checkpoint,
    CheckpointVersionError,
    Phase,
)
from sfrenew.runner._request import NoProgress, ProgressSink, RunOutcome, RunRequest, Step
from sfrenew.runner._resume import NotResumable
from sfrenew.runner._rollback import rollback_session
from sfrenew.runner._session import RunSession
from sfrenew.runner._wiring import (
    LOCK_NAME,
    RUN_LOCK,
    OrgProblem,
    effective_policy,
    open_gateway,
    org_lock_name,
    remaining_allocation,
    run_locks,
)
from sfrenew.store import make_state_dir, open_store

__all__ = [
    "CHECKPOINT_VERSION",
    "LOCK_NAME",
    "RUN_LOCK",
    "Checkpoint",
    "CheckpointVersionError",
    "NotResumable",
    "OrgProblem",
    "Phase",
    "ProgressSink",
    "RunOutcome",
    "RunRequest",
    "Step",
    "effective_policy",
    "execute",
    "open_gateway",
    "org_lock_name",
    "planned_accounts",
    "remaining_allocation",
    "rollback_session",
]


def planned_accounts(config: AppConfig) -> list[str]:
    """The Account Ids a plan goes through (the mirror's account groups), sorted: a
    chunked backfill (:mod:`sfrenew.queue`) splits them into ranges after its pull."""
    with open_store(config.store_url) as store:
        return sorted(store.group_keys(plan_objects(config.mapping)))


def execute(config: AppConfig, request: RunRequest, *, clock: Callable[[], datetime],
            stop: threading.Event | None = None,
            progress: ProgressSink | None = None,
            shared_budget: Callable[[int], bool] | None = None) -> RunOutcome:
    """Run ``request`` under ``config`` and return what happened (see module docstring).

    What the org or the data did (budget spent, transient failures after retries,
    rejected rows, bad records, a configuration the org refuses) is the outcome's
    status and message, and the run is recorded with it. Only bugs raise (after the
    run is recorded as failed). :class:`sfrenew.locks.Busy` when another run holds the
    state; :class:`CheckpointVersionError` when the run to resume was saved by an
    sfrenew this one does not understand; :class:`NotResumable` when the run to resume
    is not one this request can continue (a plan, another kind, a finished run, another
    config). ``shared_budget`` draws the run's API calls from a budget shared with other
    runs (a chunked backfill's, see :mod:`sfrenew.queue`).
    """
    started = time.monotonic()
    make_state_dir(config.state_dir)
    store = open_store(config.store_url)
    try:
        with run_locks(config, store, request):
            session = RunSession(config=config, request=request, store=store, clock=clock,
                                 stop=stop, progress=progress or NoProgress(),
                                 shared_budget=shared_budget)
            return session.run(started)
    finally:
        store.close()
