"""The planner of a run: one account's mirrored records at a time through the rules,
the diff against what the org holds, and the plan file's account lines.

:mod:`sfrenew.plan.build` walks the accounts (all of them, only what changed, or a
span of them in one of several processes) and hands each to :class:`Planner`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
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
from sfrenew.core.replan import replan_on
from sfrenew.core.rules.adoption import describe
from sfrenew.core.rules.owners import Assignees
from sfrenew.mapping import MappingFile
from sfrenew.mapping.translate import ownership_lookup
from sfrenew.plan.adopted import Adoptions, adoption_evidence, with_adoptions
from sfrenew.plan.closures import with_sfrenew_closures
from sfrenew.plan.desired import FieldShapes, desired_records
from sfrenew.plan.incremental import (
    AccountOutcome,
)
from sfrenew.plan.model import (
    AccountPlan,
    RenewalSummary,
    account_line,
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
from sfrenew.store.values import MirrorGroup, PlanState

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


WHOLE_PLAN = PlanScope()  # the default scope: every account, every rule set


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
    replayed: int = 0  # accounts not planned again: their saved part of the plan replayed
    full_pass: bool = True  # every account was planned (none replayed from saved state)


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
              if r.maintained_by_sfrenew]
    grown = True
    while grown:
        grown = False
        for group in groups:
            if group & inside and not group <= inside:
                inside |= group
                grown = True
    records.contracts = [c for c in records.contracts if c.id in inside]
    return records


def _summary(plan: RenewalPlan, window_days: int) -> tuple[RenewalSummary, ...]:
    chosen = {a.opportunity_id: describe(a, window_days) for a in plan.adopted}
    return tuple(RenewalSummary(
        key=r.key, name=r.name, start_date=r.start_date.isoformat(),
        end_date=r.end_date.isoformat(), amount=str(r.amount), currency=r.currency,
        risk=r.risk.level.value, forecast=r.forecast.value, contracts=r.contract_ids,
        lines=len(r.lines), tasks=len(r.tasks), explanation=r.explanation,
        derivation=r.derivation, days_overdue=r.days_overdue,
        adopted_opportunity=(r.existing_opportunity_id or "") if r.adopted else "",
        adoption=chosen.get(r.existing_opportunity_id or "", "") if r.adopted else "")
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
class PendingAccount:
    records: AccountRecords
    plan: RenewalPlan
    desired: list[DesiredRecord]
    # sfrenew's records a person deleted, by (object, key), with their old Id
    deleted: dict[tuple[str, str], str] = field(default_factory=dict)
    routed: dict[str, Assignees] = field(default_factory=dict)
    replan: date | None = None  # the first day the plan may change with the date alone
    group: str = ""


@dataclass
class DoneAccount:
    """An account whose part of the plan is known without planning it: replayed from its
    saved state (``save`` false), or nothing to plan / planning failed (saved)."""

    group: str
    outcome: AccountOutcome
    replan: date | None = None
    save: bool = True


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
                 today: date, shapes: FieldShapes, scope: PlanScope, out: Any,
                 marker: int | None = None) -> None:
        self.store, self.mapping, self.policy, self.today = store, mapping, policy, today
        self.shapes, self.scope, self.out = shapes, scope, out
        # With a marker (the mirror version this plan reads), each account's outcome is
        # saved as its plan state, for the next plan to replay (plan only what changed).
        self.marker = marker
        self.states: list[PlanState] = []
        self.shared_problems = False  # a user or price book entry did not read
        self.ownership = ownership_lookup(mapping)
        self.close = {} if scope.partial else {mapping.task.object: task_close_policy(mapping)}
        self.totals = PlanTotals()
        self.keyed = frozenset(s.object for s in (mapping.renewal_opportunity,
                                                   mapping.renewal_line, mapping.task))
        self.users = UserDirectory(store, mapping)
        self.price_book = PriceBook(store, mapping)
        # How an account the rules cannot read is told (a planning process sends it home).
        self.warn: Callable[[str, str], None] = _warn_failed

    def plan_one(self, records: AccountRecords,
                 adoptions: Adoptions | None = None) -> PendingAccount | None:
        """The rules' plan and desired records of one account (None: not planned);
        ``adoptions``: the ledger's evidence, looked up for a batch of accounts (else
        for this one)."""
        account = records.account
        if account is None:
            return self._orphans(records) if records.contracts else None
        if self.scope.accounts and account.id not in self.scope.accounts:
            return None
        if adoptions is None:
            adoptions = adoption_evidence(self.store, self.mapping, [records])
        records = with_sfrenew_closures(self.store, self.mapping, records)
        records = in_scope(with_adoptions(records, adoptions), self.scope)
        return self._plan(self._list_prices(records), frozenset())

    def _list_prices(self, records: AccountRecords) -> AccountRecords:
        """``records`` with the list prices of a ``list``-priced account read from its
        contracts' price books (CPQ's *List* method), when the mapping maps them."""
        account = records.account
        if account is None or not self.price_book.mapped \
                or not prices_by_list(account, self.policy.uplift):
            return records
        entries = self.price_book.entries()
        shared = self.price_book.take_problems()
        self.shared_problems |= bool(shared)
        records.problems.extend(shared)
        none = ContractPriceBooks()
        decimals = self.policy.currencies
        records.contracts = [priced_from_books(
            c, books=records.contract_price_books.get(c.id, none), entries=entries,
            decimals=decimals.get(c.currency, 2)) for c in records.contracts]
        return records

    def _orphans(self, records: AccountRecords) -> PendingAccount | None:
        """Contracts whose account was deleted: reported per contract, nothing planned."""
        account_id = records.contracts[0].account_id
        if self.scope.accounts and account_id not in self.scope.accounts:
            return None
        records = in_scope(records, self.scope)
        records.account = Account(id=account_id, name=f"(deleted account {account_id})")
        plan = plan_orphans(account_id=account_id, contracts=records.contracts,
                            today=self.today, policy=self.policy)
        due = replan_on(plan=plan, contracts=records.contracts, today=self.today,
                        policy=self.policy)
        return PendingAccount(records, plan, [], replan=due)

    def _plan(self, records: AccountRecords, deleted_keys: frozenset[str]) -> PendingAccount:
        account = records.account
        assert account is not None  # plan_one checked
        plan = plan_account(account=account, contracts=records.contracts, today=self.today,
                            policy=self.policy, signals=records.signals,
                            existing_renewals=records.existing_renewals,
                            existing_tasks=records.existing_tasks, deleted_keys=deleted_keys)
        entries = {lid: rec.values.get("price_book_entry")
                   for lid, rec in records.line_records.items()}
        routed = route_renewals(plan, records, policy=self.policy.owners, users=self.users)
        shared = self.users.take_problems()
        self.shared_problems |= bool(shared)
        records.problems.extend(shared)
        desired = desired_records(mapping=self.mapping, plan=plan, owner_id=records.owner_id,
                                  line_entries=entries, shapes=self.shapes,
                                  account_object_id=account.id, assignees=routed,
                                  cadence=self.policy.cadence)
        due = replan_on(plan=plan, contracts=records.contracts, today=self.today,
                        policy=self.policy, signals=records.signals,
                        existing_renewals=records.existing_renewals,
                        existing_tasks=records.existing_tasks)
        return PendingAccount(records, plan, desired, routed=routed, replan=due)

    def _deletions(self, batch: list[PendingAccount]) -> list[PendingAccount]:
        """The batch with people's deletions known: an account where a person deleted a
        renewal or line sfrenew made is planned again without it (its explanation then
        says so); deleted tasks are left to the diff."""
        wanted: dict[str, set[str]] = {}
        for item in batch:
            for want in item.desired:
                if want.object in self.keyed and (want.object, want.key) \
                        not in item.records.current and want.key not in \
                        item.records.by_id_current(want.object, self.mapping):
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
            again.deleted, again.group = mine, item.group
            out.append(again)
        return out

    def flush(self, batch: Sequence[PendingAccount | DoneAccount]) -> None:
        """Diff a batch of planned accounts against the ledger and write them out, in
        order with the accounts replayed; save their plan states."""
        pending = self._deletions([i for i in batch if isinstance(i, PendingAccount)])
        keys: dict[str, set[str]] = {}
        for item in pending:
            for (obj, key) in item.records.current:
                keys.setdefault(obj, set()).add(key)
            for want in item.desired:
                keys.setdefault(want.object, set()).add(want.key)
        last: dict[tuple[str, str, str], Any] = {}
        for obj, names in keys.items():
            for (key, fname), value in self.store.last_written(obj, sorted(names)).items():
                last[(obj, key, fname)] = value
        planned = iter(pending)
        for entry in batch:
            if isinstance(entry, PendingAccount):
                item = next(planned)
                outcome = self._outcome(item, last)
                # A plan that writes moves the ledger (and, applied, the org): the account
                # is planned again next time, whatever its records and dates say.
                self._emit(outcome, item.group, self.today if outcome.writes else item.replan)
            else:
                self._emit(entry.outcome, entry.group, entry.replan, save=entry.save)
        if self.marker is not None and self.states:
            self.store.save_plan_states(self.states)
            self.states = []

    def write_line(self, plan: AccountPlan) -> None:
        """Write a line planned outside the accounts (the analytics rows), counted."""
        t = self.totals
        for change in plan.changes:
            per = t.counts.setdefault(change.object, {k.value: 0 for k in ChangeKind})
            per[change.kind.value] += 1
        t.problems += len(plan.problems)
        if plan.changes or plan.problems:
            self.out.write(account_line(plan))

    def _emit(self, o: AccountOutcome, group: str, replan: date | None, *,
              save: bool = True) -> None:
        """Add one account's part to the totals and the plan file (and its state)."""
        t = self.totals
        if o.account_id is not None:
            t.accounts += 1
            t.last_account = o.account_id
        for obj, kinds in o.counts.items():
            per = t.counts.setdefault(obj, {k.value: 0 for k in ChangeKind})
            for kind, n in kinds.items():
                per[kind] += n
        t.kept_edits += o.kept_edits
        for reason, n in o.skipped_by_reason.items():
            t.skipped_by_reason[reason] = t.skipped_by_reason.get(reason, 0) + n
        t.skipped += o.skipped
        for entry in o.lapsed:
            t.lapsed += 1
            if len(t.lapsed_renewals) < LAPSED_LISTED:
                t.lapsed_renewals.append(entry)
        t.problems += o.problems
        t.dirty += len(o.dirty)
        t.dirty_records.extend(o.dirty[:max(0, DIRTY_LISTED - len(t.dirty_records))])
        t.routing += o.routing
        if o.line is not None:
            self.out.write(o.line)
        if save and self.marker is not None and group:
            self.states.append(PlanState(group_key=group, marker=self.marker,
                                         replan_on=replan.isoformat() if replan else None,
                                         entry=o.to_json()))

    def _outcome(self, item: PendingAccount, last: Mapping[tuple[str, str, str], Any],
                 ) -> AccountOutcome:
        """One planned account's part of the plan: its changes diffed, its line, its counts."""
        records, plan = item.records, item.plan
        assert records.account is not None  # plan_one returned None otherwise
        leave = left_alone_records(self.mapping, plan, records.current)
        # Records sfrenew did not create but writes (a contract's link to its renewal, its
        # own fields on an adopted opportunity), as the org holds them, by Id.
        by_id = {(w.object, w.key): found for w in item.desired
                 if (found := records.by_id_current(w.object, self.mapping).get(w.key))}
        current = {**records.current, **by_id} if by_id else records.current
        contract_obj = self.mapping.contract.object
        desired = [w for w in item.desired if w.object != contract_obj
                   or (w.object, w.key) in by_id]
        changes = select_changes(
            diff_records(desired=desired, current=current, last_written=last,
                         ownership=self.ownership, close_policies=self.close, leave=leave,
                         deleted=item.deleted),
            rules=self.scope.rules, mapping=self.mapping, current=current)
        o = AccountOutcome(account_id=records.account.id)
        for change in changes:
            per = o.counts.setdefault(change.object, {k.value: 0 for k in ChangeKind})
            per[change.kind.value] += 1
            o.kept_edits += len(change.kept_edits)
            o.writes |= change.kind is not ChangeKind.LEAVE
        skipped = []
        for skip in plan.skipped:
            o.skipped_by_reason[skip.reason.value] = o.skipped_by_reason.get(
                skip.reason.value, 0) + 1
            if skip.reason not in QUIET_SKIPS:
                skipped.append({"contract_id": skip.contract_id, "reason": skip.reason.value,
                                "detail": skip.detail})
        o.skipped = len(skipped)
        o.lapsed = [lapsed_entry(records.account.name, renewal) for renewal in plan.renewals
                    if renewal.days_overdue]
        problems = [{"object": p.object, "record_id": str(p.record_id), "field": p.field,
                     "message": p.message} for p in records.problems]
        problems += [{"object": p.concept.value, "record_id": str(p.record_id), "field": "",
                      "message": p.message} for p in records.record_problems]
        o.problems = len(problems)
        o.dirty = [dirty_entry(s["contract_id"], s["reason"], s["detail"]) for s in skipped
                   if SkipReason(s["reason"]) in DIRTY_SKIPS]
        o.dirty += [dirty_entry(str(p.record_id), f"bad_{p.concept.value}", p.message)
                    for p in records.record_problems]
        routing = routing_entries(plan, item.routed)
        o.routing = len(routing)
        # Left alone but worth saying: people's edits, and records people deleted.
        kept = [c for c in changes if c.kind is not ChangeKind.LEAVE or c.kept_edits
                or (c.object, c.key) in item.deleted]
        if kept or skipped or problems or routing:
            o.line = account_line(AccountPlan(
                account_id=records.account.id, account_name=records.account.name,
                renewals=_summary(plan, self.policy.adoption.close_date_window_days),
                changes=tuple(kept), skipped=tuple(skipped),
                problems=tuple(problems), routing=tuple(routing)))
        return o


