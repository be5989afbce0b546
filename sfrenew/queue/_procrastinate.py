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
from typing import Any, Protocol

from procrastinate import App, JobContext, PsycopgConnector

from sfrenew.queue.tasks import BACKFILL_CHUNK, BACKFILL_PULL, QUEUE, RUN_JOB


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


def make_app(conninfo: str) -> App:
    """The procrastinate app on the queue database, with sfrenew's three tasks."""
    app = App(connector=PsycopgConnector(conninfo=conninfo))

    @app.task(name=RUN_JOB, queue=QUEUE, pass_context=True)
    def run_job(context: JobContext, *, org: str, job: str) -> None:
        _host(context).run_job(org=org, job=job)

    @app.task(name=BACKFILL_PULL, queue=QUEUE, pass_context=True)
    def backfill_pull(context: JobContext, *, org: str, backfill_id: str) -> None:
        _host(context).backfill_pull(org=org, backfill_id=backfill_id)

    @app.task(name=BACKFILL_CHUNK, queue=QUEUE, pass_context=True)
    def backfill_chunk(context: JobContext, *, org: str, backfill_id: str, chunk: int) -> None:
        _host(context).backfill_chunk(org=org, backfill_id=backfill_id, chunk=chunk)

    return app


def run_worker(conninfo: str, host: Host, *, name: str, concurrency: int = 1,
               heartbeat_s: float = 10.0, stalled_after_s: float = 30.0,
               on_stop: Any = None) -> None:
    """Run one procrastinate worker until SIGTERM/SIGINT (procrastinate's handlers: the job
    in flight finishes first). ``on_stop`` is called when the worker is asked to stop."""
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app = make_app(conninfo)

    async def main() -> None:
        async with app.open_async():
            try:
                await app.run_worker_async(
                    queues=[QUEUE], name=name, concurrency=concurrency, wait=True,
                    additional_context={"sfrenew": host}, delete_jobs="never",
                    update_heartbeat_interval=heartbeat_s,
                    stalled_worker_timeout=stalled_after_s, install_signal_handlers=True)
            finally:
                if on_stop is not None:
                    on_stop()

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
