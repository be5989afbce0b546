"""Applying a plan file: exactly its changes, chunk by chunk, parents first.

Accounts are read from the plan file a batch at a time (flat memory); objects written
through Bulk API 2.0 are spooled to disk and sent as one job each per pass over the
plan (:mod:`sfrenew.apply.spool`, ADR 0023). Within a batch, renewal opportunities are
written first, then their lines and tasks with
lookups (``RecordRef``) resolved to Ids (this run's results, else the ledger, else
the org by key), then the contracts' links to their renewals (a lookup to an
opportunity this run created, resolved the same way), then the accounts' risk fields.
Opportunities and lines are upserted by their key field; Tasks (no external-Id upsert)
are inserted, which is why a resumed or saved-plan apply first looks their keys up in
the org. A saved plan re-reads the records it updates and skips any changed in the org
since it was planned (stale).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from sfrenew.apply.spool import Spools
from sfrenew.apply.writer import (
    ApplyTotals,
    Target,
    reject_unwritable,
    send_chunk,
)
from sfrenew.core.changeset import ChangeKind, RecordChange, RecordRef, ref_placeholder
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.translate import written_fields
from sfrenew.plan.model import AccountPlan, iter_accounts, read_header
from sfrenew.salesforce.port import GatewayPort
from sfrenew.store.port import StorePort

STALE_SKIPPED = "apply_stale_skipped"
log = structlog.get_logger()


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply: chunk size, whether the plan was saved earlier (stale checks and
    existence checks), and which (object, key) pairs this run already wrote.

    Accounts are gathered until their changes reach ``batch_rows``, then each object's
    share is sent in chunks of ``chunk_size`` (sObject Collections: 200 a call), or,
    for the ``bulk_objects``, spooled to one Bulk API 2.0 job per object sent at the
    end of the pass.
    """

    chunk_size: int = 200
    batch_rows: int = 2_000
    bulk_objects: frozenset[str] = frozenset()
    saved_plan: bool = False
    done: frozenset[tuple[str, str]] = frozenset()


def targets(mapping: MappingFile, run_id: str) -> list[Target]:
    """Write targets in parent-first order."""
    run_field = written_fields(mapping, Concept.RENEWAL_OPPORTUNITY).get("run_id")
    out = [
        Target(mapping.renewal_opportunity.object, mapping.renewal_opportunity.key_field,
               upsert=True, stamp={run_field: run_id} if run_field else {}),
        # sfrenew's own fields on renewals people made that it adopted, updated by Id.
        Target(mapping.renewal_opportunity.object, None, upsert=False,
               stamp={run_field: run_id} if run_field else {}),
        Target(mapping.renewal_line.object, mapping.renewal_line.key_field, upsert=True),
        Target(mapping.task.object, mapping.task.key_field, upsert=False),
        Target(mapping.contract.object, None, upsert=False),
        Target(mapping.account.object, None, upsert=False),
    ]
    # sfrenew's own analytics rows: upserted by key, stamped with the run like renewals.
    for concept in (Concept.RENEWAL_METRIC, Concept.FORECAST_SNAPSHOT):
        section = mapping.concept(concept)
        if section is not None and section.key_field:
            field = written_fields(mapping, concept).get("run_id")
            out.append(Target(section.object, section.key_field, upsert=True,
                              stamp={field: run_id} if field else {}))
    return out


def _writes(target: Target, change: RecordChange) -> bool:
    """True when ``target`` writes ``change``. A record sfrenew did not create (the
    account's risk fields, a contract's link, an adopted opportunity) is updated by Id,
    and its key is its Id; sfrenew's own records are written by their key."""
    by_id = target.key_field is None
    if change.object != target.sobject \
            or (change.sf_id is not None and change.key == change.sf_id) != by_id:
        return False
    return not by_id or change.kind is not ChangeKind.CREATE


def _pending_refs(change: RecordChange) -> list[tuple[str, RecordRef]]:
    """The lookups a change must resolve before it is sent: every one of a create; of an
    update, those whose field change waits for a record this run creates."""
    if change.kind is ChangeKind.CREATE:
        return list(change.refs)
    waiting = {c.field: c.after for c in change.changes}
    return [(f, ref) for f, ref in change.refs if waiting.get(f) == ref_placeholder(ref)]


