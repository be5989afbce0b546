"""Planning across processes writes the plan one process writes (issue 19 item 6).

On the local org, both presets: copies of one state store plan the same mirror with
``run.plan_processes`` 1 and 3; the plan files are the same, byte for byte (the header
but for the run's id and time). A first plan (every account) and, days later after a
run applied with 2 processes, a plan of only what changed; a run that pulls first, its
processes started before the pull; and the same on a PostgreSQL store. The processes are the real
thing: spawned interpreters, each opening the SQLite store itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from sfrenew.config import AppConfig
from sfrenew.plan import parallel
from sfrenew.runner import RunRequest, Step, execute
from sfrenew.store import open_store
from tests.integration.queue_support import fresh_database
from tests.integration.renewal_desk_support import PRESETS, Desk, desk_fixture, rejected

pytestmark = pytest.mark.integration


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def desk(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    # The local org's book is small: split it anyway (a span of one account at least).
    monkeypatch.setattr(parallel, "PART_MIN_ACCOUNTS", 1)
    yield from desk_fixture(tmp_path, request.param)


def _with_processes(config: AppConfig, processes: int, state: Path | None = None,
                    ) -> AppConfig:
    run = config.run.model_copy(update={"plan_processes": processes})
    if state is None:
        return dataclasses.replace(config, run=run)
    return dataclasses.replace(config, run=run, state_dir=state,
                               store_url=f"sqlite:///{state / 'sfrenew.sqlite3'}")


def _plan_on_a_copy(desk: Desk, where: Path, processes: int, *, sql: str = "",
                    ) -> tuple[list[str], dict[str, int | bool]]:
    """The plan file (header without run id and time) a copy of the store makes (after
    ``sql`` on the copy), how many processes planned it and whether it was planned
    again in one."""
    state = where / "state"
    state.mkdir(parents=True)
    with sqlite3.connect(desk.config.state_dir / "sfrenew.sqlite3") as source, \
            sqlite3.connect(state / "sfrenew.sqlite3") as target:
        source.backup(target)
        if sql:
            target.execute(sql)
    with capture_logs() as logs:
        outcome = execute(_with_processes(desk.config, processes, state),
                          RunRequest(job="main", steps=(Step.PLAN,), dry_run=True),
                          clock=desk.clock)
    assert outcome.status == "succeeded", outcome.message
    started = [e for e in logs if e.get("event") == parallel.PLAN_PARTS_STARTED]
    again = [e for e in logs if e.get("event") == parallel.PLAN_PARTS_AGAIN]
    return _plan_lines(outcome.stats["plan_file"]), {
        "parts": started[0]["processes"] if started else 1, "again": bool(again)}


def _plan_lines(path: str) -> list[str]:
    """A plan file's lines, its header without the run's id and time."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = {k: v for k, v in json.loads(lines[0]).items()
              if k not in ("run_id", "created_at")}
    return [json.dumps(header), *lines[1:]]


def test_three_processes_plan_what_one_plans(desk: Desk, tmp_path: Path) -> None:
    pulled = desk.run(RunRequest(job="main", steps=(Step.PULL,)))
    assert pulled.status == "succeeded", pulled.message

    one, alone = _plan_on_a_copy(desk, tmp_path / "first-1", 1)
    three, split = _plan_on_a_copy(desk, tmp_path / "first-3", 3)
    assert alone == {"parts": 1, "again": False}
    assert split == {"parts": 3, "again": False}
    assert len(one) > 3  # a plan with accounts in it
    assert three == one
    # Spans too large for the run's own thread: every span planned by a process.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parallel, "HERE_MAX_ACCOUNTS", 0)
        apart, split = _plan_on_a_copy(desk, tmp_path / "first-3-apart", 3)
    assert split == {"parts": 3, "again": False}
    assert apart == one

    # The real store: planned with 2 processes and applied; its plan states saved.
    desk.config = _with_processes(desk.config, 2)
    applied = desk.run(RunRequest(job="main", steps=(Step.PLAN, Step.APPLY)))
    assert applied.status == "succeeded", applied.message
    assert rejected(applied) == 0
    with open_store(desk.config.store_url) as store:
        assert store.plan_meta() is not None

    # Days later, only what changed is planned, split across processes again.
    desk.clock.move_to(desk.clock.today() + timedelta(days=20))
    pulled = desk.run(RunRequest(job="main", steps=(Step.PULL,)))
    assert pulled.status == "succeeded", pulled.message
    one, _ = _plan_on_a_copy(desk, tmp_path / "later-1", 1)
    three, _ = _plan_on_a_copy(desk, tmp_path / "later-3", 3)
    assert three == one


def test_processes_started_before_the_pull_plan_what_one_plans(desk: Desk,
                                                                tmp_path: Path) -> None:
    desk.config = _with_processes(desk.config, 3)
    with capture_logs() as logs:  # a run that pulls, then plans: processes start ahead
        outcome = desk.run(RunRequest(job="main", steps=(Step.PULL, Step.PLAN),
                                      dry_run=True))
    assert outcome.status == "succeeded", outcome.message
    started = [e for e in logs if e.get("event") == parallel.PLAN_PARTS_STARTED]
    assert [(e["processes"], e["started_ahead"]) for e in started] == [(3, 2)]

    one, alone = _plan_on_a_copy(desk, tmp_path / "one", 1)
    assert alone == {"parts": 1, "again": False}
    assert len(one) > 3  # a plan with accounts in it
    assert _plan_lines(outcome.stats["plan_file"]) == one


