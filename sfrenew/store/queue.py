"""The job queue's tables on PostgreSQL: fires, backfills and their chunks, the queue schema.

Scale-out (``sfrenew worker``, ``sfrenew run`` on PostgreSQL) keeps in the database:

* procrastinate's own schema (its jobs, workers and heartbeats), installed and upgraded
  by ``queue_schema.install_queue_schema`` from :func:`sfrenew.store.migrations.prepare`, so an
  operator never runs ``procrastinate schema --apply`` by hand;
* ``queue_fires``: one row per schedule and fire time. The leader inserts the row and
  defers the job in the SAME transaction (:meth:`QueueStore.defer_fire`), so two leaders
  overlapping in a takeover defer a fire once: the second insert conflicts and defers
  nothing. The newest row per schedule is the schedule's last fire;
* ``queue_backfills`` and ``queue_backfill_chunks``: a chunked backfill, its chunks'
  accounts and outcome, and the backfill's one API budget (``calls_used`` against
  ``max_api_calls``), taken by every chunk on every worker in blocks
  (:meth:`QueueStore.take_calls`).

Defers go through procrastinate's SQL function ``procrastinate_defer_jobs_v1`` (a
versioned database API, stable across procrastinate releases) so that they can share a
transaction with sfrenew's own rows; procrastinate's Python package is only imported by
``sfrenew.queue._procrastinate``.

The queue schema has its own version in ``meta`` (``queue_schema_version``, the
procrastinate release whose schema is installed): SQLite stores never get one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    create_engine,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from sfrenew.locks import Busy
from sfrenew.store import migrations
from sfrenew.store.engine import (
    Database,
    connection_error,
    describe,
    libpq_conninfo,
    make_engine,
)
from sfrenew.store.errors import StoreConfigurationError
from sfrenew.store.locks import advisory_lock, lock_key
from sfrenew.store.queue_schema import QueueTables, backfills, chunks, fires
from sfrenew.store.queue_status import OrgQueueStatus, org_status


@dataclass(frozen=True)
class QueuedJob:
    """A job to put on the queue: procrastinate's task name, its lock and arguments."""

    task_name: str
    args: Mapping[str, Any]
    lock: str | None = None
    queueing_lock: str | None = None
    queue: str = "sfrenew"
    priority: int = 0


@dataclass(frozen=True)
class Backfill:
    """A chunked backfill as the queue keeps it."""

    backfill_id: str
    org: str
    contract_end_from: date
    contract_end_to: date
    horizon_days: int
    dry_run: bool
    max_api_calls: int | None
    calls_used: int
    chunks_total: int | None
    chunks_done: int = 0
    chunk_status: dict[int, str] = field(default_factory=dict)


_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
    ":queueing_lock, CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])) AS id")


def _defer(conn: Connection, job: QueuedJob) -> int:
    job_id = conn.scalar(_DEFER, {"queue": job.queue, "task": job.task_name,
                                  "priority": job.priority, "lock": job.lock,
                                  "queueing_lock": job.queueing_lock,
                                  "args": json.dumps(dict(job.args), sort_keys=True)})
    return int(job_id)


