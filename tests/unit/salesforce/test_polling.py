"""The Bulk poll interval: by job size, then progress, else backing off with time waited."""

from __future__ import annotations

from typing import Any

import pytest

from sfrenew.salesforce.bulk_group import JobGroup
from sfrenew.salesforce.errors import BulkJobFailed
from sfrenew.salesforce.polling import PollPolicy

POLICY = PollPolicy(min_seconds=0.1, max_seconds=30.0, rows_per_second=50_000, growth=0.5)


@pytest.mark.parametrize(("waited", "expected", "processed", "rate", "interval"), [
    # A new job: its size over the optimistic rate, within the bounds.
    (0.0, 20_000, 0, None, 0.4),
    (0.0, 1_000, 0, None, 0.1),  # 0.02 s guessed: the floor
    (0.0, 5_000_000, 0, None, 30.0),  # 100 s guessed: the ceiling
    (0.0, None, 0, None, 0.1),  # size unknown
    # Progress seen: due when the rest should be done at the observed rate.
    (2.0, 20_000, 8_000, 4_000.0, 3.0),
    (2.0, 20_000, 19_990, 4_000.0, 0.1),
    # No progress news: half the time already waited.
    (4.0, 20_000, 0, None, 2.0),
    (4.0, None, 0, None, 2.0),
    (100.0, 20_000, 20_000, 4_000.0, 30.0),  # all processed, not done: back off, capped
])
def test_next_interval(waited: float, expected: int | None, processed: int,
                       rate: float | None, interval: float) -> None:
    assert POLICY.next_interval(waited=waited, expected_rows=expected, processed=processed,
                                rate=rate) == pytest.approx(interval)


def test_zero_polls_without_waiting() -> None:
    policy = PollPolicy(min_seconds=0, max_seconds=0)
    assert policy.next_interval(waited=50.0, expected_rows=10**6, processed=0,
                                rate=None) == 0.0


@pytest.mark.parametrize("bad", [{"min_seconds": -1}, {"min_seconds": 5, "max_seconds": 1},
                                 {"rows_per_second": 0}, {"growth": 0}])
def test_bad_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        PollPolicy(**bad)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


class _Response:
    status_code = 200

    def __init__(self, body: bytes) -> None:
        self.content = body
        self.headers: dict[str, str] = {}


class _Jobs:
    """A transport whose jobs finish at given times, processing rows evenly."""

    def __init__(self, clock: _Clock, finish: dict[str, tuple[float, int]]) -> None:
        self.clock, self.finish = clock, finish
        self.polls: list[tuple[float, str]] = []

    def request(self, kind: Any, method: str, path: str, **_: Any) -> _Response:
        self.polls.append((round(self.clock.now, 3), path))
        at, rows = self.finish[path]
        if self.clock.now >= at:
            return _Response(b'{"state": "JobComplete", "numberRecordsProcessed": %d}' % rows)
        done = int(rows * self.clock.now / at)
        return _Response(b'{"state": "InProgress", "numberRecordsProcessed": %d}' % done)


def _group(jobs: _Jobs, clock: _Clock, *, max_wait: float = 3600.0) -> JobGroup:
    return JobGroup(jobs, POLICY, max_wait_seconds=max_wait,  # type: ignore[arg-type]
                    sleep=clock.sleep, monotonic=clock.monotonic)


def test_a_group_sleeps_once_per_round_and_polls_each_job_when_due() -> None:
    clock = _Clock()
    jobs = _Jobs(clock, {"jobs/query/a": (0.35, 10_000), "jobs/query/b": (1.0, 50_000)})
    group = _group(jobs, clock)
    group.add("jobs/query/a", expected_rows=10_000)  # first poll due at 0.2 s
    group.add("jobs/query/b", expected_rows=50_000)  # first poll due at 1.0 s
    assert group.wait_for("jobs/query/a")["state"] == "JobComplete"
    # a at 0.2 s: 5,714 rows done, 28,570 rows/s, so the other 4,286 are due 0.15 s later.
    assert jobs.polls == [(0.2, "jobs/query/a"), (0.35, "jobs/query/a")]
    assert group.running == 1
    assert group.wait_for("jobs/query/b")["state"] == "JobComplete"
    assert jobs.polls[2:] == [(1.0, "jobs/query/b")]  # b was due once, and done
    assert clock.slept == [0.2, 0.15, 0.65]
    assert group.running == 0


def test_a_job_running_too_long_fails() -> None:
    clock = _Clock()
    jobs = _Jobs(clock, {"jobs/ingest/c": (10**6, 10)})
    group = _group(jobs, clock, max_wait=60.0)
    group.add("jobs/ingest/c", expected_rows=10)
    with pytest.raises(BulkJobFailed, match="still InProgress"):
        group.wait_for("jobs/ingest/c")
    assert clock.now >= 60.0
