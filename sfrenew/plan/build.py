"""Planning a run: the mirror, account by account, through the rules and the diff.

Streams ``iter_groups`` (one account's records at a time), so memory stays flat;
ledger look-ups (last written values) are batched over a few hundred accounts. The
result is a plan file (see :mod:`sfrenew.plan.model`); nothing is written to
Salesforce here. A bad record is reported per Id and field and never stops the run.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import structlog

from sfrenew.core.changeset import (
    ChangeKind,
    ClosePolicy,
    CurrentRecord,
    DesiredRecord,
    diff_records,
)
from sfrenew.core.domain import Account
from sfrenew.core.plan import PlannedRenewal, RenewalPlan, SkipReason
from sfrenew.core.planner import plan_account, plan_orphans
from sfrenew.core.policy import RulesPolicy
from sfrenew.core.rules.owners import Assignees
from sfrenew.mapping import MappingFile
from sfrenew.mapping.objects import pulled_objects
from sfrenew.mapping.translate import ownership_lookup
from sfrenew.plan.desired import FieldShapes, desired_records
from sfrenew.plan.model import (
    AccountPlan,
    PlanHeader,
    RenewalSummary,
    write_account,
    write_header,
)
from sfrenew.plan.owners import UserDirectory, route_renewals, routing_entries
from sfrenew.plan.price_books import (
    ContractPriceBooks,
    PriceBook,
    priced_from_books,
    prices_by_list,
)
from sfrenew.plan.records import AccountRecords, account_records
from sfrenew.plan.rulesets import RuleSet, select_changes
from sfrenew.store.port import StorePort

BATCH_ACCOUNTS = 200
LAPSED_LISTED = 200  # lapsed renewals listed by name in the run's report (all are counted)
# Skips that are the normal course of business, counted but not listed per contract.
QUIET_SKIPS = frozenset({SkipReason.BEYOND_HORIZON, SkipReason.ALREADY_ENDED,
                         SkipReason.STATUS_NOT_ELIGIBLE})
# Skips that mean the org's data is wrong (a person must fix it): listed by record Id in
# the run's report, ``runs show`` and the plan, besides the plan's own per-account entries.
DIRTY_SKIPS = frozenset({SkipReason.END_BEFORE_START, SkipReason.CURRENCY_MISMATCH,
                         SkipReason.ACCOUNT_DELETED, SkipReason.UNKNOWN_CURRENCY,
                         SkipReason.MISSING_END_DATE, SkipReason.LINE_WITHOUT_PRICE,
                         SkipReason.NON_POSITIVE_AMOUNT, SkipReason.INVALID_TERM})
DIRTY_LISTED = 200  # dirty records listed by Id in the run's report (all are counted)
PLAN_ACCOUNT_FAILED = "plan_account_failed"

log = structlog.get_logger()


@dataclass(frozen=True)
class PlanScope:
    """Which accounts and contracts a plan covers (empty: everything)."""

    accounts: frozenset[str] = frozenset()
    contract_end_from: date | None = None
    contract_end_to: date | None = None
    after_account: str | None = None
    rules: frozenset[RuleSet] = frozenset()  # the rule sets written (empty: all)

    @property
    def partial(self) -> bool:
        """True when some contracts of an account may be left out: close nothing then."""
        return self.contract_end_from is not None or self.contract_end_to is not None


@dataclass
class PlanTotals:
    """Running totals for the header."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    accounts: int = 0
    kept_edits: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    problems: int = 0
    routing: int = 0  # assignee roles that fell back or stayed unassigned
    stopped: bool = False
    last_account: str | None = None
    lapsed: int = 0  # renewals past their start, unsigned (rules.lapse)
    lapsed_renewals: list[dict[str, Any]] = field(default_factory=list)  # the first ones
    dirty: int = 0  # records skipped for data a person must fix (DIRTY_SKIPS, record problems)
    dirty_records: list[dict[str, Any]] = field(default_factory=list)  # the first ones


