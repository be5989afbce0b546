"""The queue's tables on PostgreSQL: a fire deferred once, one shared API budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from sfrenew.locks import Busy
from sfrenew.store import StoreConfigurationError, open_store
from sfrenew.store.queue import (
    Backfill,
    Fence,
    QueuedJob,
    QueueStore,
    leader_lock,
    open_queue,
)
from sfrenew.store.queue_schema import QUEUE_VERSION_KEY

NOW = datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
JOB = QueuedJob(task_name="sfrenew.run_job", args={"org": "acme", "job": "renewals"},
                lock="org:acme")

pytestmark = pytest.mark.postgres


@pytest.fixture
def queue(pg_store_url: str) -> Iterator[QueueStore]:
    """The queue on a fresh PostgreSQL schema (it has no SQLite form: see the first test)."""
    with open_queue(pg_store_url) as opened:
        yield opened


def _jobs(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT task_name, lock, status::text "
                                     "FROM procrastinate_jobs ORDER BY id")).all()
    finally:
        engine.dispose()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_opening_a_postgresql_store_installs_procrastinate(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        with open_store(store_url), pytest.raises(StoreConfigurationError, match="PostgreSQL"):
            open_queue(store_url)
        return
    with open_store(store_url):
        pass
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            version = conn.scalar(text("SELECT value FROM meta WHERE name = :n"),
                                  {"n": QUEUE_VERSION_KEY})
            tables = set(conn.scalars(text("SELECT tablename FROM pg_tables "
                                           "WHERE schemaname = current_schema()")))
    finally:
        engine.dispose()
    assert version is not None
    assert version.startswith("3.")
    assert {"procrastinate_jobs", "procrastinate_workers", "queue_fires",
            "queue_backfills"} <= tables
    with open_store(store_url):  # a second open installs nothing twice
        pass


def test_a_fire_is_deferred_once_even_by_two_leaders(queue: QueueStore) -> None:
    first = queue.defer_fire(schedule="acme/renewals", fire_time=NOW, job=JOB, now=NOW,
                             leader="a:1")
    again = queue.defer_fire(schedule="acme/renewals", fire_time=NOW, job=JOB, now=NOW,
                             leader="b:2")
    later = queue.defer_fire(schedule="acme/renewals", fire_time=NOW + timedelta(days=1),
                             job=JOB, now=NOW, leader="b:2")
    assert first is not None
    assert later is not None
    assert again is None
    assert _jobs(queue.url) == [("sfrenew.run_job", "org:acme", "todo")] * 2
    assert queue.last_fires() == {"acme/renewals": NOW + timedelta(days=1)}


def test_the_shared_budget_is_taken_all_or_nothing(queue: QueueStore) -> None:
    queue.add_backfill(Backfill(backfill_id="b1", org="acme", contract_end_from=date(2027, 1, 1),
                                contract_end_to=date(2027, 3, 31), horizon_days=400,
                                dry_run=False, max_api_calls=10, calls_used=0,
                                chunks_total=None), now=NOW, job=JOB)
    assert [queue.take_calls("b1", n) for n in (4, 4, 3, 2)] == [True, True, False, True]
    backfill = queue.get_backfill("b1")
    assert backfill is not None
    assert backfill.calls_used == 10


def test_chunks_are_recorded_and_deferred_once(queue: QueueStore) -> None:
    queue.add_backfill(Backfill(backfill_id="b2", org="acme", contract_end_from=date(2027, 1, 1),
                                contract_end_to=date(2027, 3, 31), horizon_days=400,
                                dry_run=False, max_api_calls=None, calls_used=0,
                                chunks_total=None), now=NOW, job=JOB)
    chunk_jobs = [QueuedJob(task_name="sfrenew.backfill_chunk", args={"chunk": n},
                            lock=f"chunk:b2:{n}") for n in range(2)]
    assert queue.add_chunks("b2", [["001", "002"], ["003"]], chunk_jobs) == 2
    assert queue.add_chunks("b2", [["001", "002"], ["003"]], chunk_jobs) == 2  # a retry
    assert queue.chunk_accounts("b2", 1) == ["003"]
    assert [t for t, _, _ in _jobs(queue.url)].count("sfrenew.backfill_chunk") == 2


def test_the_leader_lock_is_exclusive_and_fences_its_defers(queue: QueueStore) -> None:
    with leader_lock(queue.url, "sfrenew-scheduler") as session:
        with pytest.raises(Busy), leader_lock(queue.url, "sfrenew-scheduler"):
            pass
        assert session.alive()
        deferred = queue.defer_fire(schedule="acme/renewals", fire_time=NOW, job=JOB,
                                    now=NOW, leader="a:1", fence=session.fence)
        # A leader whose session no longer holds the lock (another pid) defers nothing.
        stale = Fence(key=session.fence.key, pid=session.fence.pid + 1)
        fenced_out = queue.defer_fire(schedule="acme/renewals",
                                      fire_time=NOW + timedelta(hours=1), job=JOB, now=NOW,
                                      leader="b:2", fence=stale)
    assert deferred is not None
    assert fenced_out is None
    assert queue.last_fires() == {"acme/renewals": NOW}
    with leader_lock(queue.url, "sfrenew-scheduler"):  # released on exit
        pass
