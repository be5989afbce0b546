"""Triggers as values, catch-up after downtime, and coalescing of missed fires."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sfrenew.clock import clock_shift
from sfrenew.jobs import JobSpec, TriggerSpec, load_jobs
from sfrenew.scheduler import (
    JobScheduler,
    build_trigger,
    catch_up_time,
    cron_problem,
    next_fire_time,
)
from tests.clock import now as pinned_now

NOW = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def cron(expr: str, zone: str = "UTC") -> TriggerSpec:
    return TriggerSpec.model_validate({"cron": expr, "timezone": zone})


def every(**units: int) -> TriggerSpec:
    return TriggerSpec.model_validate({"interval": units})


def once(at: datetime) -> TriggerSpec:
    return TriggerSpec.model_validate({"date": at})


def test_cron_problem() -> None:
    assert cron_problem("0 2 * * *", "UTC") is None
    assert "Wrong number of fields" in (cron_problem("0 2 *", "UTC") or "")
    assert "higher than the maximum" in (cron_problem("61 2 * * *", "UTC") or "")


def test_cron_next_fire_respects_the_timezone() -> None:
    # 02:00 in Paris is 01:00 UTC in winter.
    assert next_fire_time(cron("0 2 * * *", "Europe/Paris"), now=NOW) == \
        datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert type(build_trigger(cron("0 2 * * *"))).__name__ == "CronTrigger"


def test_interval_and_date_next_fire() -> None:
    assert next_fire_time(every(minutes=15), now=NOW) == NOW + timedelta(minutes=15)
    later = NOW + timedelta(days=7)
    assert next_fire_time(once(later), now=NOW) == later
    assert next_fire_time(once(NOW - timedelta(days=1)), now=NOW) is None


CATCH_UP = [
    # (trigger, last run, expected first missed fire or None)
    ("nightly never ran", cron("0 2 * * *"), None, None),
    ("nightly ran last night", cron("0 2 * * *"), datetime(2026, 11, 24, 2, 0, 5, tzinfo=UTC),
     None),
    ("nightly missed today", cron("0 2 * * *"), datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC),
     datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),
    ("nightly missed three nights", cron("0 2 * * *"),
     datetime(2026, 11, 21, 2, 0, 5, tzinfo=UTC), datetime(2026, 11, 22, 2, 0, tzinfo=UTC)),
    ("interval due", every(minutes=15), NOW - timedelta(minutes=20),
     NOW - timedelta(minutes=5)),
    ("interval not due", every(minutes=15), NOW - timedelta(minutes=10), None),
    ("date passed, never ran", once(NOW - timedelta(hours=1)), None, NOW - timedelta(hours=1)),
    ("date passed, ran after it", once(NOW - timedelta(hours=1)), NOW - timedelta(minutes=59),
     None),
    ("date passed, ran only before it", once(NOW - timedelta(hours=1)),
     NOW - timedelta(days=1), NOW - timedelta(hours=1)),
    ("date in the future", once(NOW + timedelta(hours=1)), None, None),
]


@pytest.mark.parametrize(("label", "trigger", "last", "expected"), CATCH_UP,
                         ids=[c[0] for c in CATCH_UP])
def test_catch_up_time(label: str, trigger: TriggerSpec, last: datetime | None,
                       expected: datetime | None) -> None:
    assert catch_up_time(trigger, last_run_at=last, now=NOW) == expected


def _spec(tmp_path: Path, text: str) -> JobSpec:
    (tmp_path / "jobs").mkdir(exist_ok=True)
    (tmp_path / "jobs" / "nightly.yaml").write_text(text, encoding="utf-8")
    [spec] = load_jobs(tmp_path / "jobs")
    return spec


def test_missed_fires_are_coalesced_into_one_run(tmp_path: Path) -> None:
    """Down for three nights: one catch-up run on start, not three."""
    spec = _spec(tmp_path, "trigger: {cron: '0 0 * * *'}\nsteps: [pull]\n"
                           "params: {misfire_grace_seconds: 172800}\n")
    fired: list[str] = []
    done = threading.Event()

    def fire(job: JobSpec) -> None:
        fired.append(job.name)
        done.set()

    scheduler = JobScheduler(fire)
    now = pinned_now()  # the daemon's (shifted) clock, as the daemon passes it
    scheduler.add(spec, now=now, last_run_at=now - timedelta(days=3, hours=1))
    scheduler.start()
    try:
        assert done.wait(10)
        threading.Event().wait(1.0)  # room for (wrongly) repeated fires
    finally:
        scheduler.shutdown()
    assert fired == ["nightly"]


def test_fire_at_is_told_the_coalesced_fire_time_in_sfrenews_clock(tmp_path: Path) -> None:
    """The leader's key for "deferred once": the newest missed fire, not the instant the
    callable ran. APScheduler 3 computes fires on the real clock, so under the suite's
    shifted clock the fire is a midnight of APScheduler's frame, moved by the shift."""
    spec = _spec(tmp_path, "trigger: {cron: '0 0 * * *'}\nsteps: [pull]\n"
                           "params: {misfire_grace_seconds: 172800}\n")
    fired: list[tuple[str, datetime]] = []
    done = threading.Event()

    def fire_at(job: JobSpec, at: datetime) -> None:
        fired.append((job.name, at))
        done.set()

    scheduler: JobScheduler[JobSpec] = JobScheduler(fire_at=fire_at)
    now = pinned_now()  # 09:00 on the pinned date
    scheduler.add(spec, now=now, last_run_at=now - timedelta(days=3, hours=1))
    scheduler.start()
    try:
        assert done.wait(10)
        threading.Event().wait(1.0)
    finally:
        scheduler.shutdown()
    assert len(fired) == 1
    name, at = fired[0]
    assert name == "nightly"
    assert now - timedelta(days=1) < at <= now  # the newest of the coalesced fires
    in_frame = at - clock_shift()
    assert (in_frame.hour, in_frame.minute, in_frame.second) == (0, 0, 0)


def test_fire_and_fire_at_are_exclusive() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JobScheduler()


def test_a_fire_missed_beyond_the_grace_is_skipped(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "trigger: {cron: '0 0 * * *'}\nsteps: [pull]\n"
                           "params: {misfire_grace_seconds: 1}\n")
    fired: list[str] = []
    scheduler: JobScheduler[JobSpec] = JobScheduler(lambda job: fired.append(job.name))
    now = pinned_now()  # 09:00 on the pinned date: the missed midnight fire is 9 h old
    scheduler.add(spec, now=now, last_run_at=now - timedelta(days=2))
    scheduler.start()
    try:
        threading.Event().wait(1.0)
        times = scheduler.next_fire_times()
    finally:
        scheduler.shutdown()
    assert fired == []
    assert times["nightly"] is not None
    assert times["nightly"] > now


def test_disabled_and_spent_jobs_are_not_scheduled(tmp_path: Path) -> None:
    disabled = _spec(tmp_path, "enabled: false\ntrigger: {interval: {minutes: 1}}\n"
                               "steps: [pull]\n")
    scheduler: JobScheduler[JobSpec] = JobScheduler(lambda job: None)
    scheduler.add(disabled, now=NOW)
    spent = _spec(tmp_path, "trigger: {date: 2026-11-01T00:00:00+00:00}\nsteps: [pull]\n")
    scheduler.add(spent, now=NOW, last_run_at=datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC))
    assert scheduler.next_fire_times() == {}
