"""A run of some accounts (a backfill chunk's range of the book): it plans and writes
those accounts and no other, and a run stopped while planning them resumes after the
last one planned."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sfrenew.core.planner import plan_account
from sfrenew.mapping.objects import pulled_objects
from sfrenew.plan.records import account_records
from sfrenew.runner import RunRequest, Step, execute
from sfrenew.store import open_store
from tests.clock import now, today
from tests.integration.test_run_support import Book, dump, open_book

pytestmark = pytest.mark.integration

RENEWAL_OBJECTS = ("Opportunity", "OpportunityLineItem", "Task")


def _engine_keys(b: Book, accounts: set[str]) -> dict[str, set[str]]:
    """The renewal, line and task keys the rules engine plans for ``accounts``."""
    m = b.config.mapping
    keys: dict[str, set[str]] = {obj: set() for obj in RENEWAL_OBJECTS}
    with open_store(b.config.store_url) as store:
        for group in store.iter_groups([o.sobject for o in pulled_objects(m)]):
            records = account_records(m, group)
            if records.account is None or records.account.id not in accounts:
                continue
            plan = plan_account(account=records.account, contracts=records.contracts,
                                today=today(), policy=b.config.rules, signals=records.signals,
                                existing_renewals=records.existing_renewals,
                                existing_tasks=records.existing_tasks)
            for renewal in plan.renewals:
                keys["Opportunity"].add(renewal.key)
                keys["OpportunityLineItem"] |= {line.key for line in renewal.lines}
                keys["Task"] |= {task.key for task in renewal.tasks}
    return keys


class _StopAfter:
    """A progress sink that asks the run to stop once planning has advanced ``after``."""

    def __init__(self, after: int, stop: threading.Event) -> None:
        self.after, self.stop, self.seen = after, stop, 0
        self.totals: dict[str, int | None] = {}

    def start(self, phase: str, total: int | None) -> None:
        """Remember the phase's total."""
        self.totals[phase] = total

    def advance(self, phase: str, n: int = 1) -> None:
        """Count, and stop past the mark."""
        if phase == "plan":
            self.seen += n
            if self.seen >= self.after:
                self.stop.set()

    def finish(self, phase: str) -> None:
        """Nothing to do."""


def test_a_run_of_some_accounts_writes_those_only_and_resumes_after_the_last_planned(
        tmp_path: Path) -> None:
    b = open_book(tmp_path, contracts=600)
    try:
        assert b.run(steps=(Step.PULL,)).status == "succeeded"
        with open_store(b.config.store_url) as store:
            accounts = sorted(g.group_key for g in store.iter_groups(["Account"]))
        # Every account but one in ten: more than one planning batch (200 accounts),
        # so the stop lands between batches and the resume has accounts left to plan.
        chosen = tuple(a for n, a in enumerate(accounts) if n % 10)
        assert len(chosen) > 200
        before = dump(b)
        stop = threading.Event()
        progress = _StopAfter(10, stop)
        first = execute(b.config, RunRequest(job="some", steps=(Step.PLAN, Step.APPLY),
                                             accounts=chosen),
                        clock=now, stop=stop, progress=progress)
        assert first.status == "stopped"
        assert progress.totals["plan"] == len(chosen)  # the scope's accounts, not the book's
        assert 0 < first.stats["plan"]["accounts"] < len(chosen)
        resumed = b.run(job="some", steps=(Step.PLAN, Step.APPLY), accounts=chosen,
                        resume_run_id=first.run_id)
        assert resumed.status == "succeeded", resumed.message
        assert resumed.stats["plan"]["accounts"] == len(chosen)
        after = dump(b)
        expected = _engine_keys(b, set(chosen))
        for obj in RENEWAL_OBJECTS:
            assert set(after[obj]) == set(before[obj]) | expected[obj], obj
            assert expected[obj] - set(before[obj]), f"nothing new planned for {obj}"
    finally:
        b.org.stop()