def _batches(accounts: Iterable[AccountPlan], size: int,
             wanted: Callable[[RecordChange], bool]) -> Iterator[list[RecordChange]]:
    batch: list[RecordChange] = []
    for account in accounts:
        batch.extend(c for c in account.changes if c.writes and wanted(c))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _query_ids(gateway: GatewayPort, sobject: str, key_field: str, keys: Sequence[str]
               ) -> dict[str, str]:
    """``{key: Id}`` of records in the org holding those keys (crash recovery)."""
    out: dict[str, str] = {}
    template = "SELECT Id, {key:literal} FROM {sobject:literal} WHERE {key:literal} IN {values}"
    for soql in gateway.in_chunks(template, list(keys), key=key_field, sobject=sobject):
        for row in gateway.query(soql):
            out[str(row[key_field])] = str(row["Id"])
    return out


def _stale(gateway: GatewayPort, sobject: str, changes: Sequence[RecordChange]) -> set[str]:
    """Keys of records whose SystemModstamp moved since they were planned."""
    expected = {c.sf_id: c for c in changes if c.sf_id and c.expected_modstamp}
    if not expected:
        return set()
    ids = sorted(str(i) for i in expected)
    stale: set[str] = set()
    for row in gateway.read_by_ids(sobject, ["Id", "SystemModstamp"], ids):
        now = row["SystemModstamp"]
        now_text = now.isoformat() if isinstance(now, datetime) else str(now)
        change = expected[str(row["Id"])]
        if now_text != change.expected_modstamp:
            stale.add(change.key)
    return stale


