"""A run interrupted before the checkpoint was typed resumes after the upgrade.

The run is stopped while applying (a stop event set by its progress), its saved
checkpoint is rewritten in the state store as the untyped dict sfrenew saved before
checkpoints were versioned (the same keys, no ``version``), and ``--resume`` finishes
it. A checkpoint of an unknown version is refused before anything is touched.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from sfrenew.plan.build import plan_objects
from sfrenew.runner import CheckpointVersionError, RunRequest, Step, execute
from sfrenew.store import RunStatus, open_store
from tests.clock import now
from tests.integration.test_run_support import Book, book

pytestmark = pytest.mark.integration
__all__ = ["book"]  # the fixture, re-exported for pytest


class _StopApplying:
    """A progress sink that asks the run to stop once apply has written ``after`` rows."""

    def __init__(self, after: int, stop: threading.Event) -> None:
        self.after, self.stop, self.seen = after, stop, 0

    def start(self, phase: str, total: int | None) -> None:
        """Nothing to do."""

    def advance(self, phase: str, n: int = 1) -> None:
        """Count apply's rows, and stop past the mark."""
        if phase == "apply":
            self.seen += n
            if self.seen >= self.after:
                self.stop.set()

    def finish(self, phase: str) -> None:
        """Nothing to do."""


def _saved_checkpoint(b: Book, run_id: str) -> dict[str, Any]:
    with open_store(b.config.store_url) as store:
        return dict(store.get_run(run_id).checkpoint or {})


def _rewrite_checkpoint(b: Book, run_id: str, checkpoint: dict[str, Any]) -> None:
    # Straight into the runs row, as an older sfrenew left it (the store's API only
    # checkpoints running runs).
    path = Path(b.config.store_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET checkpoint = ? WHERE run_id = ?",
                   (json.dumps(checkpoint), run_id))
    db.close()


def test_an_old_style_checkpoint_resumes_and_an_unknown_version_is_refused(book: Book) -> None:
    stop = threading.Event()
    stopped = execute(book.config, RunRequest(job="main", steps=(
        Step.PULL, Step.PLAN, Step.APPLY)), clock=now, stop=stop,
        progress=_StopApplying(50, stop))
    assert stopped.status == "stopped", stopped.message
    saved = _saved_checkpoint(book, stopped.run_id)
    assert saved["version"] == 1
    assert saved["phase"] == "applying"
    old_style = {k: v for k, v in saved.items() if k != "version"}

    _rewrite_checkpoint(book, stopped.run_id, {**old_style, "version": 2})
    with pytest.raises(CheckpointVersionError, match=f"run {stopped.run_id} was checkpointed"):
        book.run(resume_run_id=stopped.run_id)
    with open_store(book.config.store_url) as store:  # refused before anything was touched
        assert store.get_run(stopped.run_id).status is RunStatus.STOPPED

    _rewrite_checkpoint(book, stopped.run_id, old_style)
    resumed = book.run(resume_run_id=stopped.run_id)
    assert resumed.status == "succeeded", resumed.message
    assert resumed.run_id == stopped.run_id
    written = sum(c.get("created", 0) + c.get("updated", 0)
                  for c in resumed.stats["written"].values())
    assert written > 0  # it went on applying where the old checkpoint said
    after = _saved_checkpoint(book, stopped.run_id)
    assert after["version"] == 1
    assert after["phase"] == "applied"
    assert book.run().stats["written"] == {}  # nothing was left undone


class _StopPlanning(_StopApplying):
    """Asks the run to stop once ``after`` accounts are planned."""

    def advance(self, phase: str, n: int = 1) -> None:
        """Count planned accounts, and stop past the mark."""
        if phase == "plan":
            self.seen += n
            if self.seen >= self.after:
                self.stop.set()


def test_a_plan_stopped_part_way_resumes_on_a_disk_without_its_partial_plan(
        book: Book, monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker on another machine resumes it: the accounts planned so far (``.part``) are
    # not there, so it plans from the first account again instead of losing them.
    monkeypatch.setattr("sfrenew.plan.build.BATCH_ACCOUNTS", 10)  # stop between batches
    stop = threading.Event()
    stopped = execute(book.config, RunRequest(job="main", steps=(
        Step.PULL, Step.PLAN, Step.APPLY)), clock=now, stop=stop,
        progress=_StopPlanning(20, stop))
    assert stopped.status == "stopped", stopped.message
    saved = _saved_checkpoint(book, stopped.run_id)
    assert saved["plan_progress"]["after"]
    (part,) = (book.config.state_dir / "runs" / stopped.run_id).glob("*.part")
    part.unlink()

    resumed = book.run(resume_run_id=stopped.run_id)
    assert resumed.status == "succeeded", resumed.message
    with open_store(book.config.store_url) as store:
        groups = store.count_groups(plan_objects(book.config.mapping))
    assert resumed.stats["plan"]["accounts"] == groups > 20
    assert book.run().stats["written"] == {}  # no account was left unplanned
