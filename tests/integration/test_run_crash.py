"""kill -9 during apply, then run again: the org ends as after an uninterrupted run.

The run is started in a subprocess against an org served by this test process; the
child patches the writer's ``chunk_checkpoint`` seam to SIGKILL itself after N chunks
were sent, before or after their results were recorded (product code has no kill
switch). Then the run is started again (a new run, or ``--resume`` of the killed one)
and the org is compared with an identically seeded org that ran once without
interruption.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfrenew.store import RunStatus, open_store
from tests.integration.test_run_support import ROOT, Book, dump, open_book

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CONTRACTS = 200
CHUNK = 40  # small chunks: many places to die in

_CHILD = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
import os, signal
from tests.clock import now
from tests.integration.test_run_support import make_config, ALL_STEPS
from sfrenew.apply import spool, writer
from sfrenew.runner import RunRequest, execute

def die(chunks, point):
    if chunks >= {after} and point == {point!r}:
        os.kill(os.getpid(), signal.SIGKILL)

writer.chunk_checkpoint = die
spool.JOB_ROWS = {job_rows}
config = make_config(Path({base!r}), Path({org!r}), write_chunk_size={chunk},
                     bulk_write_rows={bulk})
execute(config, RunRequest(job="main", steps=ALL_STEPS), clock=now)
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The org after one uninterrupted run."""
    b = open_book(tmp_path_factory.mktemp("reference"), contracts=CONTRACTS,
                  write_chunk_size=CHUNK)
    try:
        assert b.run().status == "succeeded"
        yield dump(b)
    finally:
        b.org.stop()


def _killed_run(b: Book, *, after_chunks: int, point: str, bulk: int | None = None,
                job_rows: int = 10_000) -> str:
    code = _CHILD.format(root=str(ROOT), base=str(b.base), org=str(b.base / "org"), chunk=CHUNK,
                         after=after_chunks, point=point, bulk=bulk, job_rows=job_rows)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    with open_store(b.config.store_url) as store:
        (killed,) = store.unfinished_runs()
        assert store.pending_intents(killed.run_id) or point == "after_results"
    return killed.run_id


@pytest.mark.parametrize(("after_chunks", "point", "resume"), [
    (1, "before_results", False),   # the first opportunities sent, nothing recorded
    (3, "after_results", False),    # between two chunks
    (6, "before_results", True),    # tasks in flight (no upsert for tasks), resumed
    (9, "before_results", False),
])
def test_killed_apply_then_rerun_matches_uninterrupted(
        tmp_path: Path, reference: dict[str, Any], after_chunks: int, point: str,
        resume: bool) -> None:
    b = open_book(tmp_path, contracts=CONTRACTS, write_chunk_size=CHUNK)
    try:
        killed = _killed_run(b, after_chunks=after_chunks, point=point)
        outcome = b.run(resume_run_id=killed) if resume else b.run()
        assert outcome.status == "succeeded", outcome.message
        after = dump(b)
        assert after == reference
        with open_store(b.config.store_url) as store:
            assert not store.pending_intents(killed)
            assert store.get_run(killed).status in (
                RunStatus.INTERRUPTED, RunStatus.SUCCEEDED)
        again = b.run()  # and nothing left to do
        assert again.stats["written"] == {}
    finally:
        b.org.stop()


@pytest.mark.parametrize(("after_chunks", "point", "resume", "job_rows"), [
    # One Bulk job per object and pass: killed after a pass's jobs were sent and before
    # any result was recorded, the whole pass's intents are pending.
    (1, "before_results", False, 10_000),  # the first pass's (renewals, accounts)
    (3, "before_results", True, 10_000),   # the second pass's (lines, tasks, contracts)
    # Jobs of at most 25 rows (every object takes several), sent while the plan is read
    # on: killed with jobs sent and unanswered (and, in the first pass, rows spooled and
    # not sent).
    (1, "before_results", False, 25),  # the first job's answers come, later jobs sent
    (2, "after_results", True, 25),    # two jobs recorded, later ones in flight, resumed
    (9, "before_results", True, 25),   # in the second pass, with jobs recorded before
])
def test_killed_bulk_apply_then_rerun_matches_uninterrupted(
        tmp_path: Path, reference: dict[str, Any], after_chunks: int, point: str,
        resume: bool, job_rows: int) -> None:
    # Every object at or above 30 rows goes through Bulk (the plan is read in batches of
    # 400 changes); every intent left pending is settled by the next run.
    b = open_book(tmp_path, contracts=CONTRACTS, write_chunk_size=CHUNK, bulk_write_rows=30)
    try:
        killed = _killed_run(b, after_chunks=after_chunks, point=point, bulk=30,
                             job_rows=job_rows)
        outcome = b.run(resume_run_id=killed) if resume else b.run()
        assert outcome.status == "succeeded", outcome.message
        assert dump(b) == reference
        with open_store(b.config.store_url) as store:
            assert not store.pending_intents(killed)
        assert b.run().stats["written"] == {}
    finally:
        b.org.stop()
