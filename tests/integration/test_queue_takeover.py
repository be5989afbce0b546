"""Scale-out survives a crash: two schedulers and two workers on PostgreSQL, the leader
and a worker killed with ``kill -9`` mid-run, against the local org.

The standby scheduler takes over (its catch-up defers each fire once), the leader
retries the chunk the dead worker left ``doing`` once its heartbeat is stale, the
backfill finishes on the surviving worker, and the org ends exactly as after one
uninterrupted ``sfrenew backfill`` of the same book: nothing duplicated, nothing lost.
"""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sfrenew.localorg.faults import FaultConfig
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
INTERVAL_S = 4
QUEUE_TIMING = "  heartbeat_seconds: 0.5\n  stalled_after_seconds: 3\n"


def _fires(url: str) -> list[tuple[str, object, int | None]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT schedule, fire_time, job_id FROM queue_fires "
                                     "ORDER BY schedule, fire_time")).all()
            run_jobs = conn.scalar(text("SELECT count(*) FROM procrastinate_jobs "
                                        "WHERE task_name = 'sfrenew.run_job'"))
    finally:
        engine.dispose()
    assert run_jobs == len(rows)  # one queued job per fire, no job without its fire
    return [(str(s), t, j) for s, t, j in rows]


def test_leader_and_worker_killed_the_backfill_still_ends_like_an_uninterrupted_one(
        tmp_path: Path) -> None:
    slow = FaultConfig(latency_ms=40)  # chunks last long enough to be killed mid-way
    with seeded_org(tmp_path / "org-a", contracts=CONTRACTS) as org_a, \
            seeded_org(tmp_path / "org-b", contracts=CONTRACTS, faults=slow) as org_b, \
            fresh_database() as url:
        (tmp_path / "a").mkdir()
        reference = run_sfrenew(["backfill", "--config",
                                 str(write_config(tmp_path / "a", org_a)), *window()],
                                cwd=tmp_path)
        assert reference.returncode == DONE_DIRTY, reference.stderr

        jobs = tmp_path / "b" / "jobs"
        write_job(jobs, "tick", f"trigger: {{interval: {{seconds: {INTERVAL_S}}}}}\n"
                                "steps: [pull]\n")
        config = write_queue_config(tmp_path / "b", org_b, url=url, jobs_dir=jobs,
                                    chunk_accounts=3, concurrency=2)
        config.write_text(config.read_text() + QUEUE_TIMING)
        args = ["--config", str(config)]
        leader = Process(["run", *args], cwd=tmp_path)
        processes = [leader]
        try:
            # The first replica leads; the second, started once it does, stands by.
            leader.wait_for(lambda ev: bool(named(ev, "leader_elected")), timeout=60)
            standby = Process(["run", *args], cwd=tmp_path)
            workers = [Process(["worker", *args], cwd=tmp_path) for _ in range(2)]
            processes += [standby, *workers]
            leader.wait_for(lambda ev: len(named(ev, "fire_deferred")) >= 1, timeout=60)
            standby.wait_for(lambda ev: bool(named(ev, "leader_standby")), timeout=60)
            queued = run_sfrenew(["queue", "backfill", *args, *window(), "--json"],
                                 cwd=tmp_path)
            assert queued.returncode == 0, queued.stderr
            backfill_id = json.loads(queued.stdout)["backfill_id"]

            # The leader dies between fires; the standby takes over.
            leader.kill()
            standby.wait_for(lambda ev: bool(named(ev, "leader_elected")), timeout=60)

            # A worker dies in the middle of a chunk.
            victim = workers[0]
            victim.wait_for(lambda ev: any(e.get("task") == "sfrenew.backfill_chunk"
                                           for e in named(ev, "queued_job_started")),
                            timeout=120)
            victim.kill()

            with open_queue(url) as queue:
                done = wait_until(
                    lambda: b if (b := queue.get_backfill(backfill_id)) is not None
                    and b.chunks_total and b.chunks_done == b.chunks_total else None,
                    timeout=240, what="every chunk of the backfill done",
                    show=lambda: "\n".join(p.output() for p in workers))
            standby.wait_for(lambda ev: bool(named(ev, "stalled_jobs_retried")), timeout=5)
            # At least one fire after the takeover, deferred by the new leader.
            standby.wait_for(lambda ev: bool(named(ev, "fire_deferred")), timeout=60)
            for process in (standby, workers[1]):
                process.signal(signal.SIGTERM)
            assert standby.finish(timeout=60) == 0
            assert workers[1].finish(timeout=120) == 0
        finally:
            for process in processes:
                process.kill()

        assert max(done.chunk_status) + 1 == done.chunks_total
        assert created(org_b) == created(org_a) > 0
        assert org_state(org_b) == org_state(org_a)

        fires = _fires(url)
        assert len(fires) >= 2
        assert all(job_id is not None for _, _, job_id in fires)
        times = [t for _, t, _ in fires]
        # Every fire deferred once: two leaders never queue the same tick twice, so
        # consecutive fires are at least one interval apart.
        gaps = [b - a for a, b in pairwise(times)]  # type: ignore[operator]
        assert all(gap >= timedelta(seconds=INTERVAL_S) for gap in gaps), gaps
        by_leader = {e["fire_time"] for e in named(leader.events(), "fire_deferred")}
        by_standby = {e["fire_time"] for e in named(standby.events(), "fire_deferred")}
        assert by_leader
        assert by_standby
        assert not by_leader & by_standby
