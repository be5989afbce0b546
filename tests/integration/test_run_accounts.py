"""A run of some accounts (a backfill chunk's range of the book): it plans and writes
those accounts and no other, and a run stopped while planning them resumes after the
last one planned."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sfrenew.runner import RunRequest, Step, execute
from sfrenew.store import open_store
from tests.clock import now
from tests.integration.test_run_support import StopWhile, dump, engine_keys, open_book

pytestmark = pytest.mark.integration

RENEWAL_OBJECTS = ("Opportunity", "OpportunityLineItem", "Task")


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
        progress = StopWhile("plan", 10, stop)
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
        expected = engine_keys(b, set(chosen))
        for obj in RENEWAL_OBJECTS:
            assert set(after[obj]) == set(before[obj]) | expected[obj], obj
            assert expected[obj] - set(before[obj]), f"nothing new planned for {obj}"
    finally:
        b.org.stop()
