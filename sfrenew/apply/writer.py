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
from sfrenew.salesforce.port import GatewayPort
from sfrenew.salesforce.results import RowResult
from sfrenew.store.port import StorePort
from sfrenew.store.values import (
    FieldWrite,
    Operation,
    Rejection,
    WriteCounts,
    WriteIntent,
    WriteResult,
    WriteStatus,
)

# Test hook for crash-safety tests: SIGKILL this process after that many chunks were
# sent (before their results are recorded, the worst moment), or after recording them.

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


def _rejection(change: RecordChange, row: Mapping[str, Any], result: RowResult) -> Rejection:
    return Rejection(object=change.object, key=change.key, operation=_OPERATION[change.kind],
                     error_code=result.error_code or "UNKNOWN_EXCEPTION",
                     message=result.message or "", payload=dict(row), fields=result.fields)


def send_chunk(*, gateway: GatewayPort, store: StorePort, run_id: str, target: Target,
               changes: Sequence[RecordChange], refs: Sequence[Mapping[str, str]],
               clock: Callable[[], datetime], totals: ApplyTotals) -> None:
    """Write one chunk of one object's changes, with the ledger around it."""
    rows = [_payload(c, target, r) for c, r in zip(changes, refs, strict=True)]
    seqs = store.record_intents(run_id, [_intent(c, r, target) for c, r in
                                         zip(changes, rows, strict=True)], now=clock())
    results = [RowResult(index=i, id=None, created=False, success=False)
               for i in range(len(rows))]
    deletes = [i for i, c in enumerate(changes) if c.kind is ChangeKind.DELETE]
    creates = [i for i, c in enumerate(changes) if c.kind is ChangeKind.CREATE]
    updates = [i for i, c in enumerate(changes)
               if c.kind not in (ChangeKind.CREATE, ChangeKind.DELETE)]
    sends: list[tuple[str, list[int], str | None]] = [("delete", deletes, None)]
    if target.upsert:
        sends.append(("upsert", sorted(creates + updates), target.key_field))
    else:
        sends += [("insert", creates, None), ("update", updates, None)]
    for op, idx, external_id in sends:
        if idx:
            answers = gateway.write(op, target.sobject, [rows[i] for i in idx],
                                    external_id_field=external_id)
            for i, answer in zip(idx, answers, strict=True):
                results[i] = answer
    totals.chunks += 1
    chunk_checkpoint(totals.chunks, "before_results")
    outcomes: list[WriteResult] = []
    done_keys: list[str] = []
    bad: list[Rejection] = []
    for change, row, seq, result in zip(changes, rows, seqs, results, strict=True):
        if result.success:
            sf_id = result.id or change.sf_id
            outcomes.append(WriteResult(seq, WriteStatus.SUCCEEDED, sf_id=sf_id))
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
            outcomes.append(WriteResult(seq, WriteStatus.FAILED, error_code=result.error_code,
                                        error_message=result.message,
                                        error_fields=result.fields))
            bad.append(_rejection(change, row, result))
            totals.count(change.object, rejected=1)
    store.record_results(run_id, outcomes, now=clock())
    totals.rejected.extend(bad)
    if bad:
        store.add_dead_letters(run_id, bad, now=clock())
    if done_keys:
        store.resolve_dead_letters(target.sobject, done_keys, now=clock())
    chunk_checkpoint(totals.chunks, "after_results")


def reject_unwritable(*, store: StorePort, run_id: str, change: RecordChange, code: str,
                      message: str, clock: Callable[[], datetime], totals: ApplyTotals) -> None:
    """A change sfrenew cannot send (its parent was not written): a dead letter."""
    rejection = Rejection(object=change.object, key=change.key,
                          operation=_OPERATION.get(change.kind, Operation.UPDATE),
                          error_code=code, message=message)
    totals.rejected.append(rejection)
    totals.count(change.object, rejected=1)
    store.add_dead_letters(run_id, [rejection], now=clock())