def task_close_policy(mapping: MappingFile) -> ClosePolicy:
    """Open sfrenew tasks no longer planned (renewal closed or gone) get completed."""
    status = mapping.task.fields["status"].field
    closed = mapping.task.fields.get("is_closed")
    done = mapping.values.task_status.completed

    def is_open(fields: Mapping[str, Any]) -> bool:
        if closed is not None and closed.field in fields:
            return not fields[closed.field]
        return fields.get(status) != done

    return ClosePolicy(values={status: done}, is_open=is_open,
                       reason="renewal no longer planned: open task completed")


def left_alone_records(mapping: MappingFile, plan: RenewalPlan,
                       current: Mapping[tuple[str, str], CurrentRecord],
                       ) -> dict[tuple[str, str], str]:
    """The records of renewals the plan leaves alone (opportunity, lines, tasks), with why.

    They belong to open renewals sfrenew made earlier for contracts it no longer renews
    (month-to-month, evergreen): neither updated nor closed, so a person decides.
    """
    if not plan.left_alone:
        return {}
    opp_obj = mapping.renewal_opportunity.object
    why = {r.opportunity_id: (f"renewal of a contract sfrenew no longer renews "
                              f"({r.reason.value}); left as is") for r in plan.left_alone}
    out = {(opp_obj, r.key): why[r.opportunity_id] for r in plan.left_alone if r.key}
    parents = {mapping.renewal_line.object: mapping.renewal_line.fields.get("opportunity"),
               mapping.task.object: mapping.task.fields.get("what")}
    for (obj, key), have in current.items():
        spec = parents.get(obj)
        parent = have.fields.get(spec.field) if spec is not None else None
        if parent in why:
            out[(obj, key)] = why[str(parent)]
    return out


def in_scope(records: AccountRecords, scope: PlanScope) -> AccountRecords:
    """``records`` with only the contracts ending in the scope's window (a backfill's).

    Every contract of an open sfrenew renewal that names one of those is kept too: a
    renewal is planned whole, so a window that cuts through a co-term group never
    regroups the renewal the desk is working on.
    """
    if not scope.partial:
        return records
    lo, hi = scope.contract_end_from, scope.contract_end_to
    inside = {c.id for c in records.contracts if c.end_date is not None
              and (lo is None or c.end_date >= lo) and (hi is None or c.end_date <= hi)}
    groups = [set(r.contract_ids) for r in records.existing_renewals
              if r.created_by_sfrenew and not r.is_closed]
    grown = True
    while grown:
        grown = False
        for group in groups:
            if group & inside and not group <= inside:
                inside |= group
                grown = True
    records.contracts = [c for c in records.contracts if c.id in inside]
    return records


def _summary(plan: RenewalPlan) -> tuple[RenewalSummary, ...]:
    return tuple(RenewalSummary(
        key=r.key, name=r.name, start_date=r.start_date.isoformat(),
        end_date=r.end_date.isoformat(), amount=str(r.amount), currency=r.currency,
        risk=r.risk.level.value, forecast=r.forecast.value, contracts=r.contract_ids,
        lines=len(r.lines), tasks=len(r.tasks), explanation=r.explanation,
        derivation=r.derivation, days_overdue=r.days_overdue)
        for r in plan.renewals)


def lapsed_entry(account_name: str, renewal: PlannedRenewal) -> dict[str, Any]:
    """A lapsed renewal as the run's report and ``sfrenew status`` list it."""
    return {"key": renewal.key, "opportunity_id": renewal.existing_opportunity_id,
            "account_id": renewal.account_id, "account": account_name, "name": renewal.name,
            "contract_end": renewal.close_date.isoformat(),
            "days_overdue": renewal.days_overdue, "contracts": list(renewal.contract_ids)}


def dirty_entry(record_id: str, reason: str, detail: str) -> dict[str, Any]:
    """A record skipped for bad data, as the run's report and ``runs show`` list it."""
    return {"record_id": record_id, "reason": reason, "detail": detail}


