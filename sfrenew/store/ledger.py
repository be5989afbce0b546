"""The ledger: every write recorded before it is sent (intent) and after (result).

Append-only. ``record_intents`` writes a chunk's intents, one row per record plus one
row per field, in one transaction before the chunk goes to Salesforce;
``record_results`` adds one result row per intent after Salesforce answered, and in
the same transaction moves the last-written snapshot forward
(:mod:`sfrenew.store.snapshot`), which is what plans read. An
intent without a result is a write whose fate is unknown (the process died in
between): :func:`pending_intents` lists them so a resumed run can look in the org
before writing again. ``seq`` numbers writes within a run; the global ``id`` orders
writes across runs, which is what "the last value sfrenew wrote" means.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select

from sfrenew.store import schema, snapshot
from sfrenew.store._sql import IN_CHUNK, chunked, insert_many
from sfrenew.store.engine import Database
from sfrenew.store.errors import RunStateError, UnknownIntent, UnknownRun
from sfrenew.store.values import (
    NOT_SENT,
    FieldWrite,
    LedgerCounts,
    LedgerEntry,
    Operation,
    RecordWrites,
    WriteIntent,
    WriteResult,
    WriteStatus,
)

_i = schema.ledger_intents
_f = schema.ledger_fields
_res = schema.ledger_results
_PAGE = 1000

_join_result = and_(_res.c.run_id == _i.c.run_id, _res.c.seq == _i.c.seq)
_join_fields = and_(_f.c.run_id == _i.c.run_id, _f.c.seq == _i.c.seq)


def record_intents(db: Database, run_id: str, intents: Iterable[WriteIntent], *,
                   now: datetime) -> list[int]:
    """Record a chunk of intents in one transaction; return their ``seq`` in order."""
    chunk = list(intents)
    if not chunk:
        return []
    with db.write() as conn:
        if conn.scalar(select(schema.runs.c.run_id)
                       .where(schema.runs.c.run_id == run_id)) is None:
            raise UnknownRun(f"no run {run_id!r} in the state store")
        last = conn.scalar(select(func.coalesce(func.max(_i.c.seq), 0))
                           .where(_i.c.run_id == run_id)) or 0
        seqs = list(range(last + 1, last + 1 + len(chunk)))
        insert_many(conn, _i.insert(), [
            {"run_id": run_id, "seq": seq, "object": it.object, "key": it.key,
             "operation": str(Operation(it.operation)), "sf_id": it.sf_id, "recorded_at": now}
            for seq, it in zip(seqs, chunk, strict=True)])
        fields = [{"run_id": run_id, "seq": seq, "field": fw.field,
                   "value_before": fw.before, "value_after": fw.after}
                  for seq, it in zip(seqs, chunk, strict=True) for fw in it.fields]
        insert_many(conn, _f.insert(), fields)
    return seqs


def record_results(db: Database, run_id: str, results: Iterable[WriteResult], *,
                   now: datetime) -> None:
    """Record Salesforce's answers for intents of ``run_id`` in one transaction."""
    chunk = list(results)
    if not chunk:
        return
    for result in chunk:
        if WriteStatus(result.status) is WriteStatus.INTENT:
            raise ValueError(f"result for seq {result.seq} must be succeeded or failed")
    seqs = [r.seq for r in chunk]
    if len(set(seqs)) != len(seqs):
        raise RunStateError(f"run {run_id!r}: two results for one intent in a chunk")
    with db.write() as conn:
        known: dict[int, Any] = {}
        answered: set[int] = set()
        for part in chunked(seqs, IN_CHUNK):
            known.update((row.seq, row) for row in conn.execute(
                select(_i.c.seq, _i.c.id, _i.c.object, _i.c.key, _i.c.operation, _i.c.sf_id)
                .where(_i.c.run_id == run_id, _i.c.seq.in_(part))))
            answered.update(conn.scalars(select(_res.c.seq).where(_res.c.run_id == run_id,
                                                                  _res.c.seq.in_(part))))
        missing = sorted(set(seqs) - known.keys())
        if missing:
            raise UnknownIntent(f"run {run_id!r} has no intents with seq {missing[:10]}")
        if answered:
            raise RunStateError(
                f"run {run_id!r}: results already recorded for seq {sorted(answered)[:10]}")
        insert_many(conn, _res.insert(), [
            {"run_id": run_id, "seq": r.seq, "status": str(WriteStatus(r.status)),
             "sf_id": r.sf_id, "error_code": r.error_code, "error_message": r.error_message,
             "error_fields": list(r.error_fields), "recorded_at": now} for r in chunk])
        snapshot.settle(conn, [
            snapshot.SettledWrite(
                write_id=known[r.seq].id, object=known[r.seq].object, key=known[r.seq].key,
                operation=Operation(known[r.seq].operation),
                sf_id=r.sf_id if r.sf_id is not None else known[r.seq].sf_id)
            for r in chunk if WriteStatus(r.status) is WriteStatus.SUCCEEDED])


