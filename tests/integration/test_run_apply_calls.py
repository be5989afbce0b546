"""Apply's calls on the local org: full chunks carried across account batches, and the
Bulk jobs of one pass over the plan (objects whose lookups are resolved) sent together,
one job per object however many batches the plan is read in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.api import Salesforce

from sfrenew.apply import spool
from sfrenew.store import ledger
from tests.integration.conftest import (
    API_VERSION,
    client_credentials_token,
    new_http_session,
)
from tests.integration.test_run_support import Book, dump, open_book

pytestmark = pytest.mark.integration
# What the seeded book of 150 contracts writes on its first run (hand-checked once
# against the plan's counts; both tests below write exactly this).
WRITTEN = {"Account": 32, "Contract": 41, "Opportunity": 41, "OpportunityLineItem": 130,
           "Task": 164}


def test_partial_chunks_are_carried_across_account_batches(tmp_path: Path) -> None:
    # Chunks of 7 and batches of 70 changes: six batches, each with a partial chunk of
    # every object if chunks were not carried (71 calls before this change).
    book = open_book(tmp_path, write_chunk_size=7)
    try:
        outcome = book.run()
        assert outcome.status == "succeeded", outcome.message
        written = {k: v["created"] + v["updated"] for k, v in outcome.stats["written"].items()}
        assert written == WRITTEN
        # ⌈32/7⌉ + ⌈41/7⌉ + ⌈41/7⌉ + ⌈130/7⌉ + ⌈164/7⌉ = 5 + 6 + 6 + 19 + 24
        assert outcome.api_calls["collections"] == 60
        assert book.org.accounting.snapshot()["calls"]["collections"] == 60
        assert book.run().stats["written"] == {}  # nothing was left unsent
    finally:
        book.org.stop()


def test_bulk_jobs_of_a_wave_run_together_and_write_what_collections_write(
        tmp_path: Path) -> None:
    by_path = {}
    for name, bulk_from in (("collections", None), ("bulk", 30)):
        book = open_book(tmp_path / name, bulk_write_rows=bulk_from)
        try:
            outcome = book.run()
            assert outcome.status == "succeeded", outcome.message
            written = {k: v["created"] + v["updated"]
                       for k, v in outcome.stats["written"].items()}
            assert written == WRITTEN
            org = dump(book)
            by_path[name] = {obj: sorted(org[obj]) for obj in ("Opportunity",
                                                               "OpportunityLineItem", "Task")}
            calls = outcome.api_calls
        finally:
            book.org.stop()
    assert by_path["bulk"] == by_path["collections"]
    # Every object at or above 30 rows goes through Bulk, in one batch: a wave of the
    # renewals and the accounts, then one of lines, tasks and contracts; no Collections.
    assert calls["bulk_upload"] == 5
    assert "collections" not in calls


def test_a_plan_read_in_many_batches_is_one_bulk_job_per_object(tmp_path: Path) -> None:
    # Batches of 70 changes (ten chunks of 7): the plan's 408 writes are read in six
    # batches a pass, and every object (30 rows or more) is still written by one job.
    by_path = {}
    for name, bulk_from in (("collections", None), ("bulk", 30)):
        book = open_book(tmp_path / name, write_chunk_size=7, bulk_write_rows=bulk_from)
        try:
            outcome = book.run()
            assert outcome.status == "succeeded", outcome.message
            written = {k: v["created"] + v["updated"]
                       for k, v in outcome.stats["written"].items()}
            assert written == WRITTEN
            by_path[name] = dump(book)
            calls = outcome.api_calls
            assert book.run().stats["written"] == {}  # nothing left unsent, nothing twice
        finally:
            book.org.stop()
    assert by_path["bulk"] == by_path["collections"]
    assert calls["bulk_upload"] == 5  # one job per object, not one per object per batch
    assert calls["bulk_job"] == 10  # create and close of each
    assert "collections" not in calls


@pytest.mark.parametrize("mapping", ["mappings/standard.yaml", "mappings/cpq.yaml"])
@pytest.mark.parametrize("in_flight", [5, 2])
def test_a_full_spool_is_sent_as_its_own_job_while_the_plan_is_read_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str, in_flight: int) -> None:
    # Spools of at most 50 rows: lines and tasks (over 100 rows each) go in several jobs,
    # the first sent while the plan is still read; with 2 jobs in flight, the oldest
    # job's results are recorded before a third is sent. The org ends as with one job
    # per object, and the ledger knows every write (the next run writes nothing). Each
    # row's recorded intent is kept in its spool: no result reads its intent back.
    def no_reading(*_a: object, **_k: object) -> None:
        raise AssertionError("a Bulk result read its intent back from the ledger")

    monkeypatch.setattr(ledger, "_read_intents", no_reading)
    by_jobs = {}
    for name, job_rows in (("one job an object", spool.JOB_ROWS), ("50-row jobs", 50)):
        monkeypatch.setattr(spool, "JOB_ROWS", job_rows)
        monkeypatch.setattr(spool, "IN_FLIGHT", in_flight)
        book = open_book(tmp_path / name, mapping=mapping, write_chunk_size=7,
                         bulk_write_rows=30)
        try:
            outcome = book.run()
            assert outcome.status == "succeeded", outcome.message
            by_jobs[name] = (outcome.stats["written"], dump(book))
            calls = outcome.api_calls
            assert book.run().stats["written"] == {}
        finally:
            book.org.stop()
    assert by_jobs["50-row jobs"] == by_jobs["one job an object"]
    written = by_jobs["50-row jobs"][0]
    # Per object, a job per 50 rows; what is left at the end of the pass goes as the
    # gateway sends any write: Bulk from 30 rows, else one Collections call (≤ 200).
    sizes = [counts["created"] + counts["updated"] for counts in written.values()]
    jobs = sum(n // 50 + (n % 50 >= 30) for n in sizes)
    assert jobs > len(written)
    assert calls["bulk_upload"] == jobs
    assert calls["bulk_job"] == 2 * jobs  # create and close of each
    assert calls.get("collections", 0) == sum(0 < n % 50 < 30 for n in sizes)


def _ingest_jobs(book: Book) -> list[dict[str, Any]]:
    """The org's Bulk ingest jobs, oldest first, each with its rows processed."""
    http = new_http_session(book.org)
    try:
        sf = Salesforce(instance_url=book.org.instance_url, session=http, version=API_VERSION,
                        session_id=client_credentials_token(book.org, http))
        listed: dict[str, Any] = sf.restful("jobs/ingest") or {}
        return [sf.restful(f"jobs/ingest/{job['id']}") or {} for job in listed["records"]]
    finally:
        http.close()