@dataclass
class _Pending:
    records: AccountRecords
    plan: RenewalPlan
    desired: list[DesiredRecord]
    # sfrenew's records a person deleted, by (object, key), with their old Id
    deleted: dict[tuple[str, str], str] = field(default_factory=dict)
    routed: dict[str, Assignees] = field(default_factory=dict)


def deleted_by_people(store: StorePort, wanted: Mapping[str, Iterable[str]],
                      ) -> dict[tuple[str, str], str]:
    """Of the keys sfrenew wants but the org does not hold, those a person deleted.

    ``wanted`` gives, per object, keys of desired records absent from the mirror. One
    is a person's deletion when the ledger says sfrenew wrote it (and did not delete it
    itself, as a rollback does) and the mirror holds its Id as deleted (the pull reads
    deletes through queryAll): ``{(object, key): old Id}``.
    """
    out: dict[tuple[str, str], str] = {}
    for obj, keys in wanted.items():
        written = store.find_by_keys(obj, sorted(set(keys)))
        if not written:
            continue
        mirrored = store.get_mirror(obj, sorted(set(written.values())))
        for key, sf_id in written.items():
            record = mirrored.get(sf_id)
            if record is not None and record.is_deleted:
                out[(obj, key)] = sf_id
    return out


class Planner:
    """Plans accounts in batches and appends them to a plan file."""

    def __init__(self, *, store: StorePort, mapping: MappingFile, policy: RulesPolicy,
                 today: date, shapes: FieldShapes, scope: PlanScope, out: Any) -> None:
        self.store, self.mapping, self.policy, self.today = store, mapping, policy, today
        self.shapes, self.scope, self.out = shapes, scope, out
        self.ownership = ownership_lookup(mapping)
        self.close = {} if scope.partial else {mapping.task.object: task_close_policy(mapping)}
        self.totals = PlanTotals()
        self.keyed = frozenset(s.object for s in (mapping.renewal_opportunity,
                                                   mapping.renewal_line, mapping.task))
        self.users = UserDirectory(store, mapping)
        self.price_book = PriceBook(store, mapping)

    def plan_one(self, records: AccountRecords) -> _Pending | None:
        """The rules' plan and desired records of one account (None: not planned)."""
        account = records.account
        if account is None:
            return self._orphans(records) if records.contracts else None
        if self.scope.accounts and account.id not in self.scope.accounts:
            return None
        records = in_scope(records, self.scope)
        return self._plan(self._list_prices(records), frozenset())

    def _list_prices(self, records: AccountRecords) -> AccountRecords:
        """``records`` with the list prices of a ``list``-priced account read from its
        contracts' price books (CPQ's *List* method), when the mapping maps them."""
        account = records.account
        if account is None or not self.price_book.mapped \
                or not prices_by_list(account, self.policy.uplift):
            return records
        entries = self.price_book.entries()
        records.problems.extend(self.price_book.take_problems())
        none = ContractPriceBooks()
        decimals = self.policy.currencies
        records.contracts = [priced_from_books(
            c, books=records.contract_price_books.get(c.id, none), entries=entries,
            decimals=decimals.get(c.currency, 2)) for c in records.contracts]
        return records

    def _orphans(self, records: AccountRecords) -> _Pending | None:
        """Contracts whose account was deleted: reported per contract, nothing planned."""
        account_id = records.contracts[0].account_id
        if self.scope.accounts and account_id not in self.scope.accounts:
            return None
        records = in_scope(records, self.scope)
        records.account = Account(id=account_id, name=f"(deleted account {account_id})")
        plan = plan_orphans(account_id=account_id, contracts=records.contracts,
                            today=self.today, policy=self.policy)
        return _Pending(records, plan, [])

    def _plan(self, records: AccountRecords, deleted_keys: frozenset[str]) -> _Pending:
        account = records.account
        assert account is not None  # plan_one checked
        plan = plan_account(account=account, contracts=records.contracts, today=self.today,
                            policy=self.policy, signals=records.signals,
                            existing_renewals=records.existing_renewals,
                            existing_tasks=records.existing_tasks, deleted_keys=deleted_keys)
        entries = {lid: rec.values.get("price_book_entry")
                   for lid, rec in records.line_records.items()}
        routed = route_renewals(plan, records, policy=self.policy.owners, users=self.users)
        records.problems.extend(self.users.take_problems())
        desired = desired_records(mapping=self.mapping, plan=plan, owner_id=records.owner_id,
                                  line_entries=entries, shapes=self.shapes,
                                  account_object_id=account.id, assignees=routed,
                                  cadence=self.policy.cadence)
        return _Pending(records, plan, desired, routed=routed)

    def _deletions(self, batch: list[_Pending]) -> list[_Pending]:
        """The batch with people's deletions known: an account where a person deleted a
        renewal or line sfrenew made is planned again without it (its explanation then
        says so); deleted tasks are left to the diff."""
        wanted: dict[str, set[str]] = {}
        for item in batch:
            for want in item.desired:
                if want.object in self.keyed and (want.object, want.key) \
                        not in item.records.current:
                    wanted.setdefault(want.object, set()).add(want.key)
        gone = deleted_by_people(self.store, wanted) if wanted else {}
        if not gone:
            return batch
        out = []
        for item in batch:
            wants = {(w.object, w.key) for w in item.desired}
            mine = {k: v for k, v in gone.items() if k in wants}
            keys = frozenset(k for (o, k) in mine if o != self.mapping.task.object)
            again = self._plan(item.records, keys) if keys else item
            again.deleted = mine
            out.append(again)
        return out

    def flush(self, batch: list[_Pending]) -> None:
        """Diff a batch of planned accounts against the ledger and write them out."""
        batch = self._deletions(batch)
        keys: dict[str, set[str]] = {}
        for item in batch:
            for (obj, key) in item.records.current:
                keys.setdefault(obj, set()).add(key)
            for want in item.desired:
                keys.setdefault(want.object, set()).add(want.key)
        last: dict[tuple[str, str, str], Any] = {}
        for obj, names in keys.items():
            for (key, fname), value in self.store.last_written(obj, sorted(names)).items():
                last[(obj, key, fname)] = value
        for item in batch:
            self._write(item, last)

    def _write(self, item: _Pending, last: Mapping[tuple[str, str, str], Any]) -> None:
        records, plan = item.records, item.plan
        assert records.account is not None  # plan_one returned None otherwise
        leave = left_alone_records(self.mapping, plan, records.current)
        current = records.current
        contract_obj = self.mapping.contract.object
        links = [w.key for w in item.desired if w.object == contract_obj
                 and w.key in records.contract_current]
        if links:  # the contracts sfrenew links to their renewals, as the org holds them
            current = {**current, **{(contract_obj, k): records.contract_current[k]
                                     for k in links}}
        desired = [w for w in item.desired if w.object != contract_obj
                   or w.key in records.contract_current]
        changes = select_changes(
            diff_records(desired=desired, current=current, last_written=last,
                         ownership=self.ownership, close_policies=self.close, leave=leave,
                         deleted=item.deleted),
            rules=self.scope.rules, mapping=self.mapping, current=current)
        t = self.totals
        t.accounts += 1
        t.last_account = records.account.id
        for change in changes:
            per = t.counts.setdefault(change.object, {k.value: 0 for k in ChangeKind})
            per[change.kind.value] += 1
            t.kept_edits += len(change.kept_edits)
        skipped = []
        for skip in plan.skipped:
            t.skipped_by_reason[skip.reason.value] = t.skipped_by_reason.get(
                skip.reason.value, 0) + 1
            if skip.reason not in QUIET_SKIPS:
                skipped.append({"contract_id": skip.contract_id, "reason": skip.reason.value,
                                "detail": skip.detail})
        t.skipped += len(skipped)
        for renewal in plan.renewals:
            if renewal.days_overdue:
                t.lapsed += 1
                if len(t.lapsed_renewals) < LAPSED_LISTED:
                    t.lapsed_renewals.append(lapsed_entry(records.account.name, renewal))
        problems = [{"object": p.object, "record_id": str(p.record_id), "field": p.field,
                     "message": p.message} for p in records.problems]
        problems += [{"object": p.concept.value, "record_id": str(p.record_id), "field": "",
                      "message": p.message} for p in records.record_problems]
        t.problems += len(problems)
        dirty = [dirty_entry(s["contract_id"], s["reason"], s["detail"]) for s in skipped
                 if SkipReason(s["reason"]) in DIRTY_SKIPS]
        dirty += [dirty_entry(str(p.record_id), f"bad_{p.concept.value}", p.message)
                  for p in records.record_problems]
        t.dirty += len(dirty)
        t.dirty_records.extend(dirty[:max(0, DIRTY_LISTED - len(t.dirty_records))])
        routing = routing_entries(plan, item.routed)
        t.routing += len(routing)
        # Left alone but worth saying: people's edits, and records people deleted.
        kept = [c for c in changes if c.kind is not ChangeKind.LEAVE or c.kept_edits
                or (c.object, c.key) in item.deleted]
        if kept or skipped or problems or routing:
            write_account(self.out, AccountPlan(
                account_id=records.account.id, account_name=records.account.name,
                renewals=_summary(plan), changes=tuple(kept), skipped=tuple(skipped),
                problems=tuple(problems), routing=tuple(routing)))


