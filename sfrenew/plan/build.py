"""Planning a run: the mirror, account by account, through the rules and the diff.

Streams ``iter_groups`` (one account's records at a time), so memory stays flat;
ledger look-ups (last written values) are batched over a few hundred accounts. The
result is a plan file (see :mod:`sfrenew.plan.model`); nothing is written to
Salesforce here. A bad record is reported per Id and field and never stops the run.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Protocol

from sfrenew.core.policy import RulesPolicy
from sfrenew.mapping import MappingFile
from sfrenew.mapping.objects import pulled_objects
from sfrenew.plan.desired import FieldShapes
from sfrenew.plan.incremental import (
    EVERY_ACCOUNT,
    AccountOutcome,
    Span,
    Step,
    plan_fingerprint,
    planning,
    replaying,
)
from sfrenew.plan.model import (
    AccountPlan,
    PlanHeader,
    write_header,
)
from sfrenew.plan.planner import (
    WHOLE_PLAN,
    DoneAccount,
    PendingAccount,
    Planner,
    PlanScope,
    PlanTotals,
    plan_groups,
)
from sfrenew.plan.rulesets import plans_accounts
from sfrenew.store.port import StorePort
from sfrenew.store.values import MirrorGroup, PlanMeta

BATCH_ACCOUNTS = 200  # accounts planned between two flushes (ledger look-ups, stops)

def build_plan(*, store: StorePort, mapping: MappingFile, policy: RulesPolicy, today: date,
               shapes: FieldShapes, header: PlanHeader, path: Path,
               scope: PlanScope = WHOLE_PLAN, stop: threading.Event | None = None,
               advance: Callable[[int], None] | None = None,
               resume: PlanTotals | None = None, full_pass: bool = False,
               analytics: Callable[[], AccountPlan] | None = None,
               split: SplitPlan | None = None) -> PlanTotals:
    """Plan every account of the mirror into the plan file at ``path``, then the
    ``analytics`` line when given (a run restricted to the analytics plans no account).

    Only the accounts whose records changed since the last plan, or whose plan may
    change with the date (``sfrenew.core.replan``), are planned again; the others are
    replayed from their saved state, so the file is the one a full pass writes (see
    :mod:`sfrenew.plan.incremental` for when a full pass is made anyway). ``full_pass``
    plans every account. A scoped plan (accounts, a contract window, a resumed one)
    always plans its accounts and neither reads nor saves plan states.

    ``split`` plans a whole plan's accounts (not a resumed or an accounts-scoped plan's)
    in several processes (:func:`sfrenew.plan.parallel.in_processes`); the file is the
    same, byte for byte.

    Stopped (``stop`` set), it returns with ``stopped`` and ``last_account`` and leaves
    the accounts planned so far in ``<path>.part``; called again with those totals as
    ``resume`` and ``scope.after_account = last_account`` it carries on from there.
    """
    objects = [o.sobject for o in pulled_objects(mapping)]
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    carry_on = resume is not None and scope.after_account is not None and part.exists()
    # An analytics-only run plans no account: it neither reads nor saves plan states.
    tracked = (plans_accounts(scope.rules) and not scope.accounts and not scope.partial
               and scope.after_account is None and resume is None)
    marker = fingerprint = None
    replay = False
    if tracked:
        fingerprint = plan_fingerprint(mapping=mapping, policy=policy, shapes=shapes) + \
            ",".join(sorted(scope.rules))
        marker = store.mirror_version()
        meta = store.plan_meta()
        replay = (not full_pass and meta is not None and meta.fingerprint == fingerprint
                  and meta.today <= today.isoformat()
                  and store.ungrouped_version() <= meta.marker)
        store.set_plan_meta(None)  # until this plan completes, the next one is full
        if not replay:
            store.clear_plan_states()
    with part.open("a" if carry_on else "w", encoding="utf-8") as out:
        planner = Planner(store=store, mapping=mapping, policy=policy, today=today,
                          shapes=shapes, scope=scope, out=out, marker=marker)
        if carry_on and resume is not None:
            planner.totals = replace(resume, stopped=False)
        planner.totals.full_pass = not replay
        work = Work(objects=tuple(objects), replay=replay, span=Span(after=scope.after_account),
                    accounts=tuple(sorted(scope.accounts)))
        whole = scope.after_account is None and not scope.accounts and resume is None
        if split is not None and whole and plans_accounts(scope.rules):
            try:
                split(planner, work, path=path, stop=stop, advance=advance)
            except Exception:
                out.close()
                part.unlink(missing_ok=True)  # no partial plan is left behind
                raise
        elif plans_accounts(scope.rules):
            plan_accounts(planner, work, stop=stop, advance=advance)
        if analytics is not None and not planner.totals.stopped:
            planner.write_line(analytics())
    totals = planner.totals
    if totals.stopped:
        return totals
    if fingerprint is not None and marker is not None and not planner.shared_problems:
        # (a problem in a user or price book entry is told by the first account that
        # reads it: which one depends on the whole pass, so the next plan is full)
        store.set_plan_meta(PlanMeta(fingerprint=fingerprint, marker=marker,
                                     today=today.isoformat()))
    header.counts, header.accounts = totals.counts, totals.accounts
    header.kept_edits, header.skipped_contracts = totals.kept_edits, totals.skipped
    header.problems = totals.problems
    header.routing = totals.routing
    with path.open("w", encoding="utf-8") as final, part.open(encoding="utf-8") as body:
        write_header(final, header)
        shutil.copyfileobj(body, final)
    part.unlink()
    return totals


@dataclass(frozen=True)
class Work:
    """What a planning pass walks: the mirror's ``objects``, replaying saved states or
    not, over the accounts of ``span``."""

    objects: tuple[str, ...]
    replay: bool
    span: Span = EVERY_ACCOUNT
    accounts: tuple[str, ...] = ()  # sorted; a plan of some accounts (a backfill chunk)

    def walk(self, store: StorePort, today: date) -> Iterator[Step]:
        """The accounts in order, each to plan or to replay (see ``incremental``). A plan
        of some accounts (a backfill chunk's range of many) reads only theirs from the
        mirror, not the whole mirror."""
        if self.replay:
            return replaying(store, self.objects, today, self.span)
        if self.accounts:
            return planning(store.iter_groups_of(
                self.objects, [a for a in self.accounts if self.span.holds(a)]), self.span)
        return planning(store.iter_groups(self.objects, after_group=self.span.after),
                        self.span)


class SplitPlan(Protocol):
    """Plans ``work`` into the planner's file and totals as :func:`plan_accounts` does,
    its accounts split across processes (``path``: the plan file, beside which the
    parts are written)."""

    def __call__(self, planner: Planner, work: Work, *, path: Path,
                 stop: threading.Event | None,
                 advance: Callable[[int], None] | None) -> None: ...


def plan_accounts(planner: Planner, work: Work, *, stop: threading.Event | None,
                  advance: Callable[[int], None] | None) -> None:
    """Plan (or replay) the accounts of ``work`` into the planner's file, a batch at a
    time; stopped (``stop`` set), the totals say after which account."""
    batch: list[PendingAccount | DoneAccount | MirrorGroup] = []
    for key, group, state in work.walk(planner.store, planner.today):
        item: PendingAccount | DoneAccount | MirrorGroup
        if state is not None:
            item = DoneAccount(key, AccountOutcome.from_json(state.entry), save=False)
            planner.totals.replayed += 1
        elif group is None:  # no records left: nothing to plan (saved so, until
            item = DoneAccount(key, AccountOutcome())  # its records change again)
        else:
            item = group  # planned with the batch (its ledger look-ups are the batch's)
        batch.append(item)
        if advance is not None:
            advance(1)
        if len(batch) >= BATCH_ACCOUNTS:
            planner.flush(_planned(planner, batch))
            batch = []
            if stop is not None and stop.is_set():
                planner.totals.stopped = True
                planner.totals.last_account = key
                break
    planner.flush(_planned(planner, batch))


def _planned(planner: Planner, batch: list[PendingAccount | DoneAccount | MirrorGroup],
             ) -> list[PendingAccount | DoneAccount]:
    """The batch with its accounts to plan (their mirror groups) planned, in order."""
    groups = [item for item in batch if isinstance(item, MirrorGroup)]
    if not groups:
        return [item for item in batch if not isinstance(item, MirrorGroup)]
    planned = iter(plan_groups(planner, planner.mapping, groups, planner.shapes))
    return [next(planned) if isinstance(item, MirrorGroup) else item for item in batch]


def plan_objects(mapping: MappingFile) -> Iterable[str]:
    """The sObjects the plan streams from the mirror."""
    return [o.sobject for o in pulled_objects(mapping)]
