"""``sfrenew worker`` on PostgreSQL against the local org (subprocesses, a fresh database).

A chunked backfill run by two workers side by side ends in the same org state as one
uninterrupted ``sfrenew backfill``; a queued job of a configured schedule runs once.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from sfrenew.queue import run_job_task
from sfrenew.store import RunStatus, open_store
from sfrenew.store.queue import open_queue
from tests.integration.ops_support import (
    Process,
    named,
    run_sfrenew,
    seeded_org,
    write_config,
    write_job,
)
from tests.integration.queue_support import fresh_database, wait_until, write_queue_config
from tests.integration.test_backfill import DONE_DIRTY, created, org_state, window

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CONTRACTS = 60


def test_two_workers_backfill_in_chunks_like_one_process(tmp_path: Path) -> None:
    with seeded_org(tmp_path / "org-a", contracts=CONTRACTS) as org_a, \
            seeded_org(tmp_path / "org-b", contracts=CONTRACTS) as org_b, \
            fresh_database() as url:
        (tmp_path / "a").mkdir()
        reference = run_sfrenew(["backfill", "--config",
                                 str(write_config(tmp_path / "a", org_a)), *window()],
                                cwd=tmp_path)
        assert reference.returncode == DONE_DIRTY, reference.stderr

        jobs = tmp_path / "b" / "jobs"
        write_job(jobs, "renewals", "trigger: {cron: '0 2 * * *'}\nsteps: [pull, plan, apply]\n")
        config = write_queue_config(tmp_path / "b", org_b, url=url, jobs_dir=jobs,
                                    chunk_accounts=5)
        queued = run_sfrenew(["queue", "backfill", "--config", str(config), *window(),
                              "--json"], cwd=tmp_path)
        assert queued.returncode == 0, queued.stderr
        backfill_id = json.loads(queued.stdout)["backfill_id"]
        workers = [Process(["worker", "--config", str(config)],
                           cwd=tmp_path) for _ in range(2)]
        try:
            with open_queue(url) as queue:
                done = wait_until(
                    lambda: b if (b := queue.get_backfill(backfill_id)) is not None
                    and b.chunks_total and b.chunks_done == b.chunks_total else None,
                    timeout=240, what="every chunk of the backfill done",
                    show=lambda: "\n".join(p.output() for p in workers))
                queue.defer(run_job_task("acme", "renewals"))
                # Finished, not started: SIGTERM would stop it and return it to the queue.
                wait_until(lambda: any(e.get("task") == "sfrenew.run_job"
                                       for w in workers
                                       for e in named(w.events(), "queued_job_finished"))
                           or None, timeout=120, what="the queued renewals job finished")
            for worker in workers:
                worker.signal(signal.SIGTERM)
            assert [w.finish(timeout=60) for w in workers] == [0, 0]
        finally:
            for worker in workers:
                worker.kill()
        accounts = org_b.store.counts()["Account"]
        assert done.chunks_total == -(-accounts // 5) > 2  # ranges of 5 accounts
        # Both workers took chunks: the backfill ran side by side.
        assert all(named(w.events(), "queued_job_finished") for w in workers)
        assert created(org_b) == created(org_a) > 0
        assert org_state(org_b) == org_state(org_a)
        with open_store(url) as store:
            nightly = store.list_runs(10, job="renewals")
        assert [r.status for r in nightly] == [RunStatus.SUCCEEDED]
