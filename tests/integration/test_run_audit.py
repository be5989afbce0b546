"""The audit trail tells the truth about killed and resumed runs, and killed rollbacks.

`sfrenew runs show` counts records written from the ledger, over every attempt of a
run; a rollback killed with kill -9 is marked interrupted when the rollback is rerun.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.runner import rollback_session
from sfrenew.store import LedgerCounts, RunKind, RunStatus, WriteStatus, open_store
from tests.clock import now
from tests.integration.test_run_cli import _config_file
from tests.integration.test_run_crash import CHUNK, CONTRACTS, _killed_run
from tests.integration.test_run_support import ROOT, Book, dump, open_book

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LedgerCounts]]:
    """What one uninterrupted run writes, per object, as its ledger counts it."""
    b = open_book(tmp_path_factory.mktemp("reference"), contracts=CONTRACTS,
                  write_chunk_size=CHUNK)
    try:
        outcome = b.run()
        assert outcome.status == "succeeded"
        with open_store(b.config.store_url) as store:
            yield store.written_counts([outcome.run_id])[outcome.run_id]
    finally:
        b.org.stop()


def _shown(b: Book, run_id: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["runs", "--config", str(_config_file(b)), "show",
                                       run_id, "--json"])
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def _succeeded_in_ledger(b: Book, run_id: str) -> int:
    with open_store(b.config.store_url) as store:
        return sum(1 for e in store.ledger_entries(run_id) if e.status is WriteStatus.SUCCEEDED)


def test_a_killed_then_resumed_run_counts_every_write_of_every_attempt(
        tmp_path: Path, reference: dict[str, LedgerCounts]) -> None:
    b = open_book(tmp_path, contracts=CONTRACTS, write_chunk_size=CHUNK)
    try:
        killed = _killed_run(b, after_chunks=3, point="after_results")
        shown = _shown(b, killed)
        assert shown["status"] == "running"  # nobody has taken the lock since
        written = sum(c["created"] + c["updated"] for c in shown["written"].values())
        # The old code showed an empty table: its tally was saved only after apply.
        assert written == _succeeded_in_ledger(b, killed) > 0
        table = CliRunner().invoke(main, ["runs", "--config", str(_config_file(b))])
        row = next(line for line in table.stdout.splitlines() if killed in line)
        assert f" {written} " in row
        text = CliRunner().invoke(main, ["runs", "--config", str(_config_file(b)), "show",
                                         killed]).stdout
        assert "records written (from the ledger, every attempt of the run)" in text
        assert "running, or killed" in text

        resumed = b.run(resume_run_id=killed)
        assert resumed.status == "succeeded", resumed.message
        after = _shown(b, killed)
        # Every attempt counts: the same records as one uninterrupted run (the old code
        # counted only what the resumed attempt wrote).
        assert {obj: (c["created"], c["updated"]) for obj, c in after["written"].items()} == \
            {obj: (c.created, c.updated) for obj, c in reference.items()}
        assert all(c["unknown"] == 0 for c in after["written"].values())
    finally:
        b.org.stop()


_KILLED_ROLLBACK = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
import os, signal
from tests.clock import now
from tests.integration.test_run_support import make_config
from sfrenew.apply import rollback
from sfrenew.runner import rollback_session

send = rollback._send
def die_after_one(**kwargs):
    send(**kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

rollback._send = die_after_one
config = make_config(Path({base!r}), Path({org!r}))
rollback_session(config, {target!r}, dry_run=False, clock=now)
"""


def test_a_rollback_killed_with_kill_9_is_marked_interrupted_when_rerun(tmp_path: Path) -> None:
    b = open_book(tmp_path, contracts=60)
    try:
        target = b.run()
        assert target.status == "succeeded"
        code = _KILLED_ROLLBACK.format(root=str(ROOT), base=str(b.base),
                                       org=str(b.base / "org"), target=target.run_id)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300,
                              check=False)
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
        with open_store(b.config.store_url) as store:
            (killed,) = [r for r in store.list_runs(5) if r.kind is RunKind.ROLLBACK]
            assert killed.status is RunStatus.RUNNING
        shown = _shown(b, killed.run_id)
        assert sum(c["deleted"] + c["updated"] for c in shown["written"].values()) == \
            _succeeded_in_ledger(b, killed.run_id) > 0

        own_id, report = rollback_session(b.config, target.run_id, dry_run=False, clock=now)
        with open_store(b.config.store_url) as store:
            again = store.get_run(killed.run_id)
            assert again.status is RunStatus.INTERRUPTED  # the old code left it running
            assert again.error == "found running after a crash"
            assert own_id is not None
            assert store.get_run(own_id).status is RunStatus.SUCCEEDED
        assert report.count("delete") > 0  # what the killed one had not undone yet
        assert dump(b)["Opportunity"] == {}  # nothing sfrenew made is left
    finally:
        b.org.stop()