def _one_job_and_small_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str,
                            setting: str, *, before_small: Callable[[], None] | None
                            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A first run and the next on two books (Bulk from 10 rows): ``spool.<setting>`` at
    10**9 ("one job an object") then 10 ("small jobs"; ``before_small`` called first).
    Each run's written counts and org; the org's ingest jobs of the second book. Both
    first runs succeed and end with the same org; the next runs write nothing."""
    by_size = {}
    jobs: list[dict[str, Any]] = []
    for name, rows in (("one job an object", 10**9), ("small jobs", 10)):
        monkeypatch.setattr(spool, setting, rows)
        if rows == 10 and before_small is not None:
            before_small()
        book = open_book(tmp_path / name, mapping=mapping, bulk_write_rows=10)
        try:
            outcome = book.run()
            assert outcome.status == "succeeded", outcome.message
            by_size[name] = (outcome.stats["written"], dump(book))
            jobs = _ingest_jobs(book)
            assert book.run().stats["written"] == {}
        finally:
            book.org.stop()
    assert by_size["small jobs"] == by_size["one job an object"]
    return by_size, jobs


@pytest.mark.parametrize("mapping", ["mappings/standard.yaml", "mappings/cpq.yaml"])
@pytest.mark.parametrize("in_flight", [9, 3])
def test_the_rows_a_later_pass_waits_for_go_in_small_jobs_sent_as_the_plan_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str, in_flight: int) -> None:
    # Lines and tasks look up the renewal opportunities this run creates: the next pass
    # waits for them. Their rows go in jobs of the plan's opportunities split in
    # in_flight - 1, at least 10 rows here (and Bulk from 10 rows): with 9 in flight the
    # 10-row floor decides, with 3 the split does. The first jobs go while the plan is
    # still read, before the jobs of the objects nothing waits for, which go at the end
    # of the pass; the org ends as with one job an object, and the ledger knows every
    # write.
    monkeypatch.setattr(spool, "IN_FLIGHT", in_flight)
    by_size, jobs = _one_job_and_small_jobs(tmp_path, monkeypatch, mapping,
                                            "AWAITED_JOB_ROWS", before_small=None)
    written = by_size["small jobs"][0]
    opportunities = written["Opportunity"]["created"] + written["Opportunity"]["updated"]
    assert opportunities > 30
    size = max(10, -(-opportunities // (in_flight - 1)))
    assert size == (10 if in_flight == 9 else -(-opportunities // 2))
    # Every full job of opportunities is sent before any other object's job; the rest
    # goes at the end of the pass (a job from 10 rows, else sObject Collections).
    full, rest = divmod(opportunities, size)
    assert [(job["object"], job["numberRecordsProcessed"]) for job in jobs[:full]] == \
        [("Opportunity", size)] * full
    assert [job["numberRecordsProcessed"] for job in jobs[full:]
            if job["object"] == "Opportunity"] == ([rest] if rest >= 10 else [])
    others = [counts["created"] + counts["updated"] for obj, counts in written.items()
              if obj != "Opportunity"]
    assert len(jobs) == full + (rest >= 10) + sum(n >= 10 for n in others)


@pytest.mark.parametrize("mapping", ["mappings/standard.yaml", "mappings/cpq.yaml"])
def test_each_object_starts_with_a_small_job_and_a_pass_waits_only_for_what_is_looked_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str) -> None:
    # First jobs of 10 rows (Bulk from 10 rows): every object the next pass does not
    # wait for sends its first 10 rows as a job of their own, then the rest; the
    # renewal opportunities (the lines and tasks look them up) keep their own rule. At
    # the end of the first pass only the opportunities' jobs are answered: the accounts'
    # job is answered during the second pass. The org ends as with one job an object,
    # and the ledger knows every write.
    events: list[tuple[str, tuple[str, ...]]] = []
    start, answer = spool.Spools._start, spool.Spools._answer

    def started(self: spool.Spools, spools: list[spool.RowSpool]) -> None:
        events.append(("start", tuple(s.target.sobject for s in spools)))
        start(self, spools)

    def answered(self: spool.Spools, sent: Any) -> None:
        events.append(("answer", tuple(s.target.sobject for s in sent.spools)))
        answer(self, sent)

    monkeypatch.setattr(spool.Spools, "_start", started)
    monkeypatch.setattr(spool.Spools, "_answer", answered)
    by_size, jobs = _one_job_and_small_jobs(tmp_path, monkeypatch, mapping,
                                            "FIRST_JOB_ROWS", before_small=events.clear)
    written = {obj: counts["created"] + counts["updated"]
               for obj, counts in by_size["small jobs"][0].items()}
    sizes: dict[str, list[int]] = {}
    for job in jobs:  # oldest first
        sizes.setdefault(job["object"], []).append(job["numberRecordsProcessed"])
    assert sizes.pop("Opportunity") == [written.pop("Opportunity")]
    assert written
    assert all(n >= 20 for n in written.values())
    assert sizes == {obj: [10, n - 10] for obj, n in written.items()}
    # The second pass (lines, tasks) starts only once every opportunity job is
    # answered, and the accounts' jobs are answered after it started.
    second = min(i for i, (kind, objects) in enumerate(events) if kind == "start" and
                 {"OpportunityLineItem", "Task"} & set(objects))
    assert all(i < second for i, (kind, objects) in enumerate(events)
               if kind == "answer" and "Opportunity" in objects)
    accounts = [i for i, (kind, objects) in enumerate(events)
                if kind == "answer" and "Account" in objects]
    assert accounts
    assert all(i > second for i in accounts)
