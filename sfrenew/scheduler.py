"""The scheduler: APScheduler 3 lives here and nowhere else.

Jobs are loaded from ``jobs/`` when the daemon starts and kept in memory (no job
store): the YAML files are the truth, so there is no saved schedule to drift from
them. Every job is added with ``coalesce=True`` (a backlog of missed fires runs
once), ``max_instances=1`` (a slow run is never overlapped by its next fire) and
the job's own misfire grace.

Catch-up: without a saved schedule a daemon restarted at 03:00 would silently skip
the 02:00 nightly run. The daemon passes each job's last run start from the state
store; if a fire was due since then, the job's first run time is set to that past
instant and APScheduler's coalescing turns the whole backlog into one run (or none,
when the newest missed fire is older than the misfire grace).

APScheduler 3.x reads the real clock itself. The daemon's clock is
:func:`sfrenew.clock.utc_now`, which a rehearsal or the test suite may shift
(``SFRENEW_CLOCK_SHIFT_SECONDS``); times handed to APScheduler are moved back into
its real-clock frame, and times read from it are moved forward, so the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sfrenew.clock import clock_shift

log = structlog.get_logger(__name__)


# What the scheduler reads of a job: declared here, so that sfrenew.jobs (which asks
# this module whether a cron expression parses) is imported by nothing below it.
class Interval(Protocol):
    """A fixed period (``sfrenew.jobs.IntervalSpec``)."""

    def total_seconds(self) -> int:
        """The period in seconds."""


class Trigger(Protocol):
    """When a job fires: exactly one of cron, interval, date (``sfrenew.jobs.TriggerSpec``)."""

    @property
    def cron(self) -> str | None:
        """A crontab expression."""

    @property
    def interval(self) -> Interval | None:
        """A fixed period."""

    @property
    def date(self) -> datetime | None:
        """One fire at this instant."""

    @property
    def timezone(self) -> str:
        """The IANA zone a cron expression is read in."""

    def describe(self) -> str:
        """A short human description."""


class JobParams(Protocol):
    """The part of a job's parameters the scheduler reads."""

    @property
    def misfire_grace_seconds(self) -> int:
        """A fire missed by more than this is skipped."""


class ScheduledJob(Protocol):
    """A job as the scheduler sees it (``sfrenew.jobs.JobSpec``)."""

    @property
    def name(self) -> str:
        """The job's unique name."""

    @property
    def enabled(self) -> bool:
        """False: never fired."""

    @property
    def trigger(self) -> Trigger:
        """When it fires."""

    @property
    def params(self) -> JobParams:
        """Its parameters."""

FIRE_SKIPPED = "fire_skipped"
JOB_SCHEDULED = "job_scheduled"


Job = TypeVar("Job", bound=ScheduledJob)


def cron_problem(expression: str, timezone: str) -> str | None:
    """Why ``expression`` is not a valid 5-field crontab expression, or None."""
    try:
        CronTrigger.from_crontab(expression, timezone=timezone)
    except (ValueError, KeyError, LookupError) as exc:
        return str(exc).strip("'\"") or "not a crontab expression"
    return None


def build_trigger(spec: Trigger) -> Any:
    """The APScheduler trigger for a validated TriggerSpec."""
    if spec.cron is not None:
        return CronTrigger.from_crontab(spec.cron, timezone=spec.timezone)
    if spec.interval is not None:
        return IntervalTrigger(seconds=spec.interval.total_seconds(), timezone=spec.timezone)
    return DateTrigger(run_date=spec.date, timezone=spec.timezone)


def next_fire_time(spec: Trigger, *, now: datetime) -> datetime | None:
    """When the trigger fires next after ``now`` (None: never again)."""
    if spec.date is not None:
        return spec.date if spec.date > now else None
    if spec.interval is not None:
        # An interval trigger starts counting when the daemon starts.
        return now + timedelta(seconds=spec.interval.total_seconds())
    fire: datetime | None = build_trigger(spec).get_next_fire_time(None, now)
    return fire


def catch_up_time(spec: Trigger, *, last_run_at: datetime | None,
                  now: datetime) -> datetime | None:
    """The first fire missed since the job's last run, when it is in the past.

    A date trigger counts as missed when no run started at or after its date.
    """
    if spec.date is not None:
        missed = last_run_at is None or last_run_at < spec.date
        return spec.date if missed and spec.date <= now else None
    if last_run_at is None:
        return None  # never ran: start on the schedule, not with a surprise run
    trigger = build_trigger(spec)
    if spec.interval is not None:
        due: datetime = last_run_at + timedelta(seconds=spec.interval.total_seconds())
    else:
        due = trigger.get_next_fire_time(last_run_at, last_run_at)
    return due if due is not None and due <= now else None


