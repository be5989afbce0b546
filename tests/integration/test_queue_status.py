"""``sfrenew status`` shows the job queue for a config with a ``queue:`` section: the
org's jobs by task and status, the workers and their heartbeats, the scheduler's leader
and the org's running backfills; ``--json`` has the same under ``queue``. Without the
section (or on SQLite) nothing changes.

The queue's state is made with the queue's own calls (defers, a backfill and its
chunks) and procrastinate's SQL API (a worker registering and fetching a job), and the
leader lock is held by this test, as a scheduler replica would hold it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from sfrenew.cli import main
from sfrenew.queue import backfill_pull_task, run_job_task
from sfrenew.queue.leader import LEADER_LOCK
from sfrenew.queue.tasks import backfill_chunk_task
from sfrenew.store.queue import Backfill, leader_lock, open_queue
from tests.integration.ops_support import MAPPING
from tests.integration.queue_support import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

NOW = datetime(2027, 1, 4, 9, 30, tzinfo=UTC)


def _config(folder: Path, url: str, *, queue: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "jobs").mkdir(exist_ok=True)
    path = folder / "acme.yaml"
    path.write_text(f"salesforce:\n  target: local\n  local_data_dir: {folder / 'org'}\n"
                    f"state_dir: {folder / 'state'}\nmappings: {MAPPING}\n"
                    f"store:\n  url: '{url}'\n" + (queue or ""), encoding="utf-8")
    return path


def _status(config: Path, *extra: str) -> Any:
    result = CliRunner().invoke(main, ["status", "--config", str(config), "--no-org", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in extra else result.output


def _worker_takes_a_job(url: str) -> int:
    """A worker registers and fetches the first job due (procrastinate's SQL API)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            worker = int(conn.scalar(text("SELECT worker_id FROM "
                                          "procrastinate_register_worker_v1()")))
            conn.execute(text("SELECT * FROM procrastinate_fetch_job_v2(ARRAY['sfrenew'], "
                              ":w)"), {"w": worker})
    finally:
        engine.dispose()
    return worker


def test_status_shows_the_orgs_queue_workers_leader_and_backfills(tmp_path: Path) -> None:
    with fresh_database() as url:
        config = _config(tmp_path, url, queue="queue:\n  org: acme\n")
        with open_queue(url) as queue:
            queue.defer(run_job_task("acme", "renewals"))  # fetched by the worker below
            queue.defer(run_job_task("globex", "renewals"))  # another org's: not counted
            backfill = Backfill(backfill_id="b-1", org="acme",
                                contract_end_from=date(2027, 1, 1),
                                contract_end_to=date(2027, 12, 31), horizon_days=361,
                                dry_run=False, max_api_calls=500, calls_used=0,
                                chunks_total=None)
            queue.add_backfill(backfill, now=NOW, job=backfill_pull_task("acme", "b-1"))
            queue.add_chunks("b-1", [["001A"], ["001B"], ["001C"]],
                             [backfill_chunk_task("acme", "b-1", n) for n in range(3)])
            queue.chunk_finished("b-1", 0, status="done", run_id="r-1", now=NOW)
            assert queue.take_calls("b-1", 120)
        worker = _worker_takes_a_job(url)

        with leader_lock(url, LEADER_LOCK, replica="sched-a:4242"):
            report = _status(config, "--json")["queue"]
            shown = _status(config)

        assert report["org"] == "acme"
        assert report["jobs"] == {"sfrenew.run_job": {"doing": 1},
                                  "sfrenew.backfill_pull": {"todo": 1},
                                  "sfrenew.backfill_chunk": {"todo": 3}}
        assert report["jobs_total"] == {"todo": 4, "doing": 1, "failed": 0}
        [alive] = report["workers"]
        assert (alive["worker_id"], alive["running"], alive["alive"]) == (worker, 1, True)
        assert 0 <= alive["heartbeat_age_s"] < 30
        assert report["workers_alive"] == 1
        assert report["leader"]["held"] is True
        assert report["leader"]["replica"] == "sched-a:4242"
        [running] = report["backfills"]
        assert (running["backfill_id"], running["chunks_total"], running["chunks_done"],
                running["calls_used"], running["max_api_calls"]) == ("b-1", 3, 1, 120, 500)
        assert running["chunks"] == {"done": 1, "queued": 2}

        assert "queue (org acme)" in shown
        assert f"workers: 1 alive (last heartbeat: #{worker} " in shown
        assert "scheduler leader: sched-a:4242 (leading since" in shown
        assert "backfill b-1: 1/3 chunks done, 120 API calls (of 500)" in shown

        # The leader gone: nobody leads.
        assert _status(config, "--json")["queue"]["leader"] == {
            "held": False, "replica": None, "since": None}


def test_without_a_queue_section_status_is_unchanged(tmp_path: Path) -> None:
    with fresh_database() as url:
        with open_queue(url) as queue:
            queue.defer(run_job_task("acme", "renewals"))
        report = _status(_config(tmp_path / "pg", url, queue=None), "--json")
        assert "queue" not in report
    sqlite = _config(tmp_path / "lite", f"sqlite:///{tmp_path / 'lite.sqlite3'}",
                     queue="queue:\n  org: acme\n")
    report = _status(sqlite, "--json")
    assert "queue" not in report
    assert "queue" not in _status(sqlite)
