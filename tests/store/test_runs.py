"""Runs: lifecycle, checkpoint and stats, listing, crash recovery."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sfrenew.store import (
    RunKind,
    RunStateError,
    RunStats,
    RunStatus,
    StateStore,
    UnknownRun,
    WriteCounts,
    make_run_id,
)
from tests.store.conftest import NOW


def test_run_id_is_readable_and_reproducible() -> None:
    rid = make_run_id(NOW, random.Random(7))
    assert rid == make_run_id(NOW, random.Random(7))
    assert rid.startswith("r-20261124-071500-")
    assert len(rid) == len("r-20261124-071500-ab12")
    with pytest.raises(ValueError, match="aware"):
        make_run_id(NOW.replace(tzinfo=None), random.Random(7))


def test_lifecycle_with_checkpoint_and_stats(store: StateStore) -> None:
    run = store.start_run(run_id="r-1", job="main", kind=RunKind.APPLY, now=NOW,
                          params={"horizon_days": 120, "dry_run": False})
    assert run.status is RunStatus.RUNNING
    assert run.unfinished
    assert run.started_at == NOW
    assert run.finished_at is None
    assert run.params == {"horizon_days": 120, "dry_run": False}
    assert run.checkpoint is None
    assert run.stats == RunStats()

    stats = RunStats(pulled={"Contract": 2000}, api_calls={"query": 1})
    store.update_checkpoint("r-1", {"phase": "apply", "after_account": "001A"}, stats=stats)
    got = store.get_run("r-1")
    assert got.checkpoint == {"phase": "apply", "after_account": "001A"}
    assert got.stats == stats

    more = stats.merged(RunStats(pulled={"Contract": 5, "Account": 3},
                                 written={"Opportunity": WriteCounts(created=2, rejected=1)},
                                 api_calls={"query": 1, "collections": 1}))
    end = NOW + timedelta(minutes=3)
    done = store.finish_run("r-1", status=RunStatus.SUCCEEDED, now=end, stats=more)
    assert done.status is RunStatus.SUCCEEDED
    assert not done.unfinished
    assert done.finished_at == end
    assert done.stats.pulled == {"Contract": 2005, "Account": 3}
    assert done.stats.written == {"Opportunity": WriteCounts(created=2, rejected=1)}
    assert done.stats.api_calls == {"query": 2, "collections": 1}
    assert done.checkpoint == {"phase": "apply", "after_account": "001A"}


def test_transitions_are_checked(store: StateStore) -> None:
    store.start_run(run_id="r-1", job="main", kind=RunKind.PULL, now=NOW)
    with pytest.raises(RunStateError, match="already exists"):
        store.start_run(run_id="r-1", job="main", kind=RunKind.PULL, now=NOW)
    with pytest.raises(ValueError, match="not a final"):
        store.finish_run("r-1", status=RunStatus.RUNNING, now=NOW)
    with pytest.raises(RunStateError, match="cannot resume run 'r-1': it is running"):
        store.resume_run("r-1")
    store.finish_run("r-1", status=RunStatus.FAILED, now=NOW, error="budget exceeded")
    assert store.get_run("r-1").error == "budget exceeded"
    with pytest.raises(RunStateError, match="it is failed"):
        store.finish_run("r-1", status=RunStatus.SUCCEEDED, now=NOW)
    with pytest.raises(RunStateError, match="cannot checkpoint"):
        store.update_checkpoint("r-1", {})
    with pytest.raises(UnknownRun, match="r-404"):
        store.get_run("r-404")
    with pytest.raises(UnknownRun):
        store.finish_run("r-404", status=RunStatus.FAILED, now=NOW)


def test_crash_recovery_finds_marks_and_resumes(store: StateStore) -> None:
    store.start_run(run_id="r-a", job="main", kind=RunKind.APPLY, now=NOW)
    store.update_checkpoint("r-a", {"chunk": 4})
    store.start_run(run_id="r-b", job="backfill-q1", kind=RunKind.BACKFILL,
                    now=NOW + timedelta(seconds=1))
    store.start_run(run_id="r-c", job="main", kind=RunKind.PULL, now=NOW - timedelta(days=1))
    store.finish_run("r-c", status=RunStatus.SUCCEEDED, now=NOW - timedelta(days=1))

    assert [r.run_id for r in store.unfinished_runs()] == ["r-a", "r-b"]
    assert [r.run_id for r in store.unfinished_runs(job="main")] == ["r-a"]
    store.finish_run("r-a", status=RunStatus.INTERRUPTED, now=NOW + timedelta(minutes=1))
    assert [r.run_id for r in store.unfinished_runs(job="main")] == ["r-a"]
    resumed = store.resume_run("r-a")
    assert resumed.status is RunStatus.RUNNING
    assert resumed.finished_at is None
    assert resumed.checkpoint == {"chunk": 4}


def test_listing_newest_first(store: StateStore) -> None:
    for i in range(5):
        store.start_run(run_id=f"r-{i}", job="main" if i % 2 == 0 else "other",
                        kind=RunKind.PLAN, now=NOW + timedelta(minutes=i))
    assert [r.run_id for r in store.list_runs(3)] == ["r-4", "r-3", "r-2"]
    assert [r.run_id for r in store.list_runs(10, job="main")] == ["r-4", "r-2", "r-0"]
    assert [r.run_id for r in store.list_runs(10, kind=RunKind.APPLY)] == []
    last = store.last_run("main")
    assert last is not None
    assert last.run_id == "r-4"
    store.finish_run("r-0", status=RunStatus.SUCCEEDED, now=NOW)
    ok = store.last_run("main", status=RunStatus.SUCCEEDED)
    assert ok is not None
    assert ok.run_id == "r-0"
    assert store.last_run("nope") is None


def test_times_come_back_in_utc(store: StateStore) -> None:
    tokyo = datetime(2026, 11, 24, 16, 15, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    run = store.start_run(run_id="r-tz", job="main", kind=RunKind.PULL, now=tokyo)
    assert run.started_at == tokyo
    assert run.started_at.tzinfo is UTC
