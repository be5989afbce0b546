"""A chunk resumed by a worker on another machine: no shared ``state_dir``, and SIGTERM
checkpoints. Each worker below has its own state directory (the same config file, copied
to two folders, with ``state_dir: state``), as on two machines with their own disks.

* killed with ``kill -9`` after its chunk saved its plan, the first worker's job is
  retried (stalled) on the second, which reads the plan back from PostgreSQL and
  resumes the run;
* sent SIGTERM in the middle of a chunk's writes, the first worker checkpoints the run,
  returns the job to the queue and exits 0 promptly; the second resumes the run.

Either way the org ends identical to one uninterrupted ``sfrenew backfill``, and the
ledger holds as many writes as that backfill's: nothing was written twice.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sfrenew.config import load_config
from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.faults import FaultConfig
from sfrenew.queue._procrastinate import retry_stalled
from sfrenew.store import open_store
from sfrenew.store.queue import Backfill, open_queue
from tests.integration.ops_support import Process, named, run_sfrenew, seeded_org, write_config
from tests.integration.queue_support import fresh_database, wait_until, write_queue_config
from tests.integration.test_backfill import DONE_DIRTY, created, org_state, window

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CONTRACTS = 60
# Small write chunks: a chunk's apply takes several write batches (a stop lands between
# two of them), and the org answering 100 ms late leaves time to act mid-chunk.
EXTRA = ("  heartbeat_seconds: 0.5\n  stalled_after_seconds: 3\n"
         "run:\n  write_chunk_size: 2\n")
SLOW = FaultConfig(latency_ms=100)


@dataclass
class Setup:
    reference: LocalOrg
    org: LocalOrg
    url: str
    machines: tuple[Path, Path]  # the same config file in two folders
    reference_writes: int

    def config(self, machine: int) -> Path:
        return self.machines[machine] / "acme.yaml"

    def state(self, machine: int) -> Path:
        return self.machines[machine] / "state"


def _writes(store_url: str) -> int:
    """Records written (created, updated, deleted) over every run's every attempt."""
    with open_store(store_url) as store:
        runs = [r.run_id for r in store.list_runs(1000)]
        return sum(c.created + c.updated + c.deleted
                   for per in store.written_counts(runs).values() for c in per.values())


@contextmanager
def _setup(tmp_path: Path) -> Iterator[Setup]:
    with seeded_org(tmp_path / "org-a", contracts=CONTRACTS) as org_a, \
            seeded_org(tmp_path / "org-b", contracts=CONTRACTS, faults=SLOW) as org_b, \
            fresh_database() as url:
        (tmp_path / "a").mkdir()
        reference_config = write_config(tmp_path / "a", org_a)
        reference = run_sfrenew(["backfill", "--config", str(reference_config), *window()],
                                cwd=tmp_path)
        assert reference.returncode == DONE_DIRTY, reference.stderr
        machines = (tmp_path / "machine-1", tmp_path / "machine-2")
        (tmp_path / "jobs").mkdir()  # no scheduled job: the backfill only
        first = write_queue_config(machines[0], org_b, url=url, chunk_accounts=10,
                                   concurrency=2, jobs_dir=tmp_path / "jobs",
                                   state_dir="state")
        first.write_text(first.read_text() + EXTRA)
        machines[1].mkdir()
        (machines[1] / first.name).write_bytes(first.read_bytes())
        yield Setup(reference=org_a, org=org_b, url=url, machines=machines,
                    reference_writes=_writes(load_config(reference_config).store_url))


def _queue_backfill(setup: Setup, cwd: Path) -> str:
    queued = run_sfrenew(["queue", "backfill", "--config", str(setup.config(0)), *window(),
                          "--json"], cwd=cwd)
    assert queued.returncode == 0, queued.stderr
    return str(json.loads(queued.stdout)["backfill_id"])


def _chunk_planned(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in named(events, "run_step_done") if e.get("step") == "plan"), None)