@pytest.mark.postgres
def test_processes_on_postgresql_plan_what_one_plans(desk: Desk) -> None:
    # Each process opens the PostgreSQL store itself and saves its accounts' plan
    # states concurrently: the plan is still the one a single process makes.
    with fresh_database() as url:
        desk.config = dataclasses.replace(_with_processes(desk.config, 3), store_url=url)
        with capture_logs() as logs:
            split = desk.run(RunRequest(job="main", steps=(Step.PULL, Step.PLAN),
                                        dry_run=True))
        assert split.status == "succeeded", split.message
        started = [e for e in logs if e.get("event") == parallel.PLAN_PARTS_STARTED]
        assert [(e["processes"], e["started_ahead"]) for e in started] == [(3, 2)]
        with open_store(url) as store:
            assert store.plan_meta() is not None  # the processes' plan states were saved

        desk.config = _with_processes(desk.config, 1)
        one = desk.run(RunRequest(job="main", steps=(Step.PLAN,), dry_run=True,
                                  full_plan=True))
        assert one.status == "succeeded", one.message
        lines = _plan_lines(one.stats["plan_file"])
        assert len(lines) > 3  # a plan with accounts in it
        assert _plan_lines(split.stats["plan_file"]) == lines


def test_a_bad_user_every_process_reads_is_told_once_as_by_one_process(
        desk: Desk, tmp_path: Path) -> None:
    pulled = desk.run(RunRequest(job="main", steps=(Step.PULL,)))
    assert pulled.status == "succeeded", pulled.message
    # Every user's IsActive unreadable: the first account reading each user tells it.
    bad = ("UPDATE mirror SET data = json_set(data, '$.IsActive', 'maybe') "
           "WHERE object = 'User'")
    one, _ = _plan_on_a_copy(desk, tmp_path / "one", 1, sql=bad)
    three, again = _plan_on_a_copy(desk, tmp_path / "three", 3, sql=bad)
    assert again == {"parts": 3, "again": True}  # split, then planned again in one
    assert any("IsActive" in line for line in one[1:])
    assert three == one


_plan_part = parallel.plan_part  # the real one (span 0's thread sees the patched name)


def _dies(job: parallel.PartJob, messages: object,
          stop: threading.Event | None = None) -> None:
    """A planning process killed before it finishes (the OOM killer, say)."""
    if job.index == 1:
        os._exit(9)
    _plan_part(job, messages, stop)


def test_a_planning_process_that_dies_fails_the_step_and_leaves_no_plan(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    pulled = desk.run(RunRequest(job="main", steps=(Step.PULL,)))
    assert pulled.status == "succeeded", pulled.message
    # (the process is spawned: it runs this module's function, found by its name)
    monkeypatch.setattr(parallel, "plan_part", _dies)
    desk.config = _with_processes(desk.config, 3)
    outcome = desk.run(RunRequest(job="main", steps=(Step.PLAN, Step.APPLY)))
    assert outcome.status == "failed"
    assert "planning process 1 ended with exit code 9" in outcome.message
    assert outcome.stats["plan_file"] is None
    runs = desk.config.state_dir / "runs"
    assert not list(runs.rglob("plan.jsonl*"))  # neither the plan nor a part of it
    assert not any(outcome.stats["written"].values())


class _StopPlanning:
    """A progress sink that asks the run to stop at the first accounts planned."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def start(self, phase: str, total: int | None) -> None:
        """Nothing to do."""

    def advance(self, phase: str, n: int = 1) -> None:
        """Stop once planning has begun."""
        if phase == "plan" and n:
            self.stop.set()

    def finish(self, phase: str) -> None:
        """Nothing to do."""


def test_a_stop_while_processes_plan_resumes_from_the_first_account(
        desk: Desk, tmp_path: Path) -> None:
    pulled = desk.run(RunRequest(job="main", steps=(Step.PULL,)))
    assert pulled.status == "succeeded", pulled.message
    expected, _ = _plan_on_a_copy(desk, tmp_path / "one", 1)
    desk.config = _with_processes(desk.config, 3)
    stop = threading.Event()
    stopped = execute(desk.config, RunRequest(job="main", steps=(Step.PLAN,), dry_run=True),
                      clock=desk.clock, stop=stop, progress=_StopPlanning(stop))
    assert stopped.status == "stopped", stopped.message
    assert stopped.stats["plan_file"] is None
    runs = desk.config.state_dir / "runs" / stopped.run_id
    assert not list(runs.glob("plan.jsonl.part?*"))  # no process's part is left

    resumed = desk.run(RunRequest(job="main", steps=(Step.PLAN,), dry_run=True,
                                  resume_run_id=stopped.run_id))
    assert resumed.status == "succeeded", resumed.message
    lines = Path(resumed.stats["plan_file"]).read_text(encoding="utf-8").splitlines()
    header = {k: v for k, v in json.loads(lines[0]).items()
              if k not in ("run_id", "created_at")}
    assert [json.dumps(header), *lines[1:]] == expected
