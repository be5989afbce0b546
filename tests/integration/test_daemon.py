"""The daemon in a subprocess against a local org: fires, refuses a twin, stops cleanly,
coalesces missed fires."""

from __future__ import annotations

import signal
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.faults import FaultConfig
from sfrenew.store import RunKind, RunStatus, open_store
from tests.clock import now as pinned_now
from tests.integration.ops_support import (
    Process,
    named,
    run_sfrenew,
    seeded_org,
    write_config,
    write_job,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with seeded_org(tmp_path_factory.mktemp("daemon-org"), contracts=40) as started:
        yield started


def test_fires_on_interval_refuses_a_twin_and_stops_on_sigterm(org: LocalOrg,
                                                               tmp_path: Path) -> None:
    config = write_config(tmp_path, org)
    jobs = tmp_path / "jobs"
    write_job(jobs, "tick", "trigger: {interval: {seconds: 1}}\nsteps: [pull]\n")
    daemon = Process(["run", "--config", str(config), "--jobs-dir", str(jobs),
                      "--metrics-port", "0"], cwd=tmp_path)
    try:
        events = daemon.wait_for(lambda ev: len(named(ev, "job_finished")) >= 2)
        started = named(events, "daemon_started")[0]

        twin = run_sfrenew(["run", "--config", str(config), "--jobs-dir", str(jobs)],
                           cwd=tmp_path, timeout=60)
        assert twin.returncode == 1
        assert f"process {daemon.pid} holds {tmp_path / 'state' / 'daemon.lock'}" in twin.stderr

        url = f"http://127.0.0.1:{started['metrics_port']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            metrics = response.read().decode()
        assert 'sfrenew_runs_total{job="tick",outcome="succeeded"}' in metrics
        assert 'sfrenew_last_success_timestamp_seconds{job="tick"}' in metrics
        assert 'sfrenew_api_calls_total{job="tick",kind="query_page"}' in metrics

        daemon.signal(signal.SIGTERM)
        assert daemon.finish(timeout=120) == 0
    finally:
        daemon.kill()
    events = daemon.events()
    assert events[-1]["event"] == "daemon_stopped"
    finished = named(events, "job_finished")
    assert all(e["status"] in ("succeeded", "stopped") for e in finished), finished
    # Every line of a run carries the job and the run id, whichever module wrote it.
    in_runs = [e for e in events if e.get("logger", "").startswith("sfrenew.pull")]
    assert in_runs
    assert all(e.get("job") == "tick" and e.get("run_id", "").startswith("r-") for e in in_runs)
    assert len(named(events, "run_finished")) == len(finished)
    with open_store(f"sqlite:///{tmp_path / 'state' / 'sfrenew.sqlite3'}") as store:
        runs = store.list_runs(100, job="tick")
    assert len(runs) == len(finished)
    assert not [r for r in runs if r.status is RunStatus.RUNNING]


def test_missed_fires_are_coalesced_into_one_run(org: LocalOrg, tmp_path: Path) -> None:
    """Down for three nights: the daemon runs the nightly job once when it starts."""
    config = write_config(tmp_path, org)
    jobs = tmp_path / "jobs"
    write_job(jobs, "nightly", "trigger: {cron: '0 0 * * *'}\nsteps: [pull]\n"
                               "params: {misfire_grace_seconds: 172800}\n")
    write_job(jobs, "idle", "trigger: {cron: '0 0 1 1 *'}\nsteps: [pull]\n")
    now = pinned_now()  # the daemon's clock (the suite's pinned clock)
    with open_store(f"sqlite:///{tmp_path / 'state' / 'sfrenew.sqlite3'}") as store:
        old = now - timedelta(days=3, hours=1)
        store.start_run(run_id="r-old", job="nightly", kind=RunKind.RUN, now=old)
        store.finish_run("r-old", status=RunStatus.SUCCEEDED, now=old + timedelta(minutes=5))
    daemon = Process(["run", "--config", str(config), "--jobs-dir", str(jobs)], cwd=tmp_path)
    try:
        daemon.wait_for(lambda ev: bool(named(ev, "job_finished")))
        time.sleep(3)  # room for (wrongly) repeated fires of the backlog
        daemon.signal(signal.SIGTERM)
        assert daemon.finish() == 0
    finally:
        daemon.kill()
    events = daemon.events()
    scheduled = {e["job"]: e for e in named(events, "job_scheduled")}
    assert scheduled["nightly"]["catch_up"] is not None
    assert scheduled["idle"]["catch_up"] is None
    assert [e["job"] for e in named(events, "job_finished")] == ["nightly"]
    with open_store(f"sqlite:///{tmp_path / 'state' / 'sfrenew.sqlite3'}") as store:
        assert [r.run_id == "r-old" for r in store.list_runs(10, job="nightly")] == \
            [False, True]


def test_sigterm_mid_run_checkpoints_the_run_and_exits_0(org: LocalOrg, tmp_path: Path) -> None:
    """The run in flight finishes its chunk, saves a checkpoint and ends stopped."""
    config = write_config(tmp_path, org)
    jobs = tmp_path / "jobs"
    write_job(jobs, "slow", "trigger: {interval: {seconds: 1}}\nsteps: [pull, plan, apply]\n")
    org.configure_faults(FaultConfig(latency_ms=300))  # every call slow: a long pull
    try:
        daemon = Process(["run", "--config", str(config), "--jobs-dir", str(jobs)],
                         cwd=tmp_path)
        try:
            daemon.wait_for(lambda ev: bool(named(ev, "pull_object_done")))
            daemon.signal(signal.SIGTERM)
            assert daemon.finish() == 0
        finally:
            daemon.kill()
    finally:
        org.configure_faults(FaultConfig())
    events = daemon.events()
    [finished] = named(events, "job_finished")
    assert finished["status"] == "stopped"
    assert f"--resume {finished['run_id']}" in finished["message"]
    assert events[-1]["event"] == "daemon_stopped"
    with open_store(f"sqlite:///{tmp_path / 'state' / 'sfrenew.sqlite3'}") as store:
        run = store.get_run(finished["run_id"])
    assert run.status is RunStatus.STOPPED
    assert run.checkpoint is not None
    assert run.checkpoint.get("pulled_objects") or run.checkpoint.get("upper")


def test_job_files_with_mistakes_are_refused_with_every_location(org: LocalOrg,
                                                                 tmp_path: Path) -> None:
    config = write_config(tmp_path, org)
    jobs = tmp_path / "jobs"
    write_job(jobs, "a", "trigger: {cron: '0 2 * * 1'}\nsteps: [pull]\n")
    write_job(jobs, "b", "trigger:\n  interval: {minutes: 15}\n  timezone: Atlantis/Main\n"
                         "steps: [apply]\nparams: {max_api_calls: -1, colour: red}\n")
    done = run_sfrenew(["run", "--config", str(config), "--jobs-dir", str(jobs)], cwd=tmp_path,
                       timeout=60)
    assert done.returncode == 2
    located = [line.split(": ", 1)[0] for line in done.stderr.splitlines()
               if line.startswith(str(jobs))]
    assert located == [f"{jobs / 'a.yaml'}:1:11", f"{jobs / 'b.yaml'}:3:3",
                       f"{jobs / 'b.yaml'}:4:1", f"{jobs / 'b.yaml'}:5:10",
                       f"{jobs / 'b.yaml'}:5:29"]
    assert not (tmp_path / "state" / "daemon.lock").exists()  # refused before starting
