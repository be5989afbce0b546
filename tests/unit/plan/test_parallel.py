"""Splitting a plan across processes: the spans, the totals merged, the processes run
(issue 19 item 6). The processes here are spawned for real, with stand-in work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from sfrenew.plan import parallel
from sfrenew.plan.incremental import Span, planning
from sfrenew.plan.parallel import (
    PartJob,
    PlanningFailed,
    merge_totals,
    processes_setting,
    split_spans,
)
from sfrenew.plan.planner import DIRTY_LISTED, PlanTotals
from sfrenew.store.values import MirrorGroup

KEYS = [f"001{n:03d}" for n in range(10)]


@pytest.mark.parametrize(("parts", "spans"), [
    (1, [Span()]),
    (2, [Span(last="001004"), Span(after="001004")]),
    (3, [Span(last="001002"), Span(after="001002", last="001005"), Span(after="001005")]),
    (20, [Span(last=k) if i == 0 else Span(after=KEYS[i - 1], last=k) for i, k in
          enumerate(KEYS[:-1])] + [Span(after="001008")]),  # never more spans than keys
])
def test_spans_are_contiguous_and_about_equal(parts: int, spans: list[Span]) -> None:
    assert split_spans(KEYS, parts) == spans


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 7, 10])
def test_every_key_is_in_exactly_one_span_and_in_order(parts: int) -> None:
    spans = split_spans(KEYS, parts)
    owners = [[i for i, s in enumerate(spans) if s.holds(k)] for k in [*KEYS, "000", "999"]]
    assert all(len(o) == 1 for o in owners)  # keys outside the list fall in the ends too
    assert [o[0] for o in owners[:-2]] == sorted(o[0] for o in owners[:-2])


def test_no_keys_is_one_span() -> None:
    assert split_spans([], 4) == [Span()]


def _totals(obj: str, created: int, account: str, dirty: int) -> PlanTotals:
    return PlanTotals(counts={obj: {"create": created, "update": 0, "close": 0,
                                    "delete": 0, "leave": 1}},
                      accounts=2, last_account=account, kept_edits=1, skipped=1,
                      skipped_by_reason={"beyond_horizon": 3}, problems=1, routing=1,
                      lapsed=1, lapsed_renewals=[{"key": account}], dirty=dirty,
                      dirty_records=[{"record_id": f"{account}-{i}"} for i in range(dirty)],
                      replayed=1)


def test_merged_totals_are_the_sums_in_account_order() -> None:
    into = _totals("Opportunity", 2, "001A", 1)
    merge_totals(into, _totals("Task", 5, "001B", 1))
    merge_totals(into, _totals("Opportunity", 1, "001C", 1))
    assert list(into.counts) == ["Opportunity", "Task"]  # first seen first, as one pass
    assert into.counts["Opportunity"]["create"] == 3
    assert into.counts["Task"] == {"create": 5, "update": 0, "close": 0, "delete": 0,
                                   "leave": 1}
    assert (into.accounts, into.last_account, into.kept_edits, into.skipped) == (6, "001C", 3, 3)
    assert into.skipped_by_reason == {"beyond_horizon": 9}
    assert (into.problems, into.routing, into.lapsed, into.replayed) == (3, 3, 3, 3)
    assert [r["key"] for r in into.lapsed_renewals] == ["001A", "001B", "001C"]
    assert [r["record_id"] for r in into.dirty_records] == ["001A-0", "001B-0", "001C-0"]


def test_listed_records_stop_at_the_limit_as_in_one_pass() -> None:
    into = _totals("Opportunity", 0, "001A", DIRTY_LISTED - 1)
    merge_totals(into, _totals("Opportunity", 0, "001B", 5))
    assert into.dirty == DIRTY_LISTED + 4  # all counted
    assert len(into.dirty_records) == DIRTY_LISTED  # the first ones listed
    assert into.dirty_records[-1] == {"record_id": "001B-0"}


def test_a_span_of_nothing_keeps_the_last_account() -> None:
    into = _totals("Opportunity", 0, "001A", 0)
    merge_totals(into, PlanTotals())
    assert into.last_account == "001A"


def test_the_setting_auto_is_the_cores_this_process_may_use() -> None:
    assert processes_setting(3) == 3
    assert processes_setting("auto") >= 1


def _job(index: int) -> PartJob:
    # Only the index is read by the stand-in processes below.
    return cast(PartJob, SimpleNamespace(index=index))


# Stand-ins for plan_part: span 0 runs in a thread of the test's process (given ``stop``),
# the others in processes.
def _fails(job: PartJob, messages: Any, stop: threading.Event | None = None) -> None:
    messages.put(("failed", job.index, "StoreMissing: no state store at sqlite:///gone"))


def _sleeps(job: PartJob, messages: Any, stop: threading.Event | None = None) -> None:
    if stop is None:
        time.sleep(60)
    else:  # the thread: ends when the step ends it, as plan_accounts does
        stop.wait(60)


def _plans(job: PartJob, messages: Any, stop: threading.Event | None = None) -> None:
    messages.put(("advance", 3))
    messages.put(("done", job.index, PlanTotals(accounts=job.index + 1), False, 0.5))


def test_a_process_that_fails_fails_the_step_with_its_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "plan_part", _fails)
    with pytest.raises(PlanningFailed, match=r"planning process [01] failed: StoreMissing"):
        parallel._run([_job(0), _job(1)], stop=None, advance=None)


def test_results_come_in_span_order_with_the_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "plan_part", _plans)
    moved: list[int] = []
    results = parallel._run([_job(0), _job(1), _job(2)], stop=None, advance=moved.append)
    assert results is not None
    assert [(r[0].accounts, r[1], r[2]) for r in results] == [(1, False, 0.5), (2, False, 0.5),
                                                               (3, False, 0.5)]
    assert moved == [3, 3, 3]


def test_a_stop_ends_the_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "plan_part", _sleeps)
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert parallel._run([_job(0), _job(1)], stop=stop, advance=None) is None
    assert time.monotonic() - started < 30  # not the minute the processes would sleep


def _crashes(job: PartJob, messages: Any, stop: threading.Event | None = None) -> None:
    if stop is not None:  # the thread, on something plan_part does not catch
        raise SystemExit(3)
    messages.put(("done", job.index, PlanTotals(), False, 0.0))


def test_a_thread_that_crashes_fails_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "plan_part", _crashes)
    with pytest.raises(PlanningFailed, match=r"planning span 0 failed: SystemExit\(3\)"):
        parallel._run([_job(0), _job(1)], stop=None, advance=None)


def test_planning_a_span_stops_after_its_last_account() -> None:
    groups = [MirrorGroup(group_key=k, records={}) for k in KEYS[4:]]  # after 001003
    walked = [key for key, _group, _state in planning(groups, Span(after="001003",
                                                                    last="001006"))]
    assert walked == ["001004", "001005", "001006"]


def _says_where(job: PartJob, messages: Any, stop: threading.Event | None = None) -> None:
    # (the shared-problem flag of the result carries "planned in the run's thread")
    messages.put(("done", job.index, PlanTotals(accounts=job.index + 1), stop is not None,
                  0.0))


@pytest.mark.parametrize(("here", "threaded"), [(True, [True, False, False]),
                                                (False, [False, False, False])])
def test_the_first_span_is_planned_in_the_runs_own_thread_unless_told_not_to(
        monkeypatch: pytest.MonkeyPatch, here: bool, threaded: list[bool]) -> None:
    monkeypatch.setattr(parallel, "plan_part", _says_where)
    results = parallel._run([_job(0), _job(1), _job(2)], stop=None, advance=None, here=here)
    assert results is not None
    assert [r[1] for r in results] == threaded
    assert [r[0].accounts for r in results] == [1, 2, 3]


def _tells_its_process(job: PartJob, messages: Any, stop: threading.Event | None = None,
                       ) -> None:
    # (the totals' account count carries the id of the process that planned the span)
    messages.put(("done", job.index, PlanTotals(accounts=os.getpid()), False, 0.0))


def test_processes_started_ahead_plan_the_first_spans_then_new_ones_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "plan_part", _tells_its_process)
    with parallel.Standby(1) as standby:
        ahead = standby.waiting
        assert len(ahead) == 1
        results = parallel._run([_job(0), _job(1), _job(2)], stop=None, advance=None,
                                standby=standby)
        assert standby.waiting == []  # given its job
    assert results is not None
    planned_by = [r[0].accounts for r in results]
    assert planned_by[0] == os.getpid()  # the run's own thread
    assert planned_by[1] == ahead[0]  # the process started ahead
    assert planned_by[2] not in (os.getpid(), ahead[0])  # one started for it


def _ended(pid: int, within: float = 60.0) -> bool:
    """Whether process ``pid`` ends (or is left a zombie, ended but not reaped) in time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_a_process_started_ahead_that_died_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "plan_part", _tells_its_process)
    with parallel.Standby(1) as standby:
        dead = standby.waiting[0]
        os.kill(dead, signal.SIGKILL)  # the OOM killer, say
        assert _ended(dead)
        results = parallel._run([_job(0), _job(1)], stop=None, advance=None, here=False,
                                standby=standby)
    assert results is not None
    assert dead not in [r[0].accounts for r in results]
    assert len({r[0].accounts for r in results}) == 2


def test_processes_started_ahead_and_not_needed_end_when_closed() -> None:
    standby = parallel.Standby(2)
    waiting = standby.waiting
    assert len(waiting) == 2
    started = time.monotonic()
    standby.close()
    assert time.monotonic() - started < 10
    assert standby.waiting == []
    assert all(_ended(pid, within=5) for pid in waiting)


_KILLED_RUN = """
import sys, time
from sfrenew.plan.parallel import Standby
standby = Standby(1)
print(standby.waiting[0], flush=True)
time.sleep(600)
"""


def test_a_process_started_ahead_ends_when_its_run_is_killed() -> None:
    # kill -9 leaves no code to end it: its end of the pipe closing ends it.
    with subprocess.Popen([sys.executable, "-c", _KILLED_RUN], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as run:
        try:
            assert run.stdout is not None
            waiting = int(run.stdout.readline())
            assert not _ended(waiting, within=0.5)  # waiting for a job while its run lives
        finally:
            run.kill()
    assert _ended(waiting)
