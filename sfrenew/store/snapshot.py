"""The ledger's last-written snapshot: what its history means for the next plan.

A plan needs, for every record it may write, the last value sfrenew successfully
wrote to each field (a different value in the org is a person's edit) and the
record's Salesforce Id (a record sfrenew wrote and the org no longer holds was
deleted by a person, and stays deleted). Reading that from the ledger's history
meant folding every write ever made to the record, on every plan. The snapshot
keeps the fold's result instead, one row per (object, key, field) in
``ledger_last`` and one per record in ``ledger_keys``, and :func:`settle` moves it
forward in the same transaction that records the results it follows from, so the
snapshot and the history never disagree.

The history's meaning, kept exactly (``write_id`` is ``ledger_intents.id``, the
global write order):

* only successful writes count; a field's value is the one of its newest write;
* a successful delete of a key forgets every earlier write to it (a record
  re-created under the key starts clean), and a record's Id is the one of its
  newest write that has one, unless a newer delete forgot it;
* results may be recorded out of write order (a crashed run's intents settled
  after a later run wrote): each row keeps the ``write_id`` it comes from and is
  only replaced by a newer write.

The rows are built from the writes the caller holds in memory (the values as the
JSON text stored in ``ledger_fields``: neither decoded nor encoded again) and sent
as one conditional upsert per batch whose rows are bound parameters, not copied from
the history by joining it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Text,
    and_,
    bindparam,
    delete,
    or_,
    select,
    type_coerce,
)

from sfrenew.store import schema
from sfrenew.store._sql import IN_CHUNK, chunked, upsert_insert
from sfrenew.store.engine import Database
from sfrenew.store.values import Operation, WriteStatus

_i = schema.ledger_intents
_f = schema.ledger_fields
_res = schema.ledger_results
_last = schema.ledger_last
_keys = schema.ledger_keys


@dataclass(frozen=True)
class SettledWrite:
    """A write whose success was just recorded: what the snapshot needs of it."""

    write_id: int  # ledger_intents.id
    object: str
    key: str
    operation: Operation
    sf_id: str | None  # the result's Id, else the intent's
    # (field, value after) of the write, the value as stored JSON text: copied into
    # the snapshot as it is, neither decoded nor encoded again.
    fields: tuple[tuple[str, str | None], ...] = ()


def settle(conn: Connection, writes: Iterable[SettledWrite]) -> None:
    """Move the snapshot forward by successful ``writes`` (any order, any records),
    inside the caller's transaction."""
    ordered = sorted(writes, key=lambda w: w.write_id)
    if not ordered:
        return
    dialect = conn.dialect.name
    deletes = [w for w in ordered if w.operation is Operation.DELETE]
    if deletes:
        _forget(conn, dialect, deletes)
    kept = [w for w in ordered if w.operation is not Operation.DELETE]
    _remember_ids(conn, dialect, kept)
    _remember_fields(conn, kept)


def _forget(conn: Connection, dialect: str, deletes: Sequence[SettledWrite]) -> None:
    newest: dict[tuple[str, str], int] = {}
    for w in deletes:
        newest[(w.object, w.key)] = max(w.write_id, newest.get((w.object, w.key), 0))
    ins = upsert_insert(dialect, _keys)
    conn.execute(ins.on_conflict_do_update(
        index_elements=[_keys.c.object, _keys.c.key],
        set_={"deleted_write": ins.excluded.deleted_write},
        where=or_(_keys.c.deleted_write.is_(None),
                  _keys.c.deleted_write < ins.excluded.deleted_write)),
        [{"object": o, "key": k, "deleted_write": d} for (o, k), d in newest.items()])
    conn.execute(delete(_last).where(_last.c.object == bindparam("o"),
                                     _last.c.key == bindparam("k"),
                                     _last.c.write_id < bindparam("d")),
                 [{"o": o, "k": k, "d": d} for (o, k), d in newest.items()])


def _remember_ids(conn: Connection, dialect: str, writes: Sequence[SettledWrite]) -> None:
    newest: dict[tuple[str, str], SettledWrite] = {}
    for w in writes:  # in write order: the last one with an Id wins
        if w.sf_id:
            newest[(w.object, w.key)] = w
    if not newest:
        return
    ins = upsert_insert(dialect, _keys)
    conn.execute(ins.on_conflict_do_update(
        index_elements=[_keys.c.object, _keys.c.key],
        set_={"sf_id": ins.excluded.sf_id, "sf_id_write": ins.excluded.sf_id_write},
        where=or_(_keys.c.sf_id_write.is_(None),
                  _keys.c.sf_id_write < ins.excluded.sf_id_write)),
        [{"object": w.object, "key": w.key, "sf_id": w.sf_id, "sf_id_write": w.write_id}
         for w in newest.values()])