class _WithFireTime:
    """A job whose call also receives the instant it was scheduled for (the newest of
    its coalesced run times): APScheduler 3 does not pass it to the callable."""

    def __init__(self, job: Any, fire_time: datetime) -> None:
        self._job = job
        self.args = (*job.args, fire_time)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)


# APScheduler 3 ships no type hints: its classes are Any to mypy.
class _FireTimeExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # Coalesced: one run time; misfires are still checked by APScheduler's run_job.
        super()._do_submit_job(_WithFireTime(job, run_times[-1]), run_times)


class JobScheduler(Generic[Job]):
    """A background APScheduler running ``fire(job)`` for each enabled job.

    One worker thread per job at most (``max_instances=1``); jobs of different names
    may overlap in time, and the run lock serialises what they do to the org. With
    ``fire_at``, ``fire_at(job, fire_time)`` is called instead, with the instant the fire
    was scheduled for (in sfrenew's clock frame): the leader's key for "deferred once".
    """

    def __init__(self, fire: Callable[[Job], None] | None = None, *, workers: int = 4,
                 fire_at: Callable[[Job, datetime], None] | None = None) -> None:
        if (fire is None) == (fire_at is None):
            raise ValueError("give exactly one of fire and fire_at")
        self._fire_at = fire_at
        self._fire: Callable[..., None] = fire if fire is not None else self._with_fire_time
        executor = ThreadPoolExecutor if fire_at is None else _FireTimeExecutor
        self._scheduler = BackgroundScheduler(
            executors={"default": executor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1}, timezone="UTC")
        self._scheduler.add_listener(self._on_skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def _with_fire_time(self, spec: Job, at: datetime | None = None) -> None:
        # ``at`` is appended by _FireTimeExecutor; the default only satisfies APScheduler's
        # check of the callable's arguments when the job is added.
        assert self._fire_at is not None
        assert at is not None
        self._fire_at(spec, at + clock_shift())  # out of APScheduler's real-clock frame

    def add(self, spec: Job, *, now: datetime, last_run_at: datetime | None = None) -> None:
        """Schedule an enabled job (a disabled one is left out, with a log line)."""
        if not spec.enabled:
            log.info(JOB_SCHEDULED, job=spec.name, enabled=False)
            return
        first = catch_up_time(spec.trigger, last_run_at=last_run_at, now=now)
        options: dict[str, Any] = {}
        if first is not None:
            options["next_run_time"] = first - clock_shift()  # into APScheduler's frame
        elif spec.trigger.date is not None and spec.trigger.date <= now:
            log.info(JOB_SCHEDULED, job=spec.name, next_fire=None, reason="date passed, ran")
            return
        self._scheduler.add_job(self._fire, trigger=build_trigger(spec.trigger), args=(spec,),
                                id=spec.name, name=spec.name, replace_existing=True,
                                misfire_grace_time=spec.params.misfire_grace_seconds,
                                coalesce=True, max_instances=1, **options)
        log.info(JOB_SCHEDULED, job=spec.name, trigger=spec.trigger.describe(),
                 catch_up=first.isoformat() if first else None)

    def add_all(self, specs: Sequence[Job], *, now: datetime,
                last_runs: Mapping[str, datetime]) -> None:
        """Schedule every job, with catch-up from each job's last run."""
        for spec in specs:
            self.add(spec, now=now, last_run_at=last_runs.get(spec.name))

    def next_fire_times(self) -> dict[str, datetime | None]:
        """Scheduled jobs and when each fires next."""
        shift = clock_shift()  # out of APScheduler's real-clock frame
        return {job.id: job.next_run_time + shift if job.next_run_time is not None else None
                for job in self._scheduler.get_jobs()}

    def start(self) -> None:
        """Start firing in background threads."""
        self._scheduler.start()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop firing; with ``wait``, return once runs in flight are over."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @staticmethod
    def _on_skipped(event: JobEvent) -> None:
        # EVENT_JOB_MISSED carries one run time, EVENT_JOB_MAX_INSTANCES a list of them.
        times = getattr(event, "scheduled_run_times", None) \
            or [getattr(event, "scheduled_run_time", None)]
        if event.code == EVENT_JOB_MISSED:
            log.warning(FIRE_SKIPPED, job=event.job_id, reason="missed by more than the grace",
                        scheduled=[t.isoformat() for t in times if t is not None])
        else:  # routine for a frequent job behind a long run: not a warning
            log.info(FIRE_SKIPPED, job=event.job_id, reason="previous run still running",
                     scheduled=[t.isoformat() for t in times if t is not None])
