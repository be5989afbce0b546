"""The mirror of pulled Salesforce records, and the watermark per object.

Pulls upsert in batches (one short transaction each, so a crash loses at most one
batch, which the next pull reads again: upserts are idempotent). The watermark of an
object is set by the caller only after every batch of that object's pull committed.

:func:`iter_groups` streams the mirror account by account with keyset pagination on
``(group_key, object, sf_id)``: each page is one bounded query in its own short read
transaction, so memory holds one account plus one page whatever the org's size, and
no long-lived read transaction pins SQLite's WAL or a PostgreSQL snapshot while the
rules run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, false, func, select, tuple_, update

from sfrenew.store import planstate, schema
from sfrenew.store._sql import IN_CHUNK, chunked, insert_many, upsert_insert
from sfrenew.store.engine import Database
from sfrenew.store.values import MirrorCount, MirrorGroup, MirrorRecord, MirrorRow

_m = schema.mirror
_COLUMNS = (_m.c.object, _m.c.sf_id, _m.c.group_key, _m.c.system_modstamp, _m.c.is_deleted,
            _m.c.data)


_MirrorRow = Row[Any, Any, Any, Any, Any, Any]


def _record(row: _MirrorRow) -> MirrorRecord:
    # Unpacked as a tuple: a Row's attributes are looked up by name on every access,
    # and a plan reads every record of the mirror through here.
    obj, sf_id, group_key, modstamp, is_deleted, data = row
    return MirrorRecord(object=obj, sf_id=sf_id, data=data, group_key=group_key,
                        system_modstamp=modstamp, is_deleted=bool(is_deleted))


def upsert(db: Database, object_name: str, rows: Iterable[MirrorRow], *, batch: int) -> int:
    """Insert or replace ``rows`` of one object; return how many were written."""
    ins = upsert_insert(db.dialect, _m)
    stmt = ins.on_conflict_do_update(
        index_elements=[_m.c.sf_id, _m.c.object],
        set_={"group_key": ins.excluded.group_key,
              "system_modstamp": ins.excluded.system_modstamp,
              "is_deleted": ins.excluded.is_deleted,
              "data": ins.excluded.data})
    total = 0
    for chunk in chunked(rows, batch):
        # The same Id twice in one statement is an error on PostgreSQL; last one wins.
        latest = {row.sf_id: row for row in chunk}
        params = [{"object": object_name, "sf_id": r.sf_id, "group_key": r.group_key,
                   "system_modstamp": r.system_modstamp, "is_deleted": r.is_deleted,
                   "data": r.data} for r in latest.values()]
        with db.write() as conn:
            # The accounts these rows leave (a record moved) change too: stamp both.
            moved = conn.scalars(select(_m.c.group_key).distinct().where(
                _m.c.object == object_name, _m.c.sf_id.in_(list(latest)))).all()
            planstate.stamp(conn, db.dialect, [*moved, *(r.group_key for r in latest.values())])
            insert_many(conn, stmt, params)
        total += len(params)
    return total


def mark_deleted(db: Database, object_name: str, ids: Iterable[str], *,
                 system_modstamp: str | None = None) -> int:
    """Flag mirrored records as deleted in the org; return how many were found."""
    count = 0
    values: dict[str, Any] = {"is_deleted": True}
    if system_modstamp is not None:
        values["system_modstamp"] = system_modstamp
    with db.write() as conn:
        for chunk in chunked(ids, IN_CHUNK):
            where = (_m.c.object == object_name, _m.c.sf_id.in_(chunk))
            groups = conn.scalars(select(_m.c.group_key).distinct().where(*where)).all()
            planstate.stamp(conn, db.dialect, groups)
            result = conn.execute(update(_m).where(*where).values(**values))
            count += result.rowcount
    return count


def purge_deleted(db: Database, object_name: str | None = None) -> int:
    """Drop records flagged deleted (all objects, or one); return how many.

    The flags are how a plan knows a person deleted a record sfrenew created (it is
    not created again): purging the renewal objects' tombstones forgets that.
    """
    stmt = delete(_m).where(_m.c.is_deleted.is_(True))
    if object_name is not None:
        stmt = stmt.where(_m.c.object == object_name)
    groups = select(_m.c.group_key).distinct().where(_m.c.is_deleted.is_(True))
    if object_name is not None:
        groups = groups.where(_m.c.object == object_name)
    with db.write() as conn:
        planstate.stamp(conn, db.dialect, conn.scalars(groups).all())
        return conn.execute(stmt).rowcount


def get(db: Database, object_name: str, ids: Iterable[str]) -> dict[str, MirrorRecord]:
    """The mirrored records of one object with the given Ids (absent ones are missing)."""
    out: dict[str, MirrorRecord] = {}
    with db.read() as conn:
        for chunk in chunked(ids, IN_CHUNK):
            stmt = select(*_COLUMNS).where(_m.c.object == object_name, _m.c.sf_id.in_(chunk))
            out.update((row.sf_id, _record(row)) for row in conn.execute(stmt))
    return out


def iter_object(db: Database, object_name: str, *, batch: int) -> Iterator[MirrorRecord]:
    """Every live mirrored record of one object, in ``sf_id`` order, a page at a time.

    For objects mirrored without an account (users, price book entries): a lookup
    table built once per plan. Keyset pages, each its own short read transaction.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    after: str | None = None
    while True:
        stmt = select(*_COLUMNS).where(_m.c.object == object_name, _m.c.is_deleted == false())
        if after is not None:
            stmt = stmt.where(_m.c.sf_id > after)
        with db.read() as conn:
            rows = list(conn.execute(stmt.order_by(_m.c.sf_id).limit(batch)))
        yield from (_record(row) for row in rows)
        if len(rows) < batch:
            return
        after = rows[-1].sf_id


