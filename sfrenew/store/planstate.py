"""Planning only what changed: the mirror's change markers and the per-account plan state.

Every write to the mirror takes the next *mirror version* and stamps the accounts it
touched in ``mirror_changes`` (the record's old account too, when it moved; ''
for records mirrored without an account). A plan saves, per account, the version it
saw, the day its plan may change with the date alone and its output
(``plan_state``). An account is planned again when it changed since (its stamp is
newer than its state) or its day has come; the plan's fingerprint and version are kept
in ``meta`` (see :mod:`sfrenew.plan.incremental`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select

from sfrenew.store import schema
from sfrenew.store._sql import IN_CHUNK, chunked, insert_many, upsert_insert
from sfrenew.store.engine import Database
from sfrenew.store.values import PlanMeta, PlanState

_c = schema.mirror_changes
_s = schema.plan_state
_meta = schema.meta
UNGROUPED = ""  # the mirror_changes row of records mirrored without an account
_FINGERPRINT = "plan_fingerprint"
_MARKER = "plan_marker"
_TODAY = "plan_today"
_META = (_FINGERPRINT, _MARKER, _TODAY)


def stamp(conn: Connection, dialect: str, groups: Iterable[str | None]) -> None:
    """Give ``groups`` (None: ungrouped records) the next mirror version, in the caller's
    write transaction."""
    keys = sorted({g if g is not None else UNGROUPED for g in groups})
    if not keys:
        return
    version = int(conn.scalar(select(func.coalesce(func.max(_c.c.version), 0))) or 0) + 1
    ins = upsert_insert(dialect, _c)
    stmt = ins.on_conflict_do_update(index_elements=[_c.c.group_key],
                                     set_={"version": ins.excluded.version})
    # The driver's executemany: a pull batch stamps up to 2,000 accounts, and SQLAlchemy's
    # own per-row parameter handling cost as much as the mirror rows' insert.
    insert_many(conn, stmt, [{"group_key": k, "version": version} for k in keys])


def mirror_version(db: Database) -> int:
    """The newest mirror version (0: nothing stamped yet)."""
    with db.read() as conn:
        return int(conn.scalar(select(func.coalesce(func.max(_c.c.version), 0))) or 0)


def ungrouped_version(db: Database) -> int:
    """The version of the last change to records mirrored without an account (0: none)."""
    with db.read() as conn:
        return int(conn.scalar(select(_c.c.version).where(_c.c.group_key == UNGROUPED)) or 0)


def get_meta(db: Database) -> PlanMeta | None:
    """The last complete plan's fingerprint and mirror version, if one was saved."""
    with db.read() as conn:
        rows = {str(name): str(value) for name, value in conn.execute(
            select(_meta.c.name, _meta.c.value).where(_meta.c.name.in_(_META)))}
    if any(name not in rows for name in _META):
        return None
    return PlanMeta(fingerprint=rows[_FINGERPRINT], marker=int(rows[_MARKER]),
                    today=rows[_TODAY])


def set_meta(db: Database, meta: PlanMeta | None) -> None:
    """Save (or, with None, forget: the next plan is a full pass) the plan's meta."""
    with db.write() as conn:
        conn.execute(delete(_meta).where(_meta.c.name.in_(_META)))
        if meta is not None:
            conn.execute(_meta.insert(), [{"name": _FINGERPRINT, "value": meta.fingerprint},
                                          {"name": _MARKER, "value": str(meta.marker)},
                                          {"name": _TODAY, "value": meta.today}])


def replan_groups(db: Database, today: str) -> list[str]:
    """The accounts to plan again, in order: changed since their state (or without one)
    and those whose ``replan_on`` has come."""
    changed = (select(_c.c.group_key)
               .outerjoin(_s, _s.c.group_key == _c.c.group_key)
               .where(_c.c.group_key != UNGROUPED,
                      or_(_s.c.marker.is_(None), _c.c.version > _s.c.marker)))
    due = select(_s.c.group_key).where(_s.c.replan_on <= today)
    with db.read() as conn:
        found = {str(k) for k in conn.scalars(changed)} | {str(k) for k in conn.scalars(due)}
    return sorted(found)


def iter_states(db: Database, *, batch: int,
                after_group: str | None = None) -> Iterator[PlanState]:
    """Every account's plan state (after ``after_group`` if given), in ``group_key``
    order, a page at a time."""
    after = after_group
    while True:
        stmt = select(_s.c.group_key, _s.c.marker, _s.c.replan_on, _s.c.entry)
        if after is not None:
            stmt = stmt.where(_s.c.group_key > after)
        with db.read() as conn:
            rows = list(conn.execute(stmt.order_by(_s.c.group_key).limit(batch)))
        for row in rows:
            yield PlanState(group_key=row.group_key, marker=int(row.marker),
                            replan_on=row.replan_on, entry=row.entry)
        if len(rows) < batch:
            return
        after = rows[-1].group_key


def save_states(db: Database, states: Iterable[PlanState], *,
                drop: Sequence[str] = ()) -> None:
    """Insert or replace plan states and drop those of ``drop`` (gone accounts), in one
    transaction."""
    rows: list[dict[str, Any]] = [
        {"group_key": s.group_key, "marker": s.marker, "replan_on": s.replan_on,
         "entry": dict(s.entry)} for s in states]
    ins = upsert_insert(db.dialect, _s)
    stmt = ins.on_conflict_do_update(
        index_elements=[_s.c.group_key],
        set_={"marker": ins.excluded.marker, "replan_on": ins.excluded.replan_on,
              "entry": ins.excluded.entry})
    with db.write() as conn:
        if rows:
            conn.execute(stmt, rows)
        for chunk in chunked(drop, IN_CHUNK):
            conn.execute(delete(_s).where(_s.c.group_key.in_(chunk)))


def clear_states(db: Database) -> None:
    """Forget every account's plan state (a full pass starts with this)."""
    with db.write() as conn:
        conn.execute(delete(_s))