def _done(url: str, backfill_id: str, workers: list[Process]) -> Backfill:
    with open_queue(url) as queue:
        return wait_until(
            lambda: b if (b := queue.get_backfill(backfill_id)) is not None
            and b.chunks_total and b.chunks_done == b.chunks_total else None,
            timeout=300, what="every chunk of the backfill done",
            show=lambda: "\n".join(p.output() for p in workers))


def _kept_plans(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM queue_plan_files")) or 0)
    finally:
        engine.dispose()


def _resumed(worker: Process, run_id: str) -> bool:
    return any(e.get("run_id") == run_id and e.get("resumed")
               for e in named(worker.events(), "run_started"))


def _same_as_reference(setup: Setup) -> None:
    assert created(setup.org) == created(setup.reference) > 0
    assert org_state(setup.org) == org_state(setup.reference)
    assert _writes(setup.url) == setup.reference_writes > 0  # nothing written twice
    assert _kept_plans(setup.url) == 0  # every run settled: no plan kept


def _planned_run_id(worker: Process) -> str:
    """The run of the first chunk ``worker`` has planned (waited for)."""
    planned = _chunk_planned(worker.wait_for(lambda ev: _chunk_planned(ev) is not None,
                                             timeout=180))
    assert planned is not None
    return str(planned["run_id"])


def test_a_chunk_killed_after_planning_resumes_on_a_worker_with_another_state_dir(
        tmp_path: Path) -> None:
    with _setup(tmp_path) as setup:
        backfill_id = _queue_backfill(setup, tmp_path)
        first = Process(["worker", "--config", str(setup.config(0))], cwd=tmp_path)
        workers = [first]
        try:
            run_id = _planned_run_id(first)
            first.kill()  # kill -9, its plan saved, its writes under way
            plan = Path("runs") / run_id / "plan.jsonl"
            assert (setup.state(0) / plan).exists()
            # The first machine's disk is out of reach (one test machine: delete its plans).
            shutil.rmtree(setup.state(0) / "runs")
            assert not setup.state(1).exists()  # the other machine's disk: nothing there

            second = Process(["worker", "--config", str(setup.config(1))], cwd=tmp_path)
            workers.append(second)
            with open_queue(setup.url) as queue:
                conninfo = queue.conninfo
            wait_until(lambda: retry_stalled(conninfo, stalled_after_s=3) or None,
                       timeout=60, every=1, what="the killed worker's chunk retried")
            _done(setup.url, backfill_id, workers)
            assert _resumed(second, run_id), second.output()
            assert (setup.state(1) / plan).exists()  # read back from PostgreSQL
            second.signal(signal.SIGTERM)
            assert second.finish(timeout=60) == 0
        finally:
            for worker in workers:
                worker.kill()
        with open_store(setup.url) as store:
            assert store.get_run(run_id).status.value == "succeeded"
        _same_as_reference(setup)


def test_sigterm_checkpoints_the_chunk_and_another_worker_resumes_it(tmp_path: Path) -> None:
    with _setup(tmp_path) as setup:
        backfill_id = _queue_backfill(setup, tmp_path)
        first = Process(["worker", "--config", str(setup.config(0))], cwd=tmp_path)
        workers = [first]
        try:
            run_id = _planned_run_id(first)
            asked = time.monotonic()
            first.signal(signal.SIGTERM)
            assert first.finish(timeout=60) == 0
            took = time.monotonic() - asked
            stopped = [e for e in named(first.events(), "queued_job_finished")
                       if e.get("run_id") == run_id]
            assert [e["status"] for e in stopped] == ["stopped"], first.output()
            assert took < 30, took  # one write batch, not the rest of the chunk
            shutil.rmtree(setup.state(0) / "runs")  # its disk is not the next worker's

            second = Process(["worker", "--config", str(setup.config(1))], cwd=tmp_path)
            workers.append(second)
            done = _done(setup.url, backfill_id, workers)  # the job was back on the queue
            assert _resumed(second, run_id), second.output()
            second.signal(signal.SIGTERM)
            assert second.finish(timeout=60) == 0
        finally:
            for worker in workers:
                worker.kill()
        assert set(done.chunk_status.values()) == {"done"}
        with open_store(setup.url) as store:
            assert store.get_run(run_id).status.value == "succeeded"
        _same_as_reference(setup)
