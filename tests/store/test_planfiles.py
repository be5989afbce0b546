"""A run's plan file kept in the store: on PostgreSQL a resume on another machine reads
it back; on SQLite (one process, one disk) nothing is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sfrenew.store import RunKind, RunStatus, open_store, planfiles

NOW = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
BODY = "".join(f'{{"account": "001{n:012d}", "changes": []}}\n' for n in range(2_000))


def _plan(folder: Path) -> Path:
    path = folder / "first" / "plan.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"format": "sfrenew-plan"}\n' + BODY, encoding="utf-8")
    return path


@pytest.mark.postgres
def test_a_kept_plan_file_comes_back_byte_for_byte_on_another_disk(
        pg_store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planfiles, "PART_BYTES", 10_000)  # several parts
    with open_store(pg_store_url) as store:
        saved = _plan(tmp_path)
        store.keep_plan_file("r-1", saved)
        store.keep_plan_file("r-1", saved)  # kept again (a re-plan): replaced, not doubled
        elsewhere = tmp_path / "other" / "runs" / "r-1" / "plan.jsonl"
        assert store.restore_plan_file("r-1", elsewhere)
        assert elsewhere.read_bytes() == saved.read_bytes()
        assert not elsewhere.with_name("plan.jsonl.restoring").exists()
        assert not store.restore_plan_file("r-2", tmp_path / "none.jsonl")
        assert not (tmp_path / "none.jsonl").exists()

        store.drop_plan_file("r-1")
        assert not store.restore_plan_file("r-1", tmp_path / "again.jsonl")


def test_sqlite_keeps_no_plan_file(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        saved = _plan(tmp_path)
        store.keep_plan_file("r-1", saved)
        assert not store.restore_plan_file("r-1", tmp_path / "copy.jsonl")
        store.drop_plan_file("r-1")
    assert saved.exists()


@pytest.mark.postgres
def test_a_jobs_success_drops_the_copies_of_its_earlier_unfinished_runs(
        pg_store_url: str, tmp_path: Path) -> None:
    saved = _plan(tmp_path)
    with open_store(pg_store_url) as store:
        for run_id, job in (("r-1", "renewals"), ("r-2", "renewals"), ("r-3", "renewals"),
                            ("r-4", "backfill-b-0001")):
            store.start_run(run_id=run_id, job=job, kind=RunKind.RUN, now=NOW, params={})
            store.keep_plan_file(run_id, saved)
        store.finish_run("r-1", status=RunStatus.STOPPED, now=NOW)  # stopped with a worker
        store.finish_run("r-2", status=RunStatus.INTERRUPTED, now=NOW)  # killed
        # r-3 succeeds (still running while it settles); r-4 is another job's
        store.drop_plan_file("r-3", superseded_in="renewals")
        kept = [r for r in ("r-1", "r-2", "r-3", "r-4")
                if store.restore_plan_file(r, tmp_path / "back" / r / "plan.jsonl")]
        assert kept == ["r-4"]
