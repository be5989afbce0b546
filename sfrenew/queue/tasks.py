"""What a queued job does: the runner's single wiring, called from a worker.

Three tasks (their procrastinate registration is in ``_procrastinate``):

* ``sfrenew.run_job(org, job)`` — one fire of a configured job (``jobs/*.yaml``);
* ``sfrenew.backfill_pull(org, backfill_id)`` — a chunked backfill's first step: pull
  the org into its store once, split the accounts into ranges of
  ``queue.chunk_accounts`` (sorted Account Ids) and defer one chunk job each;
* ``sfrenew.backfill_chunk(org, backfill_id, chunk)`` — plan and apply one range.

One at a time per org: ``run_job`` and ``backfill_pull`` carry procrastinate's queueing
``lock="org:<org>"`` (a second one waits in ``todo`` while the first is ``doing``), and
the runner holds the org's PostgreSQL advisory lock exclusively. Chunks carry their own
lock (``chunk:<backfill>:<n>``) and hold the org lock *shared*: chunks of one backfill
run side by side, never beside a nightly run of the same org. At most
``queue.concurrency`` chunks of an org run at once (advisory "slot" locks), and every
chunk draws its API calls from the backfill's one budget in PostgreSQL.

A task that finds its lock taken waits (polling), as the daemon does.

When the worker is asked to stop (SIGTERM), ``stop`` is set: the run in flight
checkpoints at its next safe point and ends ``stopped``, and the task raises
:class:`WorkStopped`, which puts the job back on the queue: a chunk's next attempt, on
any worker, resumes that run (its plan file read back from the store when the worker
has not got it); a ``run_job`` runs the job afresh (the pull starts from the
watermarks, so what the stopped run wrote is read, not written again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import structlog

from sfrenew.daemon import outcome_fields
from sfrenew.locks import Busy
from sfrenew.logs import bound, outcome_level
from sfrenew.queue.deployment import Deployment
from sfrenew.runner import RunOutcome, RunRequest, Step, execute, planned_accounts
from sfrenew.store import RunKind, RunStatus, open_store
from sfrenew.store.queue import QueuedJob, QueueStore
from sfrenew.store.queue_schema import QueueTables

log = structlog.get_logger(__name__)

QUEUE = "sfrenew"
RUN_JOB = "sfrenew.run_job"
BACKFILL_PULL = "sfrenew.backfill_pull"
BACKFILL_CHUNK = "sfrenew.backfill_chunk"
QUEUED_JOB_STARTED = "queued_job_started"
QUEUED_JOB_FINISHED = "queued_job_finished"
BACKFILL_CHUNKED = "backfill_chunked"
WAITING_FOR_LOCK = "waiting_for_lock"


class WorkStopped(Exception):
    """The worker is stopping: the job's run checkpointed (or never started) and the job
    goes back to the queue for another worker (not a failure)."""


RESUMABLE = frozenset({RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.STOPPED})


def org_lock(org: str) -> str:
    """procrastinate's lock for the org's jobs that write renewals."""
    return f"org:{org}"


def run_job_task(org: str, job: str) -> QueuedJob:
    """The queued job of one fire of ``job``."""
    return QueuedJob(task_name=RUN_JOB, args={"org": org, "job": job}, lock=org_lock(org),
                     queue=QUEUE)


def backfill_pull_task(org: str, backfill_id: str) -> QueuedJob:
    """The first job of a chunked backfill."""
    return QueuedJob(task_name=BACKFILL_PULL, args={"org": org, "backfill_id": backfill_id},
                     lock=org_lock(org), queue=QUEUE)


def backfill_chunk_task(org: str, backfill_id: str, chunk: int) -> QueuedJob:
    """The job of one chunk."""
    return QueuedJob(task_name=BACKFILL_CHUNK,
                     args={"org": org, "backfill_id": backfill_id, "chunk": chunk},
                     lock=f"chunk:{backfill_id}:{chunk}", queue=QUEUE)


def chunk_job_name(backfill_id: str, chunk: int) -> str:
    """The runs-table job name of a chunk's run (a retry finds and resumes it)."""
    return f"backfill-{backfill_id}-{chunk:04d}"


def account_ranges(accounts: list[str], size: int) -> list[list[str]]:
    """Sorted Account Ids in ranges of ``size`` (the last may be shorter)."""
    ordered = sorted(set(accounts))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


