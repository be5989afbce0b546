"""A run's plan file kept in PostgreSQL, so a run resumes on any machine.

A run plans into ``state_dir/runs/<run>/plan.jsonl`` (ADR 0007) and a resumed run
applies that file. Workers of a scale-out deployment (``sfrenew worker``) need not
share a disk: on a PostgreSQL store the runner also keeps the file here (table
``queue_plan_files``, zlib-compressed parts of :data:`PART_BYTES` of the file each, so
memory stays flat with the plan's size) when it is saved, reads it back when a resumed
run does not find it on its own disk, and drops it when the run settles. SQLite stores
(one process, one disk) keep nothing here: every function is a no-op there.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from sqlalchemy import delete, func, select

from sfrenew.store.engine import Database
from sfrenew.store.queue_schema import plan_files
from sfrenew.store.schema import runs
from sfrenew.store.values import RunStatus

PART_BYTES = 4 * 1024 * 1024  # of the file per row (before compression)


def kept_here(db: Database) -> bool:
    """Whether this store keeps plan files (PostgreSQL)."""
    return db.dialect == "postgresql"


def keep(db: Database, run_id: str, path: Path) -> None:
    """Keep the plan file at ``path`` as ``run_id``'s (replacing a copy kept before), in
    one transaction."""
    if not kept_here(db):
        return
    with db.write() as conn, path.open("rb") as source:
        conn.execute(delete(plan_files).where(plan_files.c.run_id == run_id))
        part = 0
        while block := source.read(PART_BYTES):
            conn.execute(plan_files.insert().values(run_id=run_id, part=part,
                                                    data=zlib.compress(block, 6)))
            part += 1


def restore(db: Database, run_id: str, path: Path) -> bool:
    """Write ``run_id``'s kept plan file to ``path`` (through ``<path>.restoring``, renamed
    when complete); False when none is kept."""
    if not kept_here(db):
        return False
    with db.read() as conn:
        parts = int(conn.scalar(select(func.count()).where(plan_files.c.run_id == run_id))
                    or 0)
    if not parts:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".restoring")
    with partial.open("wb") as out:
        for part in range(parts):  # one part per transaction: memory stays flat
            with db.read() as conn:
                data = conn.scalar(select(plan_files.c.data).where(
                    plan_files.c.run_id == run_id, plan_files.c.part == part))
            if data is None:  # dropped meanwhile (the run settled elsewhere)
                partial.unlink()
                return False
            out.write(zlib.decompress(data))
    partial.replace(path)
    return True


def drop(db: Database, run_id: str, *, superseded_in: str | None = None) -> None:
    """Forget ``run_id``'s plan file (the run settled: nothing will resume it) and, with
    ``superseded_in`` (the run's job, when it succeeded), those of the job's earlier
    runs left stopped or interrupted: a later run of the job planned afresh, so theirs
    are stale."""
    if not kept_here(db):
        return
    gone = plan_files.c.run_id == run_id
    if superseded_in is not None:
        gone = gone | plan_files.c.run_id.in_(
            select(runs.c.run_id).where(runs.c.job == superseded_in,
                                        runs.c.status != str(RunStatus.RUNNING)))
    with db.write() as conn:
        conn.execute(delete(plan_files).where(gone))
