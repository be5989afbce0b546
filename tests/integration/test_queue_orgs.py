"""Two orgs side by side in one deployment (one queue, a store schema each): their jobs
run in parallel on the workers, while two jobs of one org never overlap."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from sfrenew.localorg.faults import FaultConfig
from sfrenew.queue import run_job_task
from sfrenew.store import Run, RunStatus, open_store
from sfrenew.store.queue import open_queue
from tests.integration.ops_support import Process, named, seeded_org, write_job
from tests.integration.queue_support import fresh_database, wait_until, write_queue_config

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

STEPS = "trigger: {cron: '0 2 * * *'}\nsteps: [pull, plan, apply]\n"


def _schema_url(url: str, schema: str) -> str:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}) \
        .render_as_string(hide_password=False)


def _span(run: Run) -> tuple[datetime, datetime]:
    assert run.finished_at is not None
    return run.started_at, run.finished_at


def _overlap(a: Run, b: Run) -> bool:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return a0 < b1 and b0 < a1


def test_two_orgs_run_in_parallel_one_org_one_at_a_time(tmp_path: Path) -> None:
    # acme's two jobs take several seconds each, globex's one about a second: globex's
    # run falls within acme's if the two orgs run side by side, even on a loaded machine
    # where a worker may start its job a second or two late.
    slow = FaultConfig(latency_ms=250)
    quick = FaultConfig(latency_ms=60)
    with seeded_org(tmp_path / "org-acme", contracts=30, faults=slow) as acme_org, \
            seeded_org(tmp_path / "org-globex", contracts=30, faults=quick) as globex_org, \
            fresh_database() as url:
        configs = []
        for name, org in (("acme", acme_org), ("globex", globex_org)):
            jobs = tmp_path / name / "jobs"
            write_job(jobs, "renewals", STEPS)
            write_job(jobs, "risk", STEPS + "params: {rules: [risk]}\n")
            config = write_queue_config(tmp_path / name, org, url=_schema_url(url, name),
                                        name=name, jobs_dir=jobs)
            config.write_text(config.read_text() + f"  url: '{url}'\n")
            configs.append(config)
        args = [a for c in configs for a in ("--config", str(c))]
        workers = [Process(["worker", *args], cwd=tmp_path) for _ in range(2)]
        try:
            for worker in workers:
                worker.wait_for(lambda ev: bool(named(ev, "worker_started")), timeout=60)
            with open_queue(url) as queue:
                for org_name, job in (("acme", "renewals"), ("acme", "risk"),
                                      ("globex", "renewals")):
                    queue.defer(run_job_task(org_name, job))
            wait_until(lambda: True if sum(len(named(w.events(), "queued_job_finished"))
                                           for w in workers) >= 3 else None,
                       timeout=240, what="the three queued jobs finished")
            for worker in workers:
                worker.signal(signal.SIGTERM)
            assert [w.finish(timeout=60) for w in workers] == [0, 0]
        finally:
            for worker in workers:
                worker.kill()
        runs: dict[str, list[Run]] = {}
        for name, config in (("acme", configs[0]), ("globex", configs[1])):
            store_url = _schema_url_of(config)
            with open_store(store_url) as store:
                runs[name] = store.list_runs(10)
        assert sorted(r.job for r in runs["acme"]) == ["renewals", "risk"]
        assert [r.job for r in runs["globex"]] == ["renewals"]
        assert all(r.status is RunStatus.SUCCEEDED for rs in runs.values() for r in rs)
        first, second = sorted(runs["acme"], key=lambda r: r.started_at)
        assert not _overlap(first, second)  # one org: one at a time
        # Two orgs: in parallel. globex's run overlapped acme's work (from its first run's
        # start to its second's end): it did not wait for acme's jobs to be done, and
        # acme's second job waited for its first, not for globex.
        (acme_start, _), (_, acme_end) = _span(first), _span(second)
        globex_start, globex_end = _span(runs["globex"][0])
        assert globex_start < acme_end
        assert acme_start < globex_end


def _schema_url_of(config: Path) -> str:
    for line in config.read_text().splitlines():
        if line.strip().startswith("url:") and "search_path" in line:
            return line.split("url:", 1)[1].strip().strip("'")
    raise AssertionError(f"no store url in {config}")