class TaskHost:
    """Runs the tasks of one worker process for a deployment."""

    def __init__(self, deployment: Deployment, queue: QueueStore, *,
                 clock: Callable[[], datetime], stop: threading.Event,
                 busy_poll_s: float = 2.0) -> None:
        self.deployment, self.queue, self.clock = deployment, queue, clock
        self.stop, self.busy_poll_s = stop, busy_poll_s

    def _until_free(self, attempt: Callable[[], RunOutcome]) -> RunOutcome:
        told = False
        while not self.stop.is_set():
            try:
                return attempt()
            except Busy as exc:
                if not told:
                    log.info(WAITING_FOR_LOCK, reason=str(exc))
                    told = True
                self.stop.wait(self.busy_poll_s)
        raise WorkStopped("the worker is stopping: the job goes back to the queue")

    def _log(self, outcome: RunOutcome, **fields: object) -> None:
        log.log(outcome_level(outcome.status), QUEUED_JOB_FINISHED,
                **fields, **outcome_fields(outcome))

    def _stopped_here(self, outcome: RunOutcome) -> bool:
        """The run stopped because this worker is stopping (not on its budget)."""
        return outcome.status == RunStatus.STOPPED.value and self.stop.is_set()

    def run_job(self, *, org: str, job: str) -> None:
        """One fire of ``job`` for ``org``."""
        deployed = self.deployment.org(org)
        spec = deployed.job(job)
        if spec is None:
            raise KeyError(f"org {org!r} has no job {job!r} in {deployed.config.queue.jobs_dir}")
        with bound(job=job, org=org):
            log.info(QUEUED_JOB_STARTED, task=RUN_JOB)
            outcome = self._until_free(lambda: execute(deployed.config, spec.request(),
                                                       clock=self.clock, stop=self.stop))
            self._log(outcome, task=RUN_JOB)
            if self._stopped_here(outcome):
                raise WorkStopped(f"run {outcome.run_id} stopped with the worker")

    def backfill_pull(self, *, org: str, backfill_id: str) -> None:
        """Pull once, then split the backfill into chunks and defer them."""
        config = self.deployment.org(org).config
        backfill = self.queue.get_backfill(backfill_id)
        if backfill is None:
            raise KeyError(f"no backfill {backfill_id!r} in the queue")
        with bound(job=f"backfill-{backfill_id}", org=org):
            if backfill.chunks_total is None:
                request = RunRequest(job=f"backfill-{backfill_id}-pull", steps=(Step.PULL,),
                                     kind=RunKind.RUN.value)
                outcome = self._until_free(lambda: execute(config, request, clock=self.clock,
                                                           stop=self.stop))
                self._log(outcome, task=BACKFILL_PULL)
                if self._stopped_here(outcome):
                    raise WorkStopped(f"run {outcome.run_id} stopped with the worker")
                if outcome.status != RunStatus.SUCCEEDED.value:
                    raise RuntimeError(f"the pull of backfill {backfill_id} did not succeed: "
                                       f"{outcome.message}")
            accounts = planned_accounts(config)
            ranges = account_ranges(accounts, config.queue.chunk_accounts)
            total = self.queue.add_chunks(
                backfill_id, ranges,
                [backfill_chunk_task(org, backfill_id, n) for n in range(len(ranges))])
            log.info(BACKFILL_CHUNKED, backfill_id=backfill_id, accounts=len(accounts),
                     chunks=total)

    def backfill_chunk(self, *, org: str, backfill_id: str, chunk: int) -> None:
        """Plan and apply one chunk (resuming its crashed run when retried)."""
        config = self.deployment.org(org).config
        backfill = self.queue.get_backfill(backfill_id)
        if backfill is None:
            raise KeyError(f"no backfill {backfill_id!r} in the queue")
        name = chunk_job_name(backfill_id, chunk)
        with bound(job=name, org=org):
            accounts = tuple(self.queue.chunk_accounts(backfill_id, chunk))

            def attempt() -> RunOutcome:
                with self.queue.slot(org, config.queue.concurrency):
                    self.queue.chunk_started(backfill_id, chunk)
                    log.info(QUEUED_JOB_STARTED, task=BACKFILL_CHUNK, backfill_id=backfill_id,
                             chunk=chunk)
                    with open_store(config.store_url) as store:
                        # The chunk's previous attempt: killed (running), or stopped with
                        # its worker. (A chunk stopped on its budget is not run again.)
                        last = store.last_run(name)
                    resume = last.run_id if last is not None and last.status in RESUMABLE \
                        else None
                    request = RunRequest(
                        job=name, steps=(Step.PLAN, Step.APPLY), dry_run=backfill.dry_run,
                        accounts=accounts, contract_end_from=backfill.contract_end_from,
                        contract_end_to=backfill.contract_end_to,
                        horizon_days=backfill.horizon_days, kind=RunKind.BACKFILL.value,
                        resume_run_id=resume,
                        chunk_lock=f"sfrenew-chunk:{backfill_id}:{chunk}")
                    return execute(config, request, clock=self.clock, stop=self.stop,
                                   shared_budget=lambda n: self.queue.take_calls(backfill_id,
                                                                                 n))

            outcome = self._until_free(attempt)
            self._log(outcome, task=BACKFILL_CHUNK, backfill_id=backfill_id, chunk=chunk)
            if self._stopped_here(outcome):
                self.queue.chunk_returned(backfill_id, chunk, run_id=outcome.run_id)
                raise WorkStopped(f"run {outcome.run_id} stopped with the worker")
            status = QueueTables.DONE if outcome.status == RunStatus.SUCCEEDED.value \
                else outcome.status
            self.queue.chunk_finished(backfill_id, chunk, status=status,
                                      run_id=outcome.run_id, now=self.clock())