def counts(db: Database) -> dict[str, MirrorCount]:
    """Live and deleted record counts per object."""
    stmt = (select(_m.c.object, _m.c.is_deleted, func.count())
            .group_by(_m.c.object, _m.c.is_deleted))
    tally: dict[str, dict[bool, int]] = {}
    with db.read() as conn:
        for obj, is_deleted, n in conn.execute(stmt):
            tally.setdefault(obj, {})[bool(is_deleted)] = n
    return {obj: MirrorCount(live=t.get(False, 0), deleted=t.get(True, 0))
            for obj, t in sorted(tally.items())}


def _page(db: Database, objects: Sequence[str], *, after: tuple[str, str, str] | None,
          after_group: str | None, batch: int, include_deleted: bool) -> list[_MirrorRow]:
    stmt = select(*_COLUMNS).where(_m.c.object.in_(objects), _m.c.group_key.is_not(None))
    if not include_deleted:
        stmt = stmt.where(_m.c.is_deleted == false())
    if after is not None:
        stmt = stmt.where(tuple_(_m.c.group_key, _m.c.object, _m.c.sf_id) > tuple_(*after))
    elif after_group is not None:
        stmt = stmt.where(_m.c.group_key > after_group)
    stmt = stmt.order_by(_m.c.group_key, _m.c.object, _m.c.sf_id).limit(batch)
    with db.read() as conn:
        return list(conn.execute(stmt))


def iter_groups(db: Database, objects: Iterable[str], *, batch: int,
                include_deleted: bool = False,
                after_group: str | None = None) -> Iterator[MirrorGroup]:
    """Every account's records of ``objects``, one :class:`MirrorGroup` at a time,
    in ``group_key`` order, starting after ``after_group`` (a checkpoint) if given.
    Records without a group key are not streamed."""
    wanted = sorted(set(objects))
    if not wanted:
        return
    if batch < 1:
        raise ValueError("batch must be at least 1")

    def pages() -> Iterator[MirrorRecord]:
        after: tuple[str, str, str] | None = None
        while True:
            rows = _page(db, wanted, after=after, after_group=after_group, batch=batch,
                         include_deleted=include_deleted)
            yield from (_record(row) for row in rows)
            if len(rows) < batch:
                return
            last = rows[-1]
            after = (last.group_key, last.object, last.sf_id)

    yield from _grouped(pages())


