"""Undoing a run: delete what it created, put back what it changed.

Record by record and field by field from the ledger (``writes_of_run``), except where
the org no longer holds what that run wrote. A field holding the last value any
sfrenew run wrote to it was changed by sfrenew (a later run): that is not a person's
change, and it is left as that run wrote it (a record the run created is still
deleted). Any other value is a person's: reported and left alone. Deletes go
children first (tasks, lines, then opportunities: deleting an opportunity would take
its lines with it). The rollback is itself a run with its own ledger entries (delete / restore).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfrenew.core.changeset import same_value
from sfrenew.salesforce.port import GatewayPort
from sfrenew.store.port import StorePort
from sfrenew.store.values import (
    FieldWrite,
    Operation,
    RecordWrites,
    WriteCounts,
    WriteIntent,
    WriteResult,
    WriteStatus,
)


@dataclass(frozen=True)
class RollbackItem:
    """One record's fate in a rollback."""

    object: str
    key: str
    sf_id: str | None
    action: str  # delete | restore | left_alone | gone | nothing
    fields: tuple[str, ...] = ()  # restored fields, or the fields people changed
    detail: str = ""


@dataclass
class RollbackReport:
    """What a rollback did (or, dry, would do)."""

    run_id: str
    dry_run: bool
    items: list[RollbackItem] = field(default_factory=list)
    written: dict[str, WriteCounts] = field(default_factory=dict)

    def count(self, action: str) -> int:
        """How many records got ``action``."""
        return sum(1 for i in self.items if i.action == action)

    @property
    def later_runs(self) -> int:
        """Records left as a later sfrenew run rewrote them (sfrenew's, not people's)."""
        return sum(1 for i in self.items if i.action == "nothing" and i.fields)


def _current(gateway: GatewayPort, sobject: str, fields: Sequence[str], ids: Sequence[str]
             ) -> dict[str, Mapping[str, Any]]:
    names = sorted({"Id", *fields})
    return {str(row["Id"]): row for row in gateway.read_by_ids(sobject, names, list(ids))}


def _decide(write: RecordWrites, row: Mapping[str, Any] | None,
            stamps: frozenset[str], last: Mapping[tuple[str, str], Any]) -> RollbackItem:
    """One record's fate. ``last`` holds the last value any sfrenew run wrote to each
    ``(key, field)``: a field that changed since the run but holds that value was
    changed by sfrenew itself (a later run), not by a person."""
    if write.sf_id is None or row is None:
        return RollbackItem(write.object, write.key, write.sf_id, "gone",
                            detail="no longer in the org")
    fields = {f: fw for f, fw in write.fields.items() if f not in stamps}
    moved = [f for f, fw in fields.items() if not same_value(row.get(f), fw.after)]
    later = tuple(sorted(f for f in moved if (write.key, f) in last
                         and same_value(row.get(f), last[(write.key, f)])))
    changed = tuple(sorted(f for f in moved if f not in later))
    if write.created:
        if changed:
            return RollbackItem(write.object, write.key, write.sf_id, "left_alone", changed,
                                "created by the run, then changed by someone: not deleted")
        return RollbackItem(write.object, write.key, write.sf_id, "delete")
    # A later sfrenew run's value is left as it is: restoring would undo that run too.
    restore = tuple(sorted(f for f in fields if f not in moved
                           and not same_value(row.get(f), fields[f].before)))
    if changed and not restore:
        return RollbackItem(write.object, write.key, write.sf_id, "left_alone", changed,
                            "changed by someone since the run")
    if not restore:
        return RollbackItem(write.object, write.key, write.sf_id, "nothing", later,
                            ("rewritten by a later sfrenew run: left as that run wrote it"
                             if later else ""))
    return RollbackItem(write.object, write.key, write.sf_id, "restore", restore,
                        ("kept people's changes to " + ", ".join(changed)) if changed else "")


def _keep_under_kept_parent(item: RollbackItem, write: RecordWrites,
                            kept: set[str]) -> RollbackItem:
    if item.action == "restore":  # a link the run wrote to a record that is kept stays
        linked = tuple(f for f in item.fields if write.fields[f].after in kept)
        if not linked:
            return item
        rest = tuple(f for f in item.fields if f not in linked)
        if rest:
            return RollbackItem(item.object, item.key, item.sf_id, "restore", rest,
                                item.detail)
        return RollbackItem(item.object, item.key, item.sf_id, "left_alone", linked,
                            "points at a record someone changed since, which is kept: "
                            "the link stays with it")
    if item.action != "delete":
        return item
    parents = [f for f, fw in write.fields.items() if fw.after in kept]
    if not parents:
        return item
    return RollbackItem(item.object, item.key, item.sf_id, "left_alone", tuple(parents),
                        "created under a record someone changed since, which is kept: "
                        "kept with it")


