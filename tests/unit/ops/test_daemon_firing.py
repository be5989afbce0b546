"""What one scheduled fire does, with a stand-in for the runner (tests only)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sfrenew.config import AppConfig
from sfrenew.daemon import JobFiring, outcome_fields
from sfrenew.jobs import JobSpec, load_jobs
from sfrenew.locks import Busy
from sfrenew.metrics import Metrics
from sfrenew.runner import ProgressSink, RunOutcome, RunRequest

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
STATS = {"pulled": {"Contract": 5}, "written": {"Opportunity": {"created": 2, "updated": 1,
                                                                  "skipped": 0, "rejected": 1}}}


class StandInRunner:
    """Plays the runner's ``execute``: raises the queued errors, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.requests: list[RunRequest] = []

    def __call__(self, config: AppConfig, request: RunRequest, *,
                 clock: Any, stop: threading.Event | None = None,
                 progress: ProgressSink | None = None) -> RunOutcome:
        self.requests.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return RunOutcome(run_id="r-1", status="succeeded", stats=STATS,
                          api_calls={"auth": 1, "query_page": 3, "collections": 1},
                          duration_s=2.5, message="done")


@pytest.fixture
def spec(tmp_path: Path) -> JobSpec:
    (tmp_path / "nightly.yaml").write_text("trigger: {cron: '0 2 * * *'}\n"
                                           "steps: [pull, plan, apply]\n"
                                           "params: {max_api_calls: 99}\n")
    return load_jobs(tmp_path)[0]


def firing(runner: StandInRunner, **options: Any) -> JobFiring:
    config: Any = object()  # the stand-in never looks at it
    return JobFiring(config=config, executor=runner, clock=lambda: NOW, stop=threading.Event(),
                     busy_poll_s=0.01, **options)


def test_a_fire_runs_the_job_and_accounts_for_it(spec: JobSpec) -> None:
    runner, probes = StandInRunner(), list[int]()

    def probe() -> int:
        probes.append(1)
        return 4321

    fire = firing(runner, metrics=Metrics(), allocation=probe)
    with capture_logs() as logs:
        fire(spec)
        fire(spec)
    assert [r.max_api_calls for r in runner.requests] == [99, 99]
    finished = [e for e in logs if e["event"] == "job_finished"]
    assert finished[0]["api_calls"] == 4  # the login is not an API call
    assert finished[0]["logins"] == 1
    assert (finished[0]["created"], finished[0]["rejected"]) == (2, 1)
    assert probes == [1]  # one /limits read per interval, not per run
    text = fire.metrics.render()
    assert 'sfrenew_runs_total{job="nightly",outcome="succeeded"} 2' in text
    assert "sfrenew_api_daily_remaining 4321" in text


def test_a_fire_waits_while_another_run_holds_the_state(spec: JobSpec) -> None:
    runner = StandInRunner(Busy("another sfrenew run is using .state"),
                           Busy("another sfrenew run is using .state"))
    with capture_logs() as logs:
        firing(runner)(spec)
    assert len(runner.requests) == 3
    assert [e["event"] for e in logs] == ["waiting_for_run", "job_finished"]


def test_stop_while_waiting_gives_up_quietly(spec: JobSpec) -> None:
    runner = StandInRunner(*[Busy("busy")] * 100)
    fire = firing(runner)
    fire.stop.set()
    with capture_logs() as logs:
        fire(spec)
    assert runner.requests == []
    assert logs == []


def test_a_bug_in_the_run_is_logged_and_counted(spec: JobSpec) -> None:
    fire = firing(StandInRunner(RuntimeError("boom")))
    with capture_logs() as logs:
        fire(spec)
    assert logs[0]["event"] == "job_failed"
    assert 'sfrenew_runs_total{job="nightly",outcome="failed"} 1' in fire.metrics.render()


def test_outcome_fields() -> None:
    outcome = RunOutcome(run_id="r-2", status="stopped", stats={}, api_calls={"auth": 2},
                         duration_s=0.1234, message="cap")
    fields = outcome_fields(outcome)
    assert fields["api_calls"] == 0
    assert fields["duration_s"] == 0.123
