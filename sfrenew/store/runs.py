"""Runs: one row per job execution, with its checkpoint (to resume) and stats.

Times come from the caller (``now``); the store never reads a clock. Status moves
``running → succeeded | failed | stopped | interrupted`` and ``interrupted → running``
(resume). A run found ``running`` when a process starts was cut short by a crash:
the daemon, which holds the OS lock, marks it interrupted and may resume it from its
checkpoint.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exc, select, update

from sfrenew.store import schema
from sfrenew.store.engine import Database
from sfrenew.store.errors import RunStateError, UnknownRun
from sfrenew.store.values import Run, RunKind, RunStats, RunStatus

_r = schema.runs

FINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.STOPPED,
                   RunStatus.INTERRUPTED})


def make_run_id(now: datetime, rng: random.Random) -> str:
    """A sortable, readable run id such as ``r-20261124-071500-ab12``.

    ``now`` (aware) and ``rng`` are injected so ids are reproducible in tests.
    """
    if now.tzinfo is None:
        raise ValueError("make_run_id needs an aware datetime")
    return f"r-{now:%Y%m%d-%H%M%S}-{rng.getrandbits(16):04x}"


def _run(row: Row[Any]) -> Run:
    return Run(run_id=row.run_id, job=row.job, kind=RunKind(row.kind),
               status=RunStatus(row.status), started_at=row.started_at,
               finished_at=row.finished_at, params=row.params, checkpoint=row.checkpoint,
               stats=RunStats.from_json(row.stats), error=row.error)


def get(db: Database, run_id: str) -> Run:
    """The run with that id; :class:`UnknownRun` when there is none."""
    with db.read() as conn:
        row = conn.execute(select(_r).where(_r.c.run_id == run_id)).first()
    if row is None:
        raise UnknownRun(f"no run {run_id!r} in the state store")
    return _run(row)


def start(db: Database, *, run_id: str, job: str, kind: RunKind, now: datetime,
          params: Mapping[str, Any] | None = None) -> Run:
    """Record a new run as ``running``."""
    try:
        with db.write() as conn:
            conn.execute(_r.insert().values(
                run_id=run_id, job=job, kind=str(RunKind(kind)), status=str(RunStatus.RUNNING),
                started_at=now, finished_at=None, params=dict(params or {}), checkpoint=None,
                stats=RunStats().to_json(), error=None))
    except exc.IntegrityError as err:
        raise RunStateError(f"run {run_id!r} already exists") from err
    return get(db, run_id)


def _transition(db: Database, run_id: str, *, allowed: frozenset[RunStatus],
                values: Mapping[str, Any], action: str) -> None:
    with db.write() as conn:
        result = conn.execute(update(_r).where(_r.c.run_id == run_id,
                                               _r.c.status.in_([str(s) for s in allowed]))
                              .values(**values))
        if result.rowcount == 1:
            return
        status = conn.scalar(select(_r.c.status).where(_r.c.run_id == run_id))
    if status is None:
        raise UnknownRun(f"no run {run_id!r} in the state store")
    raise RunStateError(f"cannot {action} run {run_id!r}: it is {status}")


def update_checkpoint(db: Database, run_id: str, checkpoint: Mapping[str, Any], *,
                      stats: RunStats | None = None) -> None:
    """Save where a running run is (and, optionally, its stats so far)."""
    values: dict[str, Any] = {"checkpoint": dict(checkpoint)}
    if stats is not None:
        values["stats"] = stats.to_json()
    _transition(db, run_id, allowed=frozenset({RunStatus.RUNNING}), values=values,
                action="checkpoint")


def finish(db: Database, run_id: str, *, status: RunStatus, now: datetime,
           stats: RunStats | None = None, error: str | None = None) -> Run:
    """End a running run with a final status."""
    status = RunStatus(status)
    if status not in FINAL:
        raise ValueError(f"{status} is not a final run status")
    values: dict[str, Any] = {"status": str(status), "finished_at": now, "error": error}
    if stats is not None:
        values["stats"] = stats.to_json()
    _transition(db, run_id, allowed=frozenset({RunStatus.RUNNING}), values=values,
                action=f"finish ({status})")
    return get(db, run_id)


def resume(db: Database, run_id: str) -> Run:
    """Put an interrupted (or stopped) run back to ``running``; its checkpoint and stats
    are kept. A stopped run (budget spent, operator asked) resumes like a crashed one."""
    _transition(db, run_id, allowed=frozenset({RunStatus.INTERRUPTED, RunStatus.STOPPED}),
                values={"status": str(RunStatus.RUNNING), "finished_at": None},
                action="resume")
    return get(db, run_id)


def list_runs(db: Database, *, limit: int, job: str | None = None,
              kind: RunKind | None = None) -> list[Run]:
    """The latest runs, newest first."""
    stmt = select(_r)
    if job is not None:
        stmt = stmt.where(_r.c.job == job)
    if kind is not None:
        stmt = stmt.where(_r.c.kind == str(kind))
    stmt = stmt.order_by(_r.c.started_at.desc(), _r.c.run_id.desc()).limit(limit)
    with db.read() as conn:
        return [_run(row) for row in conn.execute(stmt)]


def last_run(db: Database, job: str, *, status: RunStatus | None = None) -> Run | None:
    """The newest run of ``job`` (with ``status``, if given)."""
    stmt = select(_r).where(_r.c.job == job)
    if status is not None:
        stmt = stmt.where(_r.c.status == str(status))
    stmt = stmt.order_by(_r.c.started_at.desc(), _r.c.run_id.desc()).limit(1)
    with db.read() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else _run(row)


def unfinished(db: Database, *, job: str | None = None) -> list[Run]:
    """Runs still ``running`` or ``interrupted``, oldest first (crash recovery)."""
    stmt = select(_r).where(_r.c.status.in_([str(RunStatus.RUNNING),
                                              str(RunStatus.INTERRUPTED)]))
    if job is not None:
        stmt = stmt.where(_r.c.job == job)
    stmt = stmt.order_by(_r.c.started_at, _r.c.run_id)
    with db.read() as conn:
        return [_run(row) for row in conn.execute(stmt)]