class QueueStore:
    """The queue's rows in one PostgreSQL database (an opened, prepared store's database)."""

    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise StoreConfigurationError(
                f"the job queue needs PostgreSQL; {describe(db.engine)} is "
                f"{db.dialect} (set queue.url or store.url to postgresql+psycopg://…)")
        self._db = db

    def close(self) -> None:
        """Close the pooled connections."""
        self._db.dispose()

    def __enter__(self) -> QueueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database URL, password included (for procrastinate's connector)."""
        return self._db.engine.url.render_as_string(hide_password=False)

    @property
    def conninfo(self) -> str:
        """The database as a libpq connection string (procrastinate's connector takes
        one); ``options`` such as a ``search_path`` are kept."""
        return libpq_conninfo(self._db.engine)

    def defer(self, job: QueuedJob) -> int:
        """Put ``job`` on the queue; its procrastinate job id."""
        with self._db.write() as conn:
            return _defer(conn, job)

    def defer_fire(self, *, schedule: str, fire_time: datetime, job: QueuedJob,
                   now: datetime, leader: str, fence: Fence | None = None) -> int | None:
        """Defer the fire of ``schedule`` at ``fire_time`` once: the job id, or None when
        that fire was already deferred (by this leader or an overlapping one) or, with a
        ``fence``, when the caller no longer holds the leader lock."""
        with self._db.write() as conn:
            if fence is not None and not _fenced(conn, fence):
                return None
            inserted = conn.execute(
                pg_insert(fires).values(schedule=schedule, fire_time=fire_time,
                                        deferred_at=now, leader=leader)
                .on_conflict_do_nothing().returning(fires.c.schedule)).first()
            if inserted is None:
                return None
            job_id = _defer(conn, job)
            conn.execute(update(fires).where(fires.c.schedule == schedule,
                                             fires.c.fire_time == fire_time)
                         .values(job_id=job_id))
            return job_id

    def last_fires(self) -> dict[str, datetime]:
        """The newest fire time deferred per schedule."""
        with self._db.read() as conn:
            rows = conn.execute(select(fires.c.schedule, func.max(fires.c.fire_time))
                                .group_by(fires.c.schedule)).all()
        return {str(s): t for s, t in rows}

    def fire_counts(self) -> dict[tuple[str, datetime], int]:
        """Jobs deferred per (schedule, fire time) — 1 each, by the table's key."""
        with self._db.read() as conn:
            rows = conn.execute(select(fires.c.schedule, fires.c.fire_time,
                                       func.count())
                                .group_by(fires.c.schedule, fires.c.fire_time)).all()
        return {(str(s), t): int(n) for s, t, n in rows}

    # --- backfills --------------------------------------------------------------------

    def add_backfill(self, backfill: Backfill, *, now: datetime, job: QueuedJob) -> int:
        """Record a backfill and defer its first job (the pull) in one transaction."""
        with self._db.write() as conn:
            conn.execute(backfills.insert().values(
                backfill_id=backfill.backfill_id, org=backfill.org,
                contract_end_from=backfill.contract_end_from,
                contract_end_to=backfill.contract_end_to, horizon_days=backfill.horizon_days,
                dry_run=int(backfill.dry_run), max_api_calls=backfill.max_api_calls,
                calls_used=0, created_at=now))
            return _defer(conn, job)

    def add_chunks(self, backfill_id: str, accounts: Iterable[list[str]],
                   jobs: Iterable[QueuedJob]) -> int:
        """Record the backfill's chunks and defer one job per chunk, in one transaction;
        a repeat (the pull task retried) defers nothing new. Returns the chunk count."""
        with self._db.write() as conn:
            total = conn.scalar(select(backfills.c.chunks_total)
                                .where(backfills.c.backfill_id == backfill_id)
                                .with_for_update())
            if total is not None:
                return int(total)
            count = 0
            for index, (members, job) in enumerate(zip(accounts, jobs, strict=True)):
                conn.execute(chunks.insert().values(backfill_id=backfill_id, chunk=index,
                                                    accounts=members,
                                                    status=QueueTables.QUEUED, attempts=0))
                _defer(conn, job)
                count += 1
            conn.execute(update(backfills).where(backfills.c.backfill_id == backfill_id)
                         .values(chunks_total=count))
            return count

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        """The backfill and its chunks' statuses, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(backfills)
                               .where(backfills.c.backfill_id == backfill_id)).first()
            if row is None:
                return None
            statuses = {int(c): str(s) for c, s in conn.execute(
                select(chunks.c.chunk, chunks.c.status)
                .where(chunks.c.backfill_id == backfill_id)).all()}
        done = sum(1 for s in statuses.values() if s == QueueTables.DONE)
        return Backfill(backfill_id=row.backfill_id, org=row.org,
                        contract_end_from=row.contract_end_from,
                        contract_end_to=row.contract_end_to, horizon_days=row.horizon_days,
                        dry_run=bool(row.dry_run), max_api_calls=row.max_api_calls,
                        calls_used=row.calls_used, chunks_total=row.chunks_total,
                        chunks_done=done, chunk_status=statuses)

    def chunk_accounts(self, backfill_id: str, chunk: int) -> list[str]:
        """The Account Ids of one chunk."""
        with self._db.read() as conn:
            value = conn.scalar(select(chunks.c.accounts).where(
                chunks.c.backfill_id == backfill_id, chunks.c.chunk == chunk))
        return [str(a) for a in value or []]

    def chunk_started(self, backfill_id: str, chunk: int) -> str | None:
        """Mark a chunk running (one more attempt); the run id of its previous attempt,
        to resume, if it has one."""
        with self._db.write() as conn:
            run_id = conn.scalar(
                update(chunks).where(chunks.c.backfill_id == backfill_id,
                                     chunks.c.chunk == chunk)
                .values(status=QueueTables.RUNNING, attempts=chunks.c.attempts + 1)
                .returning(chunks.c.run_id))
        return None if run_id is None else str(run_id)

    def chunk_run(self, backfill_id: str, chunk: int, run_id: str) -> None:
        """Remember the run a chunk is executing (a retry resumes it)."""
        with self._db.write() as conn:
            conn.execute(update(chunks).where(chunks.c.backfill_id == backfill_id,
                                              chunks.c.chunk == chunk)
                         .values(run_id=run_id))

    def chunk_returned(self, backfill_id: str, chunk: int, *, run_id: str) -> None:
        """A chunk whose worker stopped it is queued again; its next attempt resumes
        ``run_id``."""
        with self._db.write() as conn:
            conn.execute(update(chunks).where(chunks.c.backfill_id == backfill_id,
                                              chunks.c.chunk == chunk)
                         .values(status=QueueTables.QUEUED, run_id=run_id))

    def chunk_finished(self, backfill_id: str, chunk: int, *, status: str, run_id: str,
                       now: datetime) -> None:
        """Record a chunk's outcome."""
        with self._db.write() as conn:
            conn.execute(update(chunks).where(chunks.c.backfill_id == backfill_id,
                                              chunks.c.chunk == chunk)
                         .values(status=status, run_id=run_id, finished_at=now))

    def take_calls(self, backfill_id: str, calls: int) -> bool:
        """Take ``calls`` API calls from the backfill's shared budget, all or none: False
        when fewer are left. Atomic across workers (one conditional UPDATE)."""
        cap = backfills.c.max_api_calls
        with self._db.write() as conn:
            taken = conn.execute(
                update(backfills)
                .where(backfills.c.backfill_id == backfill_id,
                       (cap.is_(None)) | (backfills.c.calls_used + calls <= cap))
                .values(calls_used=backfills.c.calls_used + calls)).rowcount
        return bool(taken)

    def org_status(self, org: str, *, queue: str, leader_lock: str,
                   stalled_after_s: float) -> OrgQueueStatus:
        """The queue as ``org`` sees it: its jobs, the workers, the scheduler's leader,
        its running backfills (:mod:`sfrenew.store.queue_status`)."""
        with self._db.read() as conn:
            return org_status(conn, org=org, queue=queue, leader_lock=leader_lock,
                              stalled_after_s=stalled_after_s)

    @contextmanager
    def slot(self, org: str, concurrency: int) -> Iterator[int]:
        """Hold one of the org's ``concurrency`` chunk slots (advisory locks) for the
        ``with`` block; :class:`~sfrenew.locks.Busy` when all are taken."""
        for index in range(concurrency):
            try:
                with advisory_lock(self._db, f"slot:{org}:{index}"):
                    yield index
                    return
            except Busy:
                continue
        raise Busy(f"the {concurrency} chunk slots of org {org!r} are taken")


@dataclass(frozen=True)
class Fence:
    """Proof of leadership a write checks in its own transaction: the advisory lock
    ``key`` is held by the database session ``pid`` (the leader's dedicated one)."""

    key: int
    pid: int


_HOLDS = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
              "AND classid = :hi AND objid = :lo AND objsubid = 1 AND pid = :pid")