def _entries_query() -> Select[Any]:
    return (select(_i.c.run_id, _i.c.seq, _i.c.object, _i.c.key, _i.c.operation,
                   _i.c.sf_id.label("intent_sf_id"), _i.c.recorded_at.label("intent_at"),
                   _res.c.status, _res.c.sf_id.label("result_sf_id"),
                   _res.c.recorded_at.label("result_at"), _res.c.error_code,
                   _res.c.error_message, _res.c.error_fields)
            .select_from(_i.outerjoin(_res, _join_result)))


def iter_entries(db: Database, run_id: str, *,
                 status: WriteStatus | None = None) -> Iterator[LedgerEntry]:
    """Every ledger write of a run in ``seq`` order (optionally of one status),
    read a page at a time."""
    after = 0
    while True:
        stmt = _entries_query().where(_i.c.run_id == run_id, _i.c.seq > after)
        if status is WriteStatus.INTENT:
            stmt = stmt.where(_res.c.seq.is_(None))
        elif status is not None:
            stmt = stmt.where(_res.c.status == str(status))
        stmt = stmt.order_by(_i.c.seq).limit(_PAGE)
        with db.read() as conn:
            rows = list(conn.execute(stmt))
            fields = _fields_of(conn, run_id, [row.seq for row in rows])
        for row in rows:
            yield LedgerEntry(
                run_id=row.run_id, seq=row.seq, object=row.object, key=row.key,
                operation=Operation(row.operation),
                sf_id=row.result_sf_id or row.intent_sf_id,
                fields=fields.get(row.seq, ()),
                status=WriteStatus(row.status) if row.status else WriteStatus.INTENT,
                intent_at=row.intent_at, result_at=row.result_at,
                error_code=row.error_code, error_message=row.error_message,
                error_fields=tuple(row.error_fields or ()))
        if len(rows) < _PAGE:
            return
        after = rows[-1].seq


def _fields_of(conn: Any, run_id: str, seqs: Sequence[int]) -> dict[int, tuple[FieldWrite, ...]]:
    out: dict[int, list[FieldWrite]] = {}
    if seqs:
        stmt = (select(_f.c.seq, _f.c.field, _f.c.value_before, _f.c.value_after)
                .where(_f.c.run_id == run_id, _f.c.seq >= min(seqs), _f.c.seq <= max(seqs))
                .order_by(_f.c.seq, _f.c.field))
        for seq, name, before, after in conn.execute(stmt):
            out.setdefault(seq, []).append(FieldWrite(name, before, after))
    return {seq: tuple(fws) for seq, fws in out.items()}


def pending_intents(db: Database, run_id: str) -> list[LedgerEntry]:
    """Intents of ``run_id`` with no result: sent or not, nobody knows yet."""
    return list(iter_entries(db, run_id, status=WriteStatus.INTENT))


def writes_of_run(db: Database, run_id: str) -> list[RecordWrites]:
    """What ``run_id`` successfully did, folded per record (first-write order).

    For each field: the value before the run's first write of it and after its last.
    This is the input of a rollback: delete what was created, write ``before`` back.
    """
    folded: dict[tuple[str, str], RecordWrites] = {}
    for entry in iter_entries(db, run_id, status=WriteStatus.SUCCEEDED):
        ident = (entry.object, entry.key)
        prior = folded.get(ident)
        fields = dict(prior.fields) if prior else {}
        for fw in entry.fields:
            first = fields.get(fw.field)
            fields[fw.field] = FieldWrite(fw.field, first.before if first else fw.before,
                                          fw.after)
        folded[ident] = RecordWrites(
            object=entry.object, key=entry.key,
            sf_id=entry.sf_id or (prior.sf_id if prior else None),
            created=(prior.created if prior else False) or entry.operation is Operation.CREATE,
            deleted=entry.operation is Operation.DELETE, fields=fields)
    return list(folded.values())


