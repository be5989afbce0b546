"""Sending one chunk of changes: ledger intents first, the write, then the results.

The ledger intent is committed *before* the chunk goes to Salesforce, and the results
after; a crash in between leaves intents without results, which the next run looks up
in the org (:mod:`sfrenew.apply.recover`) before sending anything again. Rejected rows
are data: recorded as failed, kept as dead letters with Salesforce's error, and
retried by the next run (the diff still sees the difference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfrenew.core.changeset import ChangeKind, RecordChange
from sfrenew.salesforce.port import GatewayPort, WriteRequest
from sfrenew.salesforce.results import Operation as SfOperation
from sfrenew.salesforce.results import RowResult
from sfrenew.store.port import StorePort
from sfrenew.store.values import (
    FieldWrite,
    Operation,
    RecordedIntent,
    Rejection,
    WriteCounts,
    WriteIntent,
    WriteResult,
    WriteStatus,
)

# Test hook for crash-safety tests: SIGKILL this process after that many chunks were
# sent (before their results are recorded, the worst moment), or after recording them.

_SEND_ORDER = (SfOperation.DELETE, SfOperation.UPSERT, SfOperation.INSERT, SfOperation.UPDATE)
_OPERATION = {ChangeKind.CREATE: Operation.CREATE, ChangeKind.UPDATE: Operation.UPDATE,
              ChangeKind.CLOSE: Operation.CLOSE, ChangeKind.DELETE: Operation.DELETE}


@dataclass(frozen=True)
class Target:
    """How one sObject is written: upsert by key field, or insert/update by Id."""

    sobject: str
    key_field: str | None  # upsert by it when set (Opportunity, OpportunityLineItem)
    upsert: bool
    stamp: Mapping[str, Any] = field(default_factory=dict)  # extra fields on every write


@dataclass
class ApplyTotals:
    """What an apply did, per object, plus the ids it learnt by key."""

    written: dict[str, WriteCounts] = field(default_factory=dict)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (object, key) -> Id
    rejected: list[Rejection] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    stopped: bool = False

    def count(self, obj: str, **kw: int) -> None:
        """Add to one object's counts."""
        self.written[obj] = self.written.get(obj, WriteCounts()) + WriteCounts(**kw)


def chunk_checkpoint(chunks: int, point: str) -> None:
    """Called after a chunk was sent (``point`` "before_results") and after its results
    were recorded ("after_results"). Does nothing: it is the seam the crash tests patch
    in their own process to die at exactly these places."""


def _payload(change: RecordChange, target: Target, refs: Mapping[str, str]) -> dict[str, Any]:
    if change.kind is ChangeKind.DELETE:
        return {"Id": change.sf_id}
    row: dict[str, Any] = {c.field: c.after for c in change.changes}
    row.update(refs)
    if change.kind is ChangeKind.CREATE or change.changes:
        row.update(target.stamp)
    if target.upsert and target.key_field:
        row[target.key_field] = change.key
    elif change.kind is ChangeKind.CREATE:
        if target.key_field:
            row[target.key_field] = change.key
    else:
        row["Id"] = change.sf_id
    return row


def _intent(change: RecordChange, row: Mapping[str, Any], target: Target) -> WriteIntent:
    before = {c.field: c.before for c in change.changes}
    skip = {"Id", target.key_field}
    return WriteIntent(object=target.sobject, key=change.key, operation=_OPERATION[change.kind],
                       fields=tuple(FieldWrite(f, before.get(f), v) for f, v in sorted(
                           row.items()) if f not in skip),
                       sf_id=change.sf_id)


@dataclass(frozen=True)
class SentRow:
    """One row sent to Salesforce: what the ledger and the totals need of its change."""

    object: str
    key: str
    kind: ChangeKind
    sf_id: str | None
    seq: int  # its intent in the ledger
    row: Mapping[str, Any]
    # The intent as recorded, kept with a row answered much later (a Bulk job), so its
    # result need not read it back from the ledger.
    intent: RecordedIntent | None = None


def _rejection(sent: SentRow, result: RowResult) -> Rejection:
    return Rejection(object=sent.object, key=sent.key, operation=_OPERATION[sent.kind],
                     error_code=result.error_code or "UNKNOWN_EXCEPTION",
                     message=result.message or "", payload=dict(sent.row), fields=result.fields)


def sf_operation(target: Target, kind: ChangeKind) -> SfOperation:
    """How a change is sent: sfrenew's own expired rows (analytics retention) are
    deleted by Id; the rest are upserted by key, or inserted and updated by Id."""
    if kind is ChangeKind.DELETE:
        return SfOperation.DELETE
    if target.upsert:
        return SfOperation.UPSERT
    return SfOperation.INSERT if kind is ChangeKind.CREATE else SfOperation.UPDATE