def iter_groups_of(db: Database, objects: Iterable[str], group_keys: Sequence[str], *,
                   batch: int) -> Iterator[MirrorGroup]:
    """The live records of ``objects`` of the accounts ``group_keys`` (sorted), one
    :class:`MirrorGroup` at a time in that order; an account with none is not yielded.
    ``batch`` accounts per query (each its own short read transaction)."""
    wanted = sorted(set(objects))
    if not wanted or not group_keys:
        return
    if batch < 1:
        raise ValueError("batch must be at least 1")

    def chunks() -> Iterator[MirrorRecord]:
        for chunk in chunked(group_keys, batch):
            stmt = (select(*_COLUMNS)
                    .where(_m.c.group_key.in_(chunk), _m.c.object.in_(wanted),
                           _m.c.is_deleted == false())
                    .order_by(_m.c.group_key, _m.c.object, _m.c.sf_id))
            with db.read() as conn:
                rows = list(conn.execute(stmt))
            yield from (_record(row) for row in rows)

    yield from _grouped(chunks())


def count_groups(db: Database, objects: Iterable[str]) -> int:
    """How many accounts :func:`iter_groups` would yield (for progress reporting)."""
    stmt = (select(func.count(func.distinct(_m.c.group_key)))
            .where(_m.c.object.in_(sorted(set(objects))), _m.c.group_key.is_not(None),
                   _m.c.is_deleted == false()))
    with db.read() as conn:
        return int(conn.scalar(stmt) or 0)


def group_keys(db: Database, objects: Iterable[str]) -> list[str]:
    """The accounts :func:`iter_groups` would yield, in ``group_key`` order."""
    stmt = (select(_m.c.group_key).distinct()
            .where(_m.c.object.in_(sorted(set(objects))), _m.c.group_key.is_not(None),
                   _m.c.is_deleted == false())
            .order_by(_m.c.group_key))
    with db.read() as conn:
        return [str(k) for k in conn.scalars(stmt)]


def _grouped(records: Iterable[MirrorRecord]) -> Iterator[MirrorGroup]:
    """Records in ``group_key`` order, one :class:`MirrorGroup` per account."""
    current: str | None = None
    by_object: dict[str, list[MirrorRecord]] = {}
    for record in records:
        if record.group_key != current:
            if current is not None:
                yield _group(current, by_object)
            current, by_object = record.group_key, {}
        by_object.setdefault(record.object, []).append(record)
    if current is not None:
        yield _group(current, by_object)


def _group(key: str, records: dict[str, list[MirrorRecord]]) -> MirrorGroup:
    return MirrorGroup(group_key=key, records={obj: tuple(rows) for obj, rows in records.items()})


# --- watermarks ---------------------------------------------------------------------

_w = schema.watermarks


def get_watermark(db: Database, object_name: str) -> datetime | None:
    """The SystemModstamp up to which ``object_name`` has been pulled, if any."""
    with db.read() as conn:
        value: datetime | None = conn.scalar(select(_w.c.value).where(_w.c.object == object_name))
        return value


def all_watermarks(db: Database) -> dict[str, datetime]:
    """Every object's watermark."""
    with db.read() as conn:
        rows = conn.execute(select(_w.c.object, _w.c.value).order_by(_w.c.object))
        return {str(obj): value for obj, value in rows}


def set_watermark(db: Database, object_name: str, value: datetime, *,
                  run_id: str | None = None) -> None:
    """Record that ``object_name`` is pulled up to ``value`` (by ``run_id``)."""
    ins = upsert_insert(db.dialect, _w).values(object=object_name, value=value, run_id=run_id)
    stmt = ins.on_conflict_do_update(index_elements=[_w.c.object],
                                     set_={"value": ins.excluded.value,
                                           "run_id": ins.excluded.run_id})
    with db.write() as conn:
        conn.execute(stmt)


def clear_watermarks(db: Database, objects: Iterable[str] | None = None) -> None:
    """Forget watermarks (all, or of ``objects``) so the next pull reads everything."""
    stmt = delete(_w)
    if objects is not None:
        stmt = stmt.where(_w.c.object.in_(list(objects)))
    with db.write() as conn:
        conn.execute(stmt)