def rollback_run(*, gateway: GatewayPort, store: StorePort, target_run_id: str, run_id: str,
                 child_order: Sequence[str], dry_run: bool,
                 clock: Callable[[], datetime],
                 stamps: frozenset[str] = frozenset()) -> RollbackReport:
    """Undo ``target_run_id`` as run ``run_id`` (``child_order``: objects to delete first).

    ``stamps`` are bookkeeping fields (the run id written on each opportunity): not
    restored, and not a sign that a person changed the record.
    """
    report = RollbackReport(run_id=target_run_id, dry_run=dry_run)
    writes = [w for w in store.writes_of_run(target_run_id) if not w.deleted]
    by_object: dict[str, list[RecordWrites]] = {}
    for write in writes:
        by_object.setdefault(write.object, []).append(write)
    order = [o for o in child_order if o in by_object] + \
        sorted(o for o in by_object if o not in child_order)
    decided: dict[str, tuple[list[RollbackItem], dict[str, Mapping[str, Any]]]] = {}
    for sobject in order:
        group = by_object[sobject]
        fields = sorted({f for w in group for f in w.fields})
        current = _current(gateway, sobject, fields, [w.sf_id for w in group if w.sf_id])
        last = store.last_written(sobject, [w.key for w in group])
        decided[sobject] = ([_decide(w, current.get(str(w.sf_id)), stamps, last)
                             for w in group], current)
    # A created record someone changed is kept: so are the lines and tasks the run
    # created under it (deleting them would strip a renewal a person is working on).
    kept = {i.sf_id for items, _ in decided.values() for i in items
            if i.action == "left_alone" and i.sf_id}
    for sobject in order:
        items, current = decided[sobject]
        by_key = {w.key: w for w in by_object[sobject]}
        items = [_keep_under_kept_parent(i, by_key[i.key], kept) for i in items]
        report.items.extend(items)
        if dry_run:
            continue
        deletes = [i for i in items if i.action == "delete"]
        restores = [i for i in items if i.action == "restore"]
        if deletes:
            _send(gateway=gateway, store=store, run_id=run_id, sobject=sobject,
                  operation=Operation.DELETE, items=deletes, by_key=by_key,
                  current=current, clock=clock, report=report)
        if restores:
            _send(gateway=gateway, store=store, run_id=run_id, sobject=sobject,
                  operation=Operation.RESTORE, items=restores, by_key=by_key,
                  current=current, clock=clock, report=report)
    return report


def _send(*, gateway: GatewayPort, store: StorePort, run_id: str, sobject: str,
          operation: Operation, items: Sequence[RollbackItem],
          by_key: Mapping[str, RecordWrites], current: Mapping[str, Mapping[str, Any]],
          clock: Callable[[], datetime], report: RollbackReport) -> None:
    for start in range(0, len(items), 200):
        part = items[start:start + 200]
        rows: list[dict[str, Any]] = []
        intents: list[WriteIntent] = []
        for item in part:
            sf_id = str(item.sf_id)
            if operation is Operation.DELETE:
                rows.append({"Id": sf_id})
                intents.append(WriteIntent(sobject, item.key, operation, (), sf_id))
                continue
            write = by_key[item.key]
            values = {f: write.fields[f].before for f in item.fields}
            rows.append({"Id": sf_id, **values})
            intents.append(WriteIntent(sobject, item.key, operation, tuple(
                FieldWrite(f, current[sf_id].get(f), v) for f, v in sorted(values.items())),
                sf_id))
        seqs = store.record_intents(run_id, intents, now=clock())
        results = gateway.write("delete" if operation is Operation.DELETE else "update",
                                sobject, rows)
        outcomes = []
        for seq, result, item in zip(seqs, results, part, strict=True):
            if result.success:
                outcomes.append(WriteResult(seq, WriteStatus.SUCCEEDED, sf_id=item.sf_id))
            else:
                outcomes.append(WriteResult(seq, WriteStatus.FAILED, error_code=result.error_code,
                                            error_message=result.message))
            counts = WriteCounts(updated=int(result.success), rejected=int(not result.success))
            report.written[sobject] = report.written.get(sobject, WriteCounts()) + counts
        store.record_results(run_id, outcomes, now=clock())