class Applier:
    """Applies batches of changes for one run.

    Within a batch, the objects are written in waves: first every object none of whose
    changes looks up a record this batch creates (renewal opportunities, accounts),
    then the objects whose lookups that wave resolved (lines, tasks, contracts). Bulk
    API 2.0 objects' rows are spooled (:attr:`spools`) and sent, one job per object, by
    :meth:`flush` at the end of a pass. sObject Collections objects
    send only full chunks and carry the rest to the next batch (a plan costs
    ``⌈changes/200⌉`` calls per object, not a partial chunk per object per batch); a
    change that looks up a carried record waits with it. :meth:`flush` sends what is
    left at the end.
    """

    def __init__(self, *, gateway: GatewayPort, store: StorePort, mapping: MappingFile,
                 run_id: str, clock: Callable[[], datetime], options: ApplyOptions,
                 totals: ApplyTotals | None = None) -> None:
        self.gateway, self.store, self.mapping = gateway, store, mapping
        self.run_id, self.clock, self.options = run_id, clock, options
        self.targets = targets(mapping, run_id)
        self.totals = ApplyTotals() if totals is None else totals
        # Bulk objects' rows, sent as one job each at the end of a pass over the plan.
        self.spools = Spools(gateway=gateway, store=store, run_id=run_id, clock=clock,
                             totals=self.totals)
        # per target, by its place in self.targets
        self._carried: dict[int, list[tuple[RecordChange, dict[str, str]]]] = {}
        self._waiting: list[RecordChange] = []  # they look up a carried record

    def apply_batch(self, changes: Sequence[RecordChange], *, last: bool = False) -> None:
        """Write one batch: its objects in waves, parents first, in chunks (``last``:
        nothing is carried further)."""
        todo = [*self._waiting,
                *(c for c in changes if (c.object, c.key) not in self.options.done)]
        self._waiting = []
        pending: dict[int, list[RecordChange]] = {}  # by target (two write Opportunity)
        for n, target in enumerate(self.targets):
            mine = [c for c in todo if _writes(target, c)]
            if mine or self._carried.get(n):
                pending[n] = mine
        while pending:
            objects = {self.targets[n].sobject for n in pending}
            wave = [n for n in sorted(pending) if not any(
                ref.object in objects and ref.object != self.targets[n].sobject
                for c in pending[n] for _f, ref in _pending_refs(c))]
            if not wave:  # lookups in a circle: the written order decides
                wave = [min(pending)]
            carried = {(self.targets[n].sobject, c.key)
                       for n, queue in self._carried.items() for c, _r in queue}
            for n in wave:
                target = self.targets[n]
                mine = []
                for change in pending.pop(n):
                    if any((ref.object, ref.key) in carried for _f, ref in
                           _pending_refs(change)):
                        self._waiting.append(change)
                    else:
                        mine.append(change)
                ready = self._ready(target, mine)
                if target.sobject in self.options.bulk_objects:
                    if ready:
                        self.spools.add(n, target, [c for c, _r in ready],
                                        [r for _c, r in ready])
                    continue
                self._carried.setdefault(n, []).extend(ready)
                self._send_full(n, every=last)

    def flush(self, *, last: bool = True) -> None:
        """Send every change carried over from earlier batches, and those waiting, and
        the spooled Bulk rows (not ``last``: another pass follows, and only the Bulk jobs
        of objects it looks up are waited for)."""
        while self._waiting or any(self._carried.values()):
            self.apply_batch([], last=True)
        self.spools.send(waited=None if last else self.spools.awaited)

    def _send_full(self, n: int, *, every: bool) -> None:
        target = self.targets[n]
        queue = self._carried.get(n) or []
        size = self.options.chunk_size
        sent = 0
        while len(queue) - sent >= size or (every and sent < len(queue)):
            part = queue[sent:sent + size]
            sent += len(part)
            send_chunk(gateway=self.gateway, store=self.store, run_id=self.run_id,
                       target=target, changes=[c for c, _r in part],
                       refs=[r for _c, r in part], clock=self.clock, totals=self.totals)
        del queue[:sent]

    def _ready(self, target: Target, changes: list[RecordChange]
               ) -> list[tuple[RecordChange, dict[str, str]]]:
        """The changes that can be sent, each with its lookups resolved; a change whose
        looked-up record was not written is a dead letter."""
        if self.options.saved_plan:
            changes = self._drop_stale(target, changes)
            changes = self._drop_existing(target, changes)
        self._resolve_refs(changes)
        ready: list[tuple[RecordChange, dict[str, str]]] = []
        for change in changes:
            resolved: dict[str, str] = {}
            for fname, ref in _pending_refs(change):
                sf_id = self.totals.ids.get((ref.object, ref.key))
                if sf_id is None:
                    break
                resolved[fname] = sf_id
            else:
                ready.append((change, resolved))
                continue
            reject_unwritable(store=self.store, run_id=self.run_id, change=change,
                              code="PARENT_NOT_WRITTEN",
                              message="its renewal opportunity was not written",
                              clock=self.clock, totals=self.totals)
        return ready

    def _resolve_refs(self, changes: Sequence[RecordChange]) -> None:
        wanted: dict[str, set[str]] = {}
        for change in changes:
            for _f, ref in _pending_refs(change):
                if (ref.object, ref.key) not in self.totals.ids:
                    wanted.setdefault(ref.object, set()).add(ref.key)
        for obj, keys in wanted.items():
            found = self.store.find_by_keys(obj, sorted(keys))
            missing = sorted(keys - set(found))
            key_field = next((t.key_field for t in self.targets
                              if t.sobject == obj and t.key_field), None)
            if missing and key_field:
                found.update(_query_ids(self.gateway, obj, key_field, missing))
            for key, sf_id in found.items():
                self.totals.ids[(obj, key)] = sf_id

    def _drop_stale(self, target: Target, changes: list[RecordChange]) -> list[RecordChange]:
        stale = _stale(self.gateway, target.sobject,
                       [c for c in changes if c.kind is not ChangeKind.CREATE])
        for change in changes:
            if change.key in stale:
                self.totals.stale.append((change.object, change.key))
                self.totals.count(change.object, skipped=1)
                log.info(STALE_SKIPPED, object=change.object, key=change.key,
                         sf_id=change.sf_id)
        return [c for c in changes if c.key not in stale]

    def _drop_existing(self, target: Target, changes: list[RecordChange]) -> list[RecordChange]:
        creates = [c.key for c in changes if c.kind is ChangeKind.CREATE]
        if not creates or target.key_field is None:
            return changes
        found = _query_ids(self.gateway, target.sobject, target.key_field, creates)
        for key, sf_id in found.items():
            self.totals.ids[(target.sobject, key)] = sf_id
            self.totals.count(target.sobject, skipped=1)
        return [c for c in changes if not (c.kind is ChangeKind.CREATE and c.key in found)]