def _warn_failed(account: str, error: str) -> None:
    log.warning(PLAN_ACCOUNT_FAILED, account=account, error=error)


def plan_groups(planner: Planner, mapping: MappingFile, groups: Sequence[MirrorGroup],
                shapes: FieldShapes) -> list[PendingAccount | DoneAccount]:
    """Accounts planned, in order (a failure is reported and the account planned again
    next time); the ledger's evidence of adoptions is looked up once for them all."""
    read: list[AccountRecords | Exception] = []
    for group in groups:
        try:
            read.append(account_records(mapping, group, shapes))
        except (ValueError, TypeError, ArithmeticError) as exc:
            read.append(exc)
    adoptions = adoption_evidence(planner.store, mapping,
                                  [r for r in read if isinstance(r, AccountRecords)])
    out: list[PendingAccount | DoneAccount] = []
    for group, records in zip(groups, read, strict=True):
        try:
            if isinstance(records, Exception):
                raise records
            pending = planner.plan_one(records, adoptions)
        except (ValueError, TypeError, ArithmeticError) as exc:
            # A record the rules cannot read: reported, the run goes on.
            planner.warn(group.group_key, str(exc))
            out.append(DoneAccount(group.group_key, AccountOutcome(problems=1),
                                   replan=planner.today))
            continue
        if pending is None:
            out.append(DoneAccount(group.group_key, AccountOutcome()))
            continue
        pending.group = group.group_key
        out.append(pending)
    return out
