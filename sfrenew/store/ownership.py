"""Field ownership: who a written field belongs to, so "kept rep edit" sticks.

The ledger says what sfrenew last wrote; the planner compares it with the org and
decides a person edited a field. Recording that decision here (owner ``person``,
since which run, the value last seen) keeps the plan saying "kept rep edit" on
every later run, even after the ledger moves on, and lets ``sfrenew`` report who
owns what. The planner decides; the store only remembers.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from sfrenew.store import schema
from sfrenew.store._sql import IN_CHUNK, chunked, upsert_insert
from sfrenew.store.engine import Database
from sfrenew.store.values import FieldOwnership, Owner

_o = schema.field_owners


def get_owners(db: Database, object_name: str,
               keys: Iterable[str]) -> dict[tuple[str, str], FieldOwnership]:
    """``{(key, field): ownership}`` for the recorded fields of those records."""
    out: dict[tuple[str, str], FieldOwnership] = {}
    with db.read() as conn:
        for part in chunked(dict.fromkeys(keys), IN_CHUNK):
            stmt = select(_o).where(_o.c.object == object_name, _o.c.key.in_(part))
            for row in conn.execute(stmt):
                out[(row.key, row.field)] = FieldOwnership(
                    object=row.object, key=row.key, field=row.field, owner=Owner(row.owner),
                    since_run_id=row.since_run_id, last_seen=row.last_seen)
    return out


def set_owners(db: Database, rows: Iterable[FieldOwnership], *, batch: int = 1000) -> int:
    """Insert or replace ownership rows; return how many."""
    ins = upsert_insert(db.dialect, _o)
    stmt = ins.on_conflict_do_update(
        index_elements=[_o.c.object, _o.c.key, _o.c.field],
        set_={"owner": ins.excluded.owner, "since_run_id": ins.excluded.since_run_id,
              "last_seen": ins.excluded.last_seen})
    total = 0
    for chunk in chunked(rows, batch):
        latest = {(r.object, r.key, r.field): r for r in chunk}
        with db.write() as conn:
            conn.execute(stmt, [{"object": r.object, "key": r.key, "field": r.field,
                                 "owner": str(Owner(r.owner)), "since_run_id": r.since_run_id,
                                 "last_seen": r.last_seen} for r in latest.values()])
        total += len(latest)
    return total