def _waits_for(change: RecordChange, unsettled: frozenset[str]) -> set[str]:
    """The other objects whose changes are not all sent yet and of which ``change``
    looks up a record (it waits for a later pass over the plan if there are any)."""
    return {ref.object for _f, ref in _pending_refs(change)
            if ref.object in unsettled and ref.object != change.object}


def apply_plan(*, path: Path, gateway: GatewayPort, store: StorePort, mapping: MappingFile,
               run_id: str, clock: Callable[[], datetime], options: ApplyOptions,
               stop: threading.Event | None = None,
               advance: Callable[[int], None] | None = None,
               totals: ApplyTotals | None = None) -> ApplyTotals:
    """Apply the plan file at ``path``; stops between batches when ``stop`` is set.

    With no Bulk object the plan is read once. With Bulk objects it is read in passes:
    the first sends every change that looks up no record of another object the plan
    writes (renewal opportunities, accounts; the Bulk rows spooled and sent as one job
    per object at the end of the pass), the next the changes that looked those up (their
    Ids are in the ledger by then), and so on.

    Raises the gateway's BudgetExhausted/TransientError as they come: the runner
    checkpoints (everything sent so far is in the ledger, and in ``totals`` when the
    caller passes its own).
    """
    applier = Applier(gateway=gateway, store=store, mapping=mapping, run_id=run_id,
                      clock=clock, options=options, totals=totals)
    counts = read_header(path).counts
    writes = {obj: sum(n for kind, n in per.items() if kind != "leave")
              for obj, per in counts.items()}
    unsettled = frozenset(obj for obj, n in writes.items() if n) \
        if options.bulk_objects else frozenset()
    applier.spools.planned = writes
    before: frozenset[str] | None = None  # what the previous pass waited for
    while True:
        deferred = _pass(applier, path, before=before, unsettled=unsettled, stop=stop,
                         advance=advance)
        if deferred is None:  # stopped
            return applier.totals
        applier.flush(last=not deferred)
        if not deferred:
            return applier.totals
        # Lookups in a circle (none in sfrenew's plans): the last pass takes every change.
        before, unsettled = unsettled, (frozenset(deferred) if deferred != unsettled
                                        else frozenset())


def _pass(applier: Applier, path: Path, *, before: frozenset[str] | None,
          unsettled: frozenset[str], stop: threading.Event | None,
          advance: Callable[[int], None] | None) -> set[str] | None:
    """One pass over the plan: the changes the previous pass deferred (every change in
    the first) that need not wait for ``unsettled`` objects; the objects of those that
    still wait, or None when stopped."""
    deferred: set[str] = set()

    def wanted(change: RecordChange) -> bool:
        if before is not None and not _waits_for(change, before):
            return False  # sent by an earlier pass
        awaited = _waits_for(change, unsettled)
        if awaited:
            deferred.add(change.object)
            applier.spools.awaited.update(awaited)  # their jobs are sent sooner
            return False
        return True

    batches = _batches(iter_accounts(path), applier.options.batch_rows, wanted)
    while (batch := next(batches, None)) is not None:
        applier.apply_batch(batch)
        # Lookups point inside an account, and a batch holds whole accounts: the Ids
        # learnt here are not needed again (changes carried to the next batch have
        # theirs resolved already), so memory stays flat however big the plan.
        applier.totals.ids.clear()
        if advance is not None:
            advance(len(batch))
        # Not held while the next batch is read: one batch in memory at a time.
        del batch
        if stop is not None and stop.is_set():
            # Spooled rows have their intents in the ledger: they are sent. Carried
            # changes are not in the ledger: the resumed run sends them.
            applier.spools.send()
            applier.totals.stopped = True
            return None
    return deferred
