"""procrastinate lives here and nowhere else: the app, the tasks, the worker, stalled jobs.

The tasks are thin: each hands its arguments to the :class:`sfrenew.queue.tasks.TaskHost`
the worker process was started with (``additional_context``), which calls the runner.
Workers send a heartbeat every ``heartbeat_s`` seconds; a worker killed with ``kill -9``
stops sending it, and the leader (:func:`retry_stalled`) puts the jobs it left
``doing`` back to ``todo`` once its heartbeat is older than ``stalled_after_s``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Protocol

import structlog
from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.jobs import Job

from sfrenew.queue.tasks import BACKFILL_CHUNK, BACKFILL_PULL, QUEUE, RUN_JOB, WorkStopped

log = structlog.get_logger(__name__)

WORKER_STOPPING = "worker_stopping"


class Host(Protocol):
    """What the tasks call (:class:`sfrenew.queue.tasks.TaskHost`)."""

    def run_job(self, *, org: str, job: str) -> None:
        """One fire of a job."""

    def backfill_pull(self, *, org: str, backfill_id: str) -> None:
        """A backfill's pull and chunking."""

    def backfill_chunk(self, *, org: str, backfill_id: str, chunk: int) -> None:
        """One chunk of a backfill."""


def _host(context: JobContext) -> Host:
    host: Host = (context.additional_context or {})["sfrenew"]
    return host


class ReturnWhenStopped(BaseRetryStrategy):
    """A job its worker stopped (:class:`~sfrenew.queue.tasks.WorkStopped`: SIGTERM, its
    run checkpointed) goes back to ``todo`` at once, for any worker; any other error
    fails the job, as before."""

    def get_retry_decision(self, *, exception: BaseException,
                           job: Job) -> RetryDecision | None:  # noqa: ARG002 -- procrastinate's signature
        """Retry now when the worker stopped the job; else no retry."""
        return RetryDecision(retry_in={"seconds": 0}) \
            if isinstance(exception, WorkStopped) else None


def make_app(conninfo: str) -> App:
    """The procrastinate app on the queue database, with sfrenew's three tasks."""
    app = App(connector=PsycopgConnector(conninfo=conninfo))
    returned = ReturnWhenStopped()

    @app.task(name=RUN_JOB, queue=QUEUE, pass_context=True, retry=returned)
    def run_job(context: JobContext, *, org: str, job: str) -> None:
        _host(context).run_job(org=org, job=job)

    @app.task(name=BACKFILL_PULL, queue=QUEUE, pass_context=True, retry=returned)
    def backfill_pull(context: JobContext, *, org: str, backfill_id: str) -> None:
        _host(context).backfill_pull(org=org, backfill_id=backfill_id)

    @app.task(name=BACKFILL_CHUNK, queue=QUEUE, pass_context=True, retry=returned)
    def backfill_chunk(context: JobContext, *, org: str, backfill_id: str, chunk: int) -> None:
        _host(context).backfill_chunk(org=org, backfill_id=backfill_id, chunk=chunk)

    return app


def run_worker(conninfo: str, host: Host, *, name: str, stop: threading.Event,
               concurrency: int = 1, heartbeat_s: float = 10.0,
               stalled_after_s: float = 30.0) -> None:
    """Run one procrastinate worker until SIGTERM/SIGINT.

    The signal sets ``stop`` at once, so the job in flight stops at its run's next safe
    point (a checkpoint: between pull pages, planned-account batches, write batches),
    raises :class:`~sfrenew.queue.tasks.WorkStopped` and goes back to the queue
    (:class:`ReturnWhenStopped`); the worker takes nothing new, waits for that, unregisters
    and returns."""
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app = make_app(conninfo)

    async def main() -> None:
        async with app.open_async():
            worker = asyncio.create_task(app.run_worker_async(
                queues=[QUEUE], name=name, concurrency=concurrency, wait=True,
                additional_context={"sfrenew": host}, delete_jobs="never",
                update_heartbeat_interval=heartbeat_s,
                stalled_worker_timeout=stalled_after_s, install_signal_handlers=False))
            loop = asyncio.get_running_loop()

            def on_signal(sig: signal.Signals) -> None:
                if not stop.is_set():
                    log.info(WORKER_STOPPING, worker=name, signal=sig.name)
                stop.set()  # the job in flight checkpoints at its next safe point
                worker.cancel()  # procrastinate: fetch nothing new, wait for the job
                if sig is signal.SIGINT:  # a second Ctrl-C kills, as in the daemon
                    loop.remove_signal_handler(signal.SIGINT)

            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal, sig)
            try:
                await worker
            except asyncio.CancelledError:
                if not stop.is_set():  # cancelled from outside, not by a signal
                    raise
            finally:
                stop.set()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    asyncio.run(main())


def retry_stalled(conninfo: str, *, stalled_after_s: float) -> list[int]:
    """Put back to ``todo`` every job left ``doing`` by a worker whose heartbeat is older
    than ``stalled_after_s`` (killed, or cut from the database); their ids."""

    async def main() -> list[int]:
        app = make_app(conninfo)
        async with app.open_async():
            manager = app.job_manager
            stalled = list(await manager.get_stalled_jobs(
                seconds_since_heartbeat=stalled_after_s))
            for job in stalled:
                await manager.retry_job(job)
            await manager.prune_stalled_workers(stalled_after_s)
            return [int(job.id) for job in stalled if job.id is not None]

    return asyncio.run(main())


def job_counts(conninfo: str) -> dict[str, int]:
    """Jobs on the queue by status (``sfrenew queue status``, tests)."""

    async def main() -> dict[str, int]:
        app = make_app(conninfo)
        async with app.open_async():
            counts: dict[str, int] = {}
            for job in await app.job_manager.list_jobs_async(queue=QUEUE):
                status = str(getattr(job.status, "value", job.status))
                counts[status] = counts.get(status, 0) + 1
            return counts

    return asyncio.run(main())