def _fenced(conn: Connection, fence: Fence) -> bool:
    unsigned = fence.key & 0xFFFF_FFFF_FFFF_FFFF
    held = conn.scalar(_HOLDS, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF,
                                "pid": fence.pid})
    return bool(held)


class LeaderSession:
    """The leader's hold on its lock: :meth:`alive` asks the dedicated connection."""

    def __init__(self, conn: Connection, fence: Fence) -> None:
        self._conn = conn
        self.fence = fence

    def alive(self) -> bool:
        """Whether the lock is still held (its session still answers)."""
        try:
            self._conn.scalar(select(1))
            self._conn.commit()
        except Exception:
            return False
        return True


@contextmanager
def leader_lock(url: str, name: str, *, replica: str = "") -> Iterator[LeaderSession]:
    """Hold the session advisory lock ``name`` on a DEDICATED connection (its own
    engine, no pool: a pooled connection could be recycled and drop the lock) for the
    ``with`` block; :class:`~sfrenew.locks.Busy` when another process holds it. The
    session is named ``replica`` (``application_name``: ``sfrenew status`` shows who
    leads)."""
    pooled = make_engine(url, create=False)
    engine = create_engine(pooled.url, poolclass=NullPool)
    pooled.dispose()
    key = lock_key(name)
    try:
        with engine.connect() as conn:
            if replica:
                conn.execute(select(func.set_config("application_name", replica[:63], False)))
            got = bool(conn.scalar(select(func.pg_try_advisory_lock(key))))
            pid = int(conn.scalar(select(func.pg_backend_pid())) or 0)
            conn.commit()
            if not got:
                raise Busy(f"lock {name!r} is held by another replica")
            try:
                yield LeaderSession(conn, Fence(key=key, pid=pid))
            finally:
                try:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                    conn.commit()
                except Exception:  # noqa: S110 (closing the session drops it anyway)
                    pass
    except OperationalError as exc:
        raise connection_error(engine, exc) from None
    finally:
        engine.dispose()


def open_queue(url: str, *, create: bool = True) -> QueueStore:
    """The queue in the PostgreSQL database at ``url``, its schema installed or upgraded
    (:class:`~sfrenew.store.errors.StoreConfigurationError` on SQLite;
    :class:`~sfrenew.store.errors.StoreMissing` when there is none and not ``create``)."""
    return QueueStore(migrations.open_prepared(url, create=create, check=QueueStore))
