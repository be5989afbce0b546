"""The ledger: every write recorded before it is sent (intent) and after (result).

Append-only. ``record_intents`` writes a chunk's intents, one row per record plus one
row per field, in one transaction before the chunk goes to Salesforce;
``record_results`` adds one result row per intent after Salesforce answered, and in
the same transaction moves the last-written snapshot forward
(:mod:`sfrenew.store.snapshot`), which is what plans read; the intents a store
recorded are kept in its :class:`IntentBook` until then, so the snapshot's rows are
built without reading them back (ADR 0020). An
intent without a result is a write whose fate is unknown (the process died in
between): :func:`pending_intents` lists them so a resumed run can look in the org
before writing again. ``seq`` numbers writes within a run; the global ``id`` orders
writes across runs, which is what "the last value sfrenew wrote" means.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select, text
from sqlalchemy.exc import IntegrityError

from sfrenew.store import codec, schema, snapshot
from sfrenew.store._sql import IN_CHUNK, chunked, insert_many
from sfrenew.store.engine import Database
from sfrenew.store.errors import RunStateError, UnknownIntent, UnknownRun
from sfrenew.store.values import (
    NOT_SENT,
    FieldWrite,
    LedgerCounts,
    LedgerEntry,
    Operation,
    RecordedIntent,
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


class IntentBook:
    """The intents this process recorded and has not settled yet, kept in memory so
    that ``record_results`` builds the snapshot's rows without reading them back.

    Only committed intents enter it, and an intent never changes once recorded, so
    what it holds is always what the ledger holds. Anything not in it (a resumed run
    settling a dead process's intents, more than ``limit`` unsettled ones) is read
    from the ledger instead: the book saves a query, it decides nothing.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._intents: dict[tuple[str, int], RecordedIntent] = {}
        self._lock = threading.Lock()  # one store may serve several threads

    def add(self, intents: Iterable[RecordedIntent]) -> None:
        with self._lock:
            self._intents.update(((it.run_id, it.seq), it) for it in intents)
            while len(self._intents) > self._limit:  # forget the oldest (a failed chunk's)
                del self._intents[next(iter(self._intents))]

    def get(self, run_id: str, seqs: Iterable[int]) -> dict[int, RecordedIntent]:
        with self._lock:
            return {seq: it for seq in seqs if (it := self._intents.get((run_id, seq)))}

    def drop(self, run_id: str, seqs: Iterable[int]) -> None:
        with self._lock:
            for seq in seqs:
                self._intents.pop((run_id, seq), None)


def record_intents(db: Database, run_id: str, intents: Iterable[WriteIntent], *,
                   now: datetime, book: IntentBook | None = None,
                   kept: list[RecordedIntent] | None = None) -> list[int]:
    """Record a chunk of intents in one transaction; return their ``seq`` in order.

    Three statements: the run's check with its next ``seq`` and the chunk's write
    ids, then the intents and their fields (each one ``executemany``). The recorded
    intents go to ``book`` (answered soon) or are appended to ``kept`` (the caller
    keeps them until the answers come).
    """
    chunk = list(intents)
    if not chunk:
        return []
    with db.write() as conn:
        run, last, ids = _next_ids(conn, run_id, len(chunk))
        if run is None:
            raise UnknownRun(f"no run {run_id!r} in the state store")
        seqs = list(range(last + 1, last + 1 + len(chunk)))
        insert_many(conn, _i.insert(), [
            {"id": write_id, "run_id": run_id, "seq": seq, "object": it.object,
             "key": it.key, "operation": str(Operation(it.operation)), "sf_id": it.sf_id,
             "recorded_at": now} for write_id, seq, it in zip(ids, seqs, chunk, strict=True)])
        # Each value encoded once, for the history and for the snapshot.
        after = [tuple((fw.field, codec.dumps(fw.after)) for fw in it.fields)
                 for it in chunk]
        insert_many(conn, _f.insert(), [
            {"run_id": run_id, "seq": seq, "field": fw.field,
             "value_before": codec.dumps(fw.before), "value_after": text_after}
            for seq, it, texts in zip(seqs, chunk, after, strict=True)
            for fw, (_, text_after) in zip(it.fields, texts, strict=True)],
            raw=("value_before", "value_after"))
    if book is not None or kept is not None:
        recorded = [RecordedIntent(run_id=run_id, seq=seq, write_id=write_id,
                                   object=it.object, key=it.key,
                                   operation=Operation(it.operation), sf_id=it.sf_id,
                                   fields=texts)
                    for write_id, seq, it, texts in zip(ids, seqs, chunk, after, strict=True)]
        if book is not None:
            book.add(recorded)
        if kept is not None:
            kept.extend(recorded)
    return seqs


_PG_NEXT_IDS = text(
    "SELECT (SELECT run_id FROM runs WHERE run_id = :run_id),"
    " (SELECT coalesce(max(seq), 0) FROM ledger_intents WHERE run_id = :run_id),"
    " ARRAY(SELECT nextval(pg_get_serial_sequence('ledger_intents', 'id'))"
    " FROM generate_series(1, :n) ORDER BY 1)")


def _next_ids(conn: Connection, run_id: str, n: int) -> tuple[str | None, int, list[int]]:
    """The run (None if unknown), its last ``seq`` and ``n`` new write ids, in one
    query. Ids are taken before the insert so the snapshot knows them without
    reading them back: PostgreSQL's sequence hands them out, SQLite's write
    transaction (``BEGIN IMMEDIATE``) makes ``max(id)`` safe to count on."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(_PG_NEXT_IDS, {"run_id": run_id, "n": n}).one()
        return row[0], int(row[1]), list(row[2])
    run = select(schema.runs.c.run_id).where(schema.runs.c.run_id == run_id)
    last = select(func.coalesce(func.max(_i.c.seq), 0)).where(_i.c.run_id == run_id)
    top = select(func.coalesce(func.max(_i.c.id), 0))
    row = conn.execute(select(run.scalar_subquery(), last.scalar_subquery(),
                              top.scalar_subquery())).one()
    return row[0], int(row[1]), list(range(row[2] + 1, row[2] + 1 + n))


def record_results(db: Database, run_id: str, results: Iterable[WriteResult], *,
                   now: datetime, book: IntentBook | None = None,
                   intents: Iterable[RecordedIntent] = ()) -> None:
    """Record Salesforce's answers for intents of ``run_id`` in one transaction, and
    move the last-written snapshot forward by the successful ones. The answered
    intents are taken from ``intents`` (as ``record_intents`` gave them back), else
    from ``book``, else read from the ledger."""
    chunk = list(results)
    if not chunk:
        return
    for result in chunk:
        if WriteStatus(result.status) is WriteStatus.INTENT:
            raise ValueError(f"result for seq {result.seq} must be succeeded or failed")
    seqs = [r.seq for r in chunk]
    if len(set(seqs)) != len(seqs):
        raise RunStateError(f"run {run_id!r}: two results for one intent in a chunk")
    book = book if book is not None else IntentBook()
    try:
        with db.write() as conn:
            known = book.get(run_id, seqs)
            wanted = set(seqs)
            known.update((it.seq, it) for it in intents
                         if it.run_id == run_id and it.seq in wanted)
            missing = [seq for seq in seqs if seq not in known]
            if missing:
                known.update(_read_intents(conn, run_id, missing))
            # One result per intent: the primary key refuses a second one (below).
            insert_many(conn, _res.insert(), [
                {"run_id": run_id, "seq": r.seq, "status": str(WriteStatus(r.status)),
                 "sf_id": r.sf_id, "error_code": r.error_code,
                 "error_message": r.error_message, "error_fields": list(r.error_fields),
                 "recorded_at": now} for r in chunk])
            snapshot.settle(conn, [
                snapshot.SettledWrite(
                    write_id=it.write_id, object=it.object, key=it.key,
                    operation=it.operation,
                    sf_id=r.sf_id if r.sf_id is not None else it.sf_id, fields=it.fields)
                for r in chunk if WriteStatus(r.status) is WriteStatus.SUCCEEDED
                for it in (known[r.seq],)])
    except IntegrityError:
        answered = _answered(db, run_id, seqs)
        if answered:
            raise RunStateError(f"run {run_id!r}: results already recorded for seq "
                                f"{answered[:10]}") from None
        raise
    book.drop(run_id, seqs)


def _read_intents(conn: Connection, run_id: str, seqs: Sequence[int]) -> dict[int, RecordedIntent]:
    """The intents ``seqs`` of ``run_id`` from the ledger, checked: each exists and has
    no result yet. Folded row by row as they are fetched: a batch of a few thousand
    intents has tens of thousands of field rows, which are not held as rows."""
    heads: dict[int, tuple[int, str, str, Operation, str | None]] = {}
    fields: dict[int, list[tuple[str, str | None]]] = {}
    names: dict[str, str] = {}  # one string per field name, however many rows name it
    answered: set[int] = set()
    for part in chunked(seqs, IN_CHUNK):
        stmt = (select(_i.c.seq, _i.c.id, _i.c.object, _i.c.key, _i.c.operation,
                       _i.c.sf_id, _res.c.seq.label("answered"), _f.c.field,
                       snapshot.stored_text(_f.c.value_after).label("value"))
                .select_from(_i.outerjoin(_res, _join_result).outerjoin(_f, _join_fields))
                .where(_i.c.run_id == run_id, _i.c.seq.in_(part)))
        for seq, write_id, obj, key, op, sf_id, done, name, value in conn.execute(stmt):
            if seq not in heads:
                heads[seq] = (write_id, obj, key, Operation(op), sf_id)
                fields[seq] = []
            if done is not None:
                answered.add(seq)
            if name is not None:
                fields[seq].append((names.setdefault(name, name), value))
    missing = sorted(set(seqs) - heads.keys())
    if missing:
        raise UnknownIntent(f"run {run_id!r} has no intents with seq {missing[:10]}")
    if answered:
        raise RunStateError(
            f"run {run_id!r}: results already recorded for seq {sorted(answered)[:10]}")
    return {seq: RecordedIntent(run_id=run_id, seq=seq, write_id=write_id, object=obj,
                                key=key, operation=op, sf_id=sf_id,
                                fields=tuple(fields[seq]))
            for seq, (write_id, obj, key, op, sf_id) in heads.items()}


def _answered(db: Database, run_id: str, seqs: Sequence[int]) -> list[int]:
    with db.read() as conn:
        return sorted(seq for part in chunked(seqs, IN_CHUNK)
                      for seq in conn.scalars(select(_res.c.seq).where(
                          _res.c.run_id == run_id, _res.c.seq.in_(part))))


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