def _succeeded_writes(object_name: str, keys: Sequence[str]) -> Select[Any]:
    return (select(_i.c.key, _i.c.operation,
                   func.coalesce(_res.c.sf_id, _i.c.sf_id).label("sf_id"),
                   _f.c.field, _f.c.value_after, _res.c.recorded_at)
            .select_from(_i.join(_res, _join_result).outerjoin(_f, _join_fields))
            .where(_i.c.object == object_name, _i.c.key.in_(keys),
                   _res.c.status == str(WriteStatus.SUCCEEDED))
            .order_by(_i.c.id, _f.c.field))


def last_written(db: Database, object_name: str,
                 keys: Iterable[str]) -> dict[tuple[str, str], Any]:
    """``{(key, field): value}``: the last value sfrenew successfully wrote to each field.

    A successful delete forgets what was written to that key before it, so a record
    re-created under the same key starts clean. Read from the snapshot that
    :func:`record_results` keeps (:mod:`sfrenew.store.snapshot`), not the history.
    """
    return snapshot.last_written(db, object_name, keys)


def last_operations(db: Database, object_name: str, keys: Iterable[str],
                    field: str) -> dict[str, tuple[Operation, datetime]]:
    """``{key: (operation, when)}``: how and when (the result's time) sfrenew last
    successfully wrote ``field`` of each key (e.g. ``close``: sfrenew completed the task
    itself). A successful delete forgets it."""
    out: dict[str, tuple[Operation, datetime]] = {}
    with db.read() as conn:
        for part in chunked(dict.fromkeys(keys), IN_CHUNK):
            for row in conn.execute(_succeeded_writes(object_name, part)):
                if row.operation == Operation.DELETE:
                    out.pop(row.key, None)
                elif row.field == field:
                    out[row.key] = (Operation(row.operation), row.recorded_at)
    return out


def find_by_keys(db: Database, object_name: str, keys: Iterable[str]) -> dict[str, str]:
    """``{key: sf_id}`` of records sfrenew wrote and did not delete since."""
    return snapshot.find_by_keys(db, object_name, keys)


def written_counts(db: Database, run_ids: Iterable[str]) -> dict[str, dict[str, LedgerCounts]]:
    """``{run_id: {object: LedgerCounts}}`` from the ledger itself: every write each run
    recorded, over all its attempts (a resumed run keeps its id), killed ones included.

    One grouped query per chunk of runs; runs with no write are absent.
    """
    tally: dict[str, dict[str, dict[str, int]]] = {}
    with db.read() as conn:
        for part in chunked(dict.fromkeys(run_ids), IN_CHUNK):
            # Grouped by error code too (a handful per run): NOT_SENT is told apart here.
            stmt = (select(_i.c.run_id, _i.c.object, _i.c.operation, _res.c.status,
                           _res.c.error_code, func.count())
                    .select_from(_i.outerjoin(_res, _join_result))
                    .where(_i.c.run_id.in_(part))
                    .group_by(_i.c.run_id, _i.c.object, _i.c.operation, _res.c.status,
                              _res.c.error_code))
            for run_id, obj, operation, status, code, n in conn.execute(stmt):
                counts = tally.setdefault(run_id, {}).setdefault(obj, {})
                what = _counted_as(Operation(operation), status, code == NOT_SENT)
                if what is not None:
                    counts[what] = counts.get(what, 0) + int(n)
    return {run_id: {obj: LedgerCounts(**counts) for obj, counts in sorted(per.items())}
            for run_id, per in tally.items()}


def _counted_as(operation: Operation, status: str | None, not_sent: bool) -> str | None:
    if status is None:
        return "unknown"
    if WriteStatus(status) is WriteStatus.FAILED:
        return None if not_sent else "rejected"
    return {Operation.CREATE: "created", Operation.DELETE: "deleted"}.get(operation, "updated")
