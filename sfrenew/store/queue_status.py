"""What the job queue holds for one org, for ``sfrenew status`` (read-only).

Read in one snapshot of the queue's database: the org's jobs by task and status (from
procrastinate's ``procrastinate_jobs``, whose ``args`` name the org), the workers with
the age of their last heartbeat (by the database's clock, which also wrote it), who
holds the scheduler's leader lock (its session's ``application_name``, set by
:func:`sfrenew.store.queue.leader_lock` to the replica's ``host:pid``), and the org's
backfills still running with their chunks and API calls against the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from sfrenew.store.locks import lock_key
from sfrenew.store.queue_schema import QueueTables, backfills, chunks

# Statuses a person watches (succeeded, cancelled and aborted jobs are history).
WATCHED = ("todo", "doing", "failed")

_JOBS = text("SELECT task_name, status::text, count(*) FROM procrastinate_jobs "
             "WHERE queue_name = :queue AND args->>'org' = :org "
             "AND status::text IN ('todo', 'doing', 'failed') GROUP BY task_name, status")
_WORKERS = text(
    "SELECT w.id, extract(epoch FROM now() - w.last_heartbeat), "
    "count(j.id) FILTER (WHERE j.args->>'org' = :org) FROM procrastinate_workers w "
    "LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing' "
    "GROUP BY w.id, w.last_heartbeat ORDER BY w.id")
_LEADER = text(
    "SELECT a.application_name, a.backend_start FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1")


@dataclass(frozen=True)
class WorkerState:
    """One registered worker: its heartbeat's age and the org's jobs it is running."""

    worker_id: int
    heartbeat_age_s: float
    running: int
    alive: bool


@dataclass(frozen=True)
class BackfillProgress:
    """A backfill of the org not finished yet."""

    backfill_id: str
    created_at: datetime
    chunks_total: int | None  # None until its pull has split it
    chunks: dict[str, int]  # chunks by status (queued, running, done, stopped, ...)
    calls_used: int
    max_api_calls: int | None

    @property
    def chunks_done(self) -> int:
        """Chunks whose run succeeded."""
        return self.chunks.get(QueueTables.DONE, 0)


@dataclass(frozen=True)
class LeaderState:
    """Who holds the scheduler's lock (``None`` fields: nobody, or unknown)."""

    held: bool
    replica: str | None = None  # host:pid
    since: datetime | None = None  # when its lock session started


@dataclass(frozen=True)
class OrgQueueStatus:
    """The queue as one org sees it."""

    org: str
    jobs: dict[str, dict[str, int]]  # task -> status -> count (todo, doing, failed)
    workers: list[WorkerState]
    leader: LeaderState
    backfills: list[BackfillProgress] = field(default_factory=list)


def org_status(conn: Connection, *, org: str, queue: str, leader_lock: str,
               stalled_after_s: float) -> OrgQueueStatus:
    """The org's view of the queue (see the module docstring)."""
    jobs: dict[str, dict[str, int]] = {}
    for task, status, count in conn.execute(_JOBS, {"queue": queue, "org": org}):
        jobs.setdefault(str(task), {})[str(status)] = int(count)
    workers = [WorkerState(worker_id=int(wid), heartbeat_age_s=max(float(age), 0.0),
                           running=int(running), alive=float(age) <= stalled_after_s)
               for wid, age, running in conn.execute(_WORKERS, {"org": org})]
    unsigned = lock_key(leader_lock) & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(_LEADER, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF}).first()
    leader = LeaderState(held=False) if row is None else LeaderState(
        held=True, replica=str(row[0]) or None, since=row[1])
    return OrgQueueStatus(org=org, jobs=jobs, workers=workers, leader=leader,
                          backfills=_running_backfills(conn, org))


def _running_backfills(conn: Connection, org: str) -> list[BackfillProgress]:
    statuses: dict[str, dict[str, int]] = {}
    for backfill_id, status, count in conn.execute(
            select(chunks.c.backfill_id, chunks.c.status, func.count())
            .join(backfills, backfills.c.backfill_id == chunks.c.backfill_id)
            .where(backfills.c.org == org).group_by(chunks.c.backfill_id, chunks.c.status)):
        statuses.setdefault(str(backfill_id), {})[str(status)] = int(count)
    out = []
    for row in conn.execute(select(backfills).where(backfills.c.org == org)
                            .order_by(backfills.c.created_at)):
        by_status = statuses.get(row.backfill_id, {})
        unfinished = by_status.get(QueueTables.QUEUED, 0) + by_status.get(QueueTables.RUNNING, 0)
        if row.chunks_total is not None and not unfinished:
            continue  # every chunk ended (done, or stopped on its budget)
        out.append(BackfillProgress(backfill_id=row.backfill_id, created_at=row.created_at,
                                    chunks_total=row.chunks_total, chunks=by_status,
                                    calls_used=row.calls_used,
                                    max_api_calls=row.max_api_calls))
    return out