def _remember_fields(conn: Connection, writes: Sequence[SettledWrite]) -> None:
    # Built from the values in memory (the caller has them): one row per field, the
    # batch's newest write of it, sent as one statement (per chunk on SQLite), so no
    # INSERT … SELECT over the history and no statement per row. Rows never replace a
    # newer write, and fields of writes older than the key's newest delete (stored, or
    # settled just before in this batch) stay forgotten: the statement checks both.
    newest: dict[tuple[str, str, str], tuple[str | None, int]] = {}
    for w in writes:  # in write order: the newest write of a field wins
        for name, value in w.fields:
            newest[(w.object, w.key, name)] = (value, w.write_id)
    if not newest:
        return
    rows = [(*ident, *row) for ident, row in newest.items()]
    if conn.dialect.name == "postgresql":
        # Five arrays, one per column: the driver adapts a list at once, where a
        # VALUES list of thousands of placeholders costs it a parse per statement.
        conn.exec_driver_sql(_field_upsert(conn, "unnest(%s::text[], %s::text[], "
                                                 "%s::text[], %s::text[], %s::bigint[]) AS v "
                                                 "(column1, column2, column3, column4, column5)"),
                             tuple(list(column) for column in zip(*rows, strict=True)))
        return
    for part in chunked(rows, _ROWS_PER_STATEMENT):
        values = ", ".join(["(?, ?, ?, ?, ?)"] * len(part))
        conn.exec_driver_sql(_field_upsert(conn, f"(VALUES {values}) AS v"),
                             tuple(value for row in part for value in row))


# Five parameters a row: far below SQLite's 32,766 variables.
_ROWS_PER_STATEMENT = 2000


def _field_upsert(conn: Connection, source: str) -> str:
    """``INSERT … SELECT`` into ``ledger_last`` from ``source``, a row source ``v`` of
    five columns ``column1``…``column5`` (object, key, field, value, write_id) made
    only of placeholders."""
    quote = conn.dialect.identifier_preparer.quote
    last, keys = quote(_last.name), quote(_keys.name)
    obj, key, field, value, write_id = (quote(c) for c in
                                        ("object", "key", "field", "value", "write_id"))
    # VALUES names its columns column1…column5 (SQLite takes no alias list).
    return (
        f"INSERT INTO {last} ({obj}, {key}, {field}, {value}, {write_id}) "  # noqa: S608 -- names from the schema, values bound
        f"SELECT v.column1, v.column2, v.column3, v.column4, CAST(v.column5 AS BIGINT) "
        f"FROM {source} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {keys} AS d WHERE d.{obj} = v.column1 "
        f"AND d.{key} = v.column2 AND d.deleted_write > CAST(v.column5 AS BIGINT)) "
        f"ON CONFLICT ({obj}, {key}, {field}) DO UPDATE SET {value} = excluded.{value}, "
        f"{write_id} = excluded.{write_id} WHERE {last}.{write_id} < excluded.{write_id}")


def backfill(conn: Connection) -> int:
    """Build the snapshot from the whole ledger history (the migration to schema 3);
    return how many successful writes it read. Reads the history a page at a time in
    write order."""
    stmt = (select(_i.c.id, _i.c.object, _i.c.key, _i.c.operation,
                   _i.c.sf_id.label("intent_sf_id"), _res.c.sf_id.label("result_sf_id"))
            .select_from(_i.join(_res, and_(_res.c.run_id == _i.c.run_id,
                                            _res.c.seq == _i.c.seq)))
            .where(_res.c.status == str(WriteStatus.SUCCEEDED)))
    after = 0
    total = 0
    while True:
        rows = list(conn.execute(stmt.where(_i.c.id > after).order_by(_i.c.id)
                                 .limit(IN_CHUNK)))
        fields: dict[int, list[tuple[str, str | None]]] = {}
        if rows:
            for write_id, name, value in conn.execute(
                    select(_i.c.id, _f.c.field, stored_text(_f.c.value_after))
                    .select_from(_f.join(_i, and_(_f.c.run_id == _i.c.run_id,
                                                  _f.c.seq == _i.c.seq)))
                    .where(_i.c.id.in_([row.id for row in rows]))):
                fields.setdefault(write_id, []).append((name, value))
        settle(conn, (_settled(row, fields.get(row.id, ())) for row in rows))
        total += len(rows)
        if len(rows) < IN_CHUNK:
            return total
        after = rows[-1].id


def _settled(row: Any, fields: Iterable[tuple[str, str | None]]) -> SettledWrite:
    sf_id = row.result_sf_id if row.result_sf_id is not None else row.intent_sf_id
    return SettledWrite(write_id=row.id, object=row.object, key=row.key,
                        operation=Operation(row.operation), sf_id=sf_id,
                        fields=tuple(fields))


def stored_text(column: Any) -> Any:
    """``column`` (a JSON value column) as its stored text, not decoded."""
    return type_coerce(column, Text)


def last_written(db: Database, object_name: str,
                 keys: Iterable[str]) -> dict[tuple[str, str], Any]:
    """``{(key, field): value}``: the last value sfrenew successfully wrote to each
    field of the records with those keys (none after a delete of the key)."""
    out: dict[tuple[str, str], Any] = {}
    with db.read() as conn:
        for part in chunked(dict.fromkeys(keys), IN_CHUNK):
            stmt = (select(_last.c.key, _last.c.field, _last.c.value)
                    .where(_last.c.object == object_name, _last.c.key.in_(part)))
            for key, name, value in conn.execute(stmt):
                out[(key, name)] = value
    return out


def find_by_keys(db: Database, object_name: str, keys: Iterable[str]) -> dict[str, str]:
    """``{key: sf_id}`` of records sfrenew wrote and did not delete since."""
    out: dict[str, str] = {}
    with db.read() as conn:
        for part in chunked(dict.fromkeys(keys), IN_CHUNK):
            stmt = (select(_keys.c.key, _keys.c.sf_id)
                    .where(_keys.c.object == object_name, _keys.c.key.in_(part),
                           _keys.c.sf_id.is_not(None),
                           or_(_keys.c.deleted_write.is_(None),
                               _keys.c.sf_id_write > _keys.c.deleted_write)))
            out.update((key, sf_id) for key, sf_id in conn.execute(stmt))
    return out
