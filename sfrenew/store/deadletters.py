"""Dead letters: rows Salesforce rejected, kept until a later run gets them through.

There is at most one open letter per (object, key, operation): a row rejected again
bumps ``attempts`` and ``last_seen`` and takes the newest error and payload, so the
report shows "rejected 3 times since run X" rather than three rows. When a later
write of the record succeeds the caller resolves it; resolved letters stay as history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, false, func, select, update

from sfrenew.store import schema
from sfrenew.store._sql import IN_CHUNK, chunked, upsert_insert
from sfrenew.store.engine import Database
from sfrenew.store.values import DeadLetter, Operation, Rejection

_d = schema.dead_letters


def add(db: Database, run_id: str | None, rejections: Iterable[Rejection], *,
        now: datetime) -> int:
    """Record rejected rows in one transaction (bumping open ones); return how many."""
    latest = {(r.object, r.key, str(Operation(r.operation))): r for r in rejections}
    if not latest:
        return 0
    ins = upsert_insert(db.dialect, _d)
    stmt = ins.on_conflict_do_update(
        index_elements=[_d.c.object, _d.c.key, _d.c.operation],
        index_where=_d.c.resolved == false(),
        set_={"error_code": ins.excluded.error_code, "message": ins.excluded.message,
              "payload": ins.excluded.payload, "fields": ins.excluded.fields,
              "attempts": _d.c.attempts + 1, "last_run_id": ins.excluded.last_run_id,
              "last_seen": ins.excluded.last_seen})
    params = [{"object": obj, "key": key, "operation": op, "error_code": r.error_code,
               "message": r.message, "payload": dict(r.payload), "fields": list(r.fields),
               "attempts": 1, "first_run_id": run_id, "last_run_id": run_id,
               "first_seen": now, "last_seen": now, "resolved": False, "resolved_at": None}
              for (obj, key, op), r in latest.items()]
    with db.write() as conn:
        conn.execute(stmt, params)
    return len(params)


def _letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(id=row.id, object=row.object, key=row.key,
                      operation=Operation(row.operation), error_code=row.error_code,
                      message=row.message, payload=row.payload, fields=tuple(row.fields),
                      attempts=row.attempts, first_run_id=row.first_run_id,
                      last_run_id=row.last_run_id, first_seen=row.first_seen,
                      last_seen=row.last_seen, resolved=bool(row.resolved),
                      resolved_at=row.resolved_at)


def open_letters(db: Database, object_name: str | None = None) -> list[DeadLetter]:
    """Unresolved dead letters (of one object, if given), by object then key."""
    stmt = select(_d).where(_d.c.resolved == false())
    if object_name is not None:
        stmt = stmt.where(_d.c.object == object_name)
    stmt = stmt.order_by(_d.c.object, _d.c.key, _d.c.operation)
    with db.read() as conn:
        return [_letter(row) for row in conn.execute(stmt)]


def resolve(db: Database, object_name: str, keys: Iterable[str], *, now: datetime) -> int:
    """Close the open letters of those records (any operation); return how many."""
    count = 0
    with db.write() as conn:
        for part in chunked(dict.fromkeys(keys), IN_CHUNK):
            result = conn.execute(
                update(_d).where(_d.c.object == object_name, _d.c.key.in_(part),
                                 _d.c.resolved == false())
                .values(resolved=True, resolved_at=now))
            count += result.rowcount
    return count


def counts_by_code(db: Database) -> dict[str, int]:
    """Open dead letters per Salesforce error code, most frequent first."""
    n = func.count().label("n")
    stmt = (select(_d.c.error_code, n).where(_d.c.resolved == false())
            .group_by(_d.c.error_code).order_by(n.desc(), _d.c.error_code))
    with db.read() as conn:
        return {str(code): int(count) for code, count in conn.execute(stmt)}