def record_intents(*, store: StorePort, run_id: str, target: Target,
                   changes: Sequence[RecordChange], refs: Sequence[Mapping[str, str]],
                   clock: Callable[[], datetime], answered_soon: bool = True) -> list[SentRow]:
    """Each change's row, its intent committed to the ledger (before it is sent;
    ``answered_soon``: False when the answer comes only at the end of a Bulk job, and
    each row then carries its recorded intent)."""
    rows = [_payload(c, target, r) for c, r in zip(changes, refs, strict=True)]
    intents = [_intent(c, r, target) for c, r in zip(changes, rows, strict=True)]
    if answered_soon:
        seqs = store.record_intents(run_id, intents, now=clock())
        return [SentRow(c.object, c.key, c.kind, c.sf_id, seq, row)
                for c, row, seq in zip(changes, rows, seqs, strict=True)]
    kept = store.record_intents_kept(run_id, intents, now=clock())
    return [SentRow(c.object, c.key, c.kind, c.sf_id, it.seq, row, it)
            for c, row, it in zip(changes, rows, kept, strict=True)]


@dataclass(frozen=True)
class Chunk:
    """Changes of one target sent together, with each change's resolved lookups."""

    target: Target
    changes: Sequence[RecordChange]
    refs: Sequence[Mapping[str, str]]


def send_chunk(*, gateway: GatewayPort, store: StorePort, run_id: str, target: Target,
               changes: Sequence[RecordChange], refs: Sequence[Mapping[str, str]],
               clock: Callable[[], datetime], totals: ApplyTotals) -> None:
    """Write one chunk of one object's changes, with the ledger around it."""
    send_chunks(gateway=gateway, store=store, run_id=run_id,
                chunks=[Chunk(target, changes, refs)], clock=clock, totals=totals)


def send_chunks(*, gateway: GatewayPort, store: StorePort, run_id: str,
                chunks: Sequence[Chunk], clock: Callable[[], datetime],
                totals: ApplyTotals) -> None:
    """Write independent chunks (no change of one looks up a record of another) in one
    go, so their Bulk jobs run at the same time; every intent is in the ledger before
    anything is sent, and every result after."""
    sent = [record_intents(store=store, run_id=run_id, target=chunk.target,
                           changes=chunk.changes, refs=chunk.refs, clock=clock)
            for chunk in chunks]
    requests: list[WriteRequest] = []
    slots: list[list[tuple[int, list[int]]]] = []  # per chunk: (request, row indexes)
    for chunk, rows in zip(chunks, sent, strict=True):
        target = chunk.target
        mine: list[tuple[int, list[int]]] = []
        for op in _SEND_ORDER:
            idx = [i for i, r in enumerate(rows) if sf_operation(target, r.kind) is op]
            if idx:
                mine.append((len(requests), idx))
                external_id = target.key_field if op is SfOperation.UPSERT else None
                requests.append(WriteRequest(op, target.sobject, [rows[i].row for i in idx],
                                             external_id))
        slots.append(mine)
    answers = gateway.write_many(requests)
    for chunk, rows, mine in zip(chunks, sent, slots, strict=True):
        results = [RowResult(index=i, id=None, created=False, success=False)
                   for i in range(len(rows))]
        for number, idx in mine:
            for i, answer in zip(idx, answers[number], strict=True):
                results[i] = answer
        totals.chunks += 1
        chunk_checkpoint(totals.chunks, "before_results")
        record_results(store=store, run_id=run_id, target=chunk.target, sent=rows,
                       results=results, clock=clock, totals=totals)
        chunk_checkpoint(totals.chunks, "after_results")


def record_results(*, store: StorePort, run_id: str, target: Target, sent: Sequence[SentRow],
                   results: Sequence[RowResult], clock: Callable[[], datetime],
                   totals: ApplyTotals) -> None:
    """The outcomes of sent rows in the ledger, the rejected ones as dead letters."""
    outcomes: list[WriteResult] = []
    done_keys: list[str] = []
    bad: list[Rejection] = []
    for change, result in zip(sent, results, strict=True):
        if result.success:
            sf_id = result.id or change.sf_id
            outcomes.append(WriteResult(change.seq, WriteStatus.SUCCEEDED, sf_id=sf_id))
            if sf_id:
                totals.ids[(change.object, change.key)] = sf_id
            done_keys.append(change.key)
            # An upsert says whether it created; a create found existing is an update.
            created = result.created if target.upsert else change.kind is ChangeKind.CREATE
            if change.kind is ChangeKind.DELETE:
                totals.count(change.object, deleted=1)
            else:
                totals.count(change.object, created=int(created), updated=int(not created))
        else:
            outcomes.append(WriteResult(change.seq, WriteStatus.FAILED,
                                        error_code=result.error_code,
                                        error_message=result.message,
                                        error_fields=result.fields))
            bad.append(_rejection(change, result))
            totals.count(change.object, rejected=1)
    store.record_results(run_id, outcomes, now=clock(),
                         intents=[s.intent for s in sent if s.intent is not None])
    totals.rejected.extend(bad)
    if bad:
        store.add_dead_letters(run_id, bad, now=clock())
    if done_keys:
        store.resolve_dead_letters(target.sobject, done_keys, now=clock())


def reject_unwritable(*, store: StorePort, run_id: str, change: RecordChange, code: str,
                      message: str, clock: Callable[[], datetime], totals: ApplyTotals) -> None:
    """A change sfrenew cannot send (its parent was not written): a dead letter."""
    rejection = Rejection(object=change.object, key=change.key,
                          operation=_OPERATION.get(change.kind, Operation.UPDATE),
                          error_code=code, message=message)
    totals.rejected.append(rejection)
    totals.count(change.object, rejected=1)
    store.add_dead_letters(run_id, [rejection], now=clock())