def build_plan(*, store: StorePort, mapping: MappingFile, policy: RulesPolicy, today: date,
               shapes: FieldShapes, header: PlanHeader, path: Path,
               scope: PlanScope = PlanScope(), stop: threading.Event | None = None,
               advance: Callable[[int], None] | None = None,
               resume: PlanTotals | None = None) -> PlanTotals:
    """Plan every account of the mirror into the plan file at ``path``.

    Stopped (``stop`` set), it returns with ``stopped`` and ``last_account`` and leaves
    the accounts planned so far in ``<path>.part``; called again with those totals as
    ``resume`` and ``scope.after_account = last_account`` it carries on from there.
    """
    objects = [o.sobject for o in pulled_objects(mapping)]
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    carry_on = resume is not None and scope.after_account is not None and part.exists()
    with part.open("a" if carry_on else "w", encoding="utf-8") as out:
        planner = Planner(store=store, mapping=mapping, policy=policy, today=today,
                          shapes=shapes, scope=scope, out=out)
        if carry_on and resume is not None:
            planner.totals = replace(resume, stopped=False)
        batch: list[_Pending] = []
        for group in store.iter_groups(objects, after_group=scope.after_account):
            if scope.accounts and group.group_key not in scope.accounts:
                # Out of scope (a backfill chunk plans a few accounts of many): skipped
                # before its records are translated, as plan_one would skip it after.
                if advance is not None:
                    advance(1)
                continue
            try:
                pending = planner.plan_one(account_records(mapping, group, shapes))
            except (ValueError, TypeError, ArithmeticError) as exc:
                # A record the rules cannot read: reported, the run goes on.
                log.warning(PLAN_ACCOUNT_FAILED, account=group.group_key, error=str(exc))
                planner.totals.problems += 1
                pending = None
            if pending is not None:
                batch.append(pending)
            if advance is not None:
                advance(1)
            if len(batch) >= BATCH_ACCOUNTS:
                planner.flush(batch)
                batch = []
                if stop is not None and stop.is_set():
                    planner.totals.stopped = True
                    planner.totals.last_account = group.group_key
                    break
        planner.flush(batch)
    totals = planner.totals
    if totals.stopped:
        return totals
    header.counts, header.accounts = totals.counts, totals.accounts
    header.kept_edits, header.skipped_contracts = totals.kept_edits, totals.skipped
    header.problems = totals.problems
    header.routing = totals.routing
    with path.open("w", encoding="utf-8") as final, part.open(encoding="utf-8") as body:
        write_header(final, header)
        shutil.copyfileobj(body, final)
    part.unlink()
    return totals


def plan_objects(mapping: MappingFile) -> Iterable[str]:
    """The sObjects the plan streams from the mirror."""
    return [o.sobject for o in pulled_objects(mapping)]
