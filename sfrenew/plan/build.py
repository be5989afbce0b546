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
from sfrenew.core.plan import RenewalPlan, SkipReason
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import RulesPolicy
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
from sfrenew.plan.records import AccountRecords, account_records
from sfrenew.plan.rulesets import RuleSet, select_changes
from sfrenew.store.port import StorePort

BATCH_ACCOUNTS = 200
# Skips that are the normal course of business, counted but not listed per contract.
QUIET_SKIPS = frozenset({SkipReason.BEYOND_HORIZON, SkipReason.ALREADY_ENDED,
                         SkipReason.STATUS_NOT_ELIGIBLE})
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
    stopped: bool = False
    last_account: str | None = None


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


def _in_scope(records: AccountRecords, scope: PlanScope) -> AccountRecords:
    if not scope.partial:
        return records
    lo, hi = scope.contract_end_from, scope.contract_end_to
    records.contracts = [c for c in records.contracts if c.end_date is not None
                         and (lo is None or c.end_date >= lo) and (hi is None or c.end_date <= hi)]
    return records


def _summary(plan: RenewalPlan) -> tuple[RenewalSummary, ...]:
    return tuple(RenewalSummary(
        key=r.key, name=r.name, start_date=r.start_date.isoformat(),
        end_date=r.end_date.isoformat(), amount=str(r.amount), currency=r.currency,
        risk=r.risk.level.value, forecast=r.forecast.value, contracts=r.contract_ids,
        lines=len(r.lines), tasks=len(r.tasks), explanation=r.explanation)
        for r in plan.renewals)


@dataclass
class _Pending:
    records: AccountRecords
    plan: RenewalPlan
    desired: list[DesiredRecord]


class Planner:
    """Plans accounts in batches and appends them to a plan file."""

    def __init__(self, *, store: StorePort, mapping: MappingFile, policy: RulesPolicy,
                 today: date, shapes: FieldShapes, scope: PlanScope, out: Any) -> None:
        self.store, self.mapping, self.policy, self.today = store, mapping, policy, today
        self.shapes, self.scope, self.out = shapes, scope, out
        self.ownership = ownership_lookup(mapping)
        self.close = {} if scope.partial else {mapping.task.object: task_close_policy(mapping)}
        self.totals = PlanTotals()

    def plan_one(self, records: AccountRecords) -> _Pending | None:
        """The rules' plan and desired records of one account (None: not planned)."""
        account = records.account
        if account is None or (self.scope.accounts and account.id not in self.scope.accounts):
            return None
        records = _in_scope(records, self.scope)
        plan = plan_account(account=account, contracts=records.contracts, today=self.today,
                            policy=self.policy, signals=records.signals,
                            existing_renewals=records.existing_renewals,
                            existing_tasks=records.existing_tasks)
        entries = {lid: rec.values.get("price_book_entry")
                   for lid, rec in records.line_records.items()}
        desired = desired_records(mapping=self.mapping, plan=plan, owner_id=records.owner_id,
                                  line_entries=entries, shapes=self.shapes,
                                  account_object_id=account.id)
        return _Pending(records, plan, desired)

    def flush(self, batch: list[_Pending]) -> None:
        """Diff a batch of planned accounts against the ledger and write them out."""
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
        changes = select_changes(
            diff_records(desired=item.desired, current=records.current, last_written=last,
                         ownership=self.ownership, close_policies=self.close, leave=leave),
            rules=self.scope.rules, mapping=self.mapping, current=records.current)
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
        problems = [{"object": p.object, "record_id": str(p.record_id), "field": p.field,
                     "message": p.message} for p in records.problems]
        problems += [{"object": p.concept.value, "record_id": str(p.record_id), "field": "",
                      "message": p.message} for p in records.record_problems]
        t.problems += len(problems)
        kept = [c for c in changes if c.kind is not ChangeKind.LEAVE or c.kept_edits]
        if kept or skipped or problems:
            write_account(self.out, AccountPlan(
                account_id=records.account.id, account_name=records.account.name,
                renewals=_summary(plan), changes=tuple(kept), skipped=tuple(skipped),
                problems=tuple(problems)))


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
    with path.open("w", encoding="utf-8") as final, part.open(encoding="utf-8") as body:
        write_header(final, header)
        shutil.copyfileobj(body, final)
    part.unlink()
    return totals


def plan_objects(mapping: MappingFile) -> Iterable[str]:
    """The sObjects the plan streams from the mirror."""
    return [o.sobject for o in pulled_objects(mapping)]
