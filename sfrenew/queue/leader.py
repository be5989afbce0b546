"""The scheduler on PostgreSQL: one leader fires the triggers and only defers jobs.

Every ``sfrenew run`` replica of a PostgreSQL deployment tries to take the advisory lock
``sfrenew-scheduler`` on a dedicated, non-pooled connection; the one that holds it is
the leader, the others poll every ``poll_s`` seconds. The leader:

* schedules every enabled job of every org in APScheduler (``sfrenew.scheduler``),
  with catch-up from the LAST FIRE kept in PostgreSQL (``queue_fires``): a fire due
  since then is run once (coalesced) if it is within the job's misfire grace, and
  skipped with a ``fire_skipped`` warning otherwise;
* on each fire inserts the row (schedule, fire time) and defers ``sfrenew.run_job`` in
  one transaction, fenced by its lock (the transaction checks that the leader's
  session still holds it): a fire is deferred once even when an old leader that lost
  its connection and a new one overlap;
* every ``retry_every_s`` seconds retries the jobs of workers whose heartbeat is older
  than ``stalled_after_s`` (killed with ``kill -9``, machine lost);
* steps down when its lock connection stops answering (it stops firing at once; a
  replica takes over within ``poll_s``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from sfrenew.jobs import JobParams, JobSpec, TriggerSpec
from sfrenew.locks import Busy
from sfrenew.queue.deployment import Deployment
from sfrenew.queue.tasks import run_job_task
from sfrenew.scheduler import JobScheduler
from sfrenew.store import StoreUnavailable
from sfrenew.store.queue import LeaderSession, QueueStore, leader_lock

log = structlog.get_logger(__name__)

LEADER_LOCK = "sfrenew-scheduler"
LEADER_ELECTED = "leader_elected"
LEADER_LOST = "leader_lost"
LEADER_STANDBY = "leader_standby"
LEADER_UNAVAILABLE = "leader_unavailable"
FIRE_DEFERRED = "fire_deferred"
FIRE_ALREADY_DEFERRED = "fire_already_deferred"
STALLED_RETRIED = "stalled_jobs_retried"


@dataclass(frozen=True)
class Schedule:
    """One org's job as the leader schedules it (named ``org/job``)."""

    org: str
    spec: JobSpec

    @property
    def name(self) -> str:
        """``org/job``: the schedule's key in ``queue_fires``."""
        return f"{self.org}/{self.spec.name}"

    @property
    def enabled(self) -> bool:
        """As the job file says."""
        return self.spec.enabled

    @property
    def trigger(self) -> TriggerSpec:
        """The job's trigger."""
        return self.spec.trigger

    @property
    def params(self) -> JobParams:
        """The job's parameters (the misfire grace)."""
        return self.spec.params


def schedules(deployment: Deployment) -> list[Schedule]:
    """Every job of every org, as schedules."""
    return [Schedule(org=name, spec=spec) for name, org in sorted(deployment.orgs.items())
            for spec in org.jobs]


class Leader:
    """Lead when the lock is free, stand by otherwise, until ``stop``."""

    def __init__(self, deployment: Deployment, queue: QueueStore, *,
                 clock: Callable[[], datetime], stop: threading.Event,
                 retry_stalled: Callable[[], list[int]], poll_s: float = 2.0,
                 retry_every_s: float = 5.0) -> None:
        self.deployment, self.queue, self.clock, self.stop = deployment, queue, clock, stop
        self.retry_stalled, self.poll_s, self.retry_every_s = retry_stalled, poll_s, \
            retry_every_s
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def serve(self) -> None:
        """Stand by or lead until ``stop`` is set."""
        told = False
        while not self.stop.is_set():
            try:
                with leader_lock(self.deployment.queue_url, LEADER_LOCK,
                                 replica=self.name) as session:
                    told = False
                    self._lead(session)
            except Busy:
                if not told:
                    log.info(LEADER_STANDBY, replica=self.name)
                    told = True
                self.stop.wait(self.poll_s)
            except StoreUnavailable as exc:  # the database is away: stand by, try again
                log.warning(LEADER_UNAVAILABLE, replica=self.name, error=str(exc))
                told = False
                self.stop.wait(self.poll_s)

    def _lead(self, session: LeaderSession) -> None:
        scheduler: JobScheduler[Schedule] = JobScheduler(
            fire_at=lambda schedule, at: self._fire(schedule, at, session))
        last = self.queue.last_fires()
        items = schedules(self.deployment)
        scheduler.add_all(items, now=self.clock(), last_runs=last)
        scheduler.start()
        log.info(LEADER_ELECTED, replica=self.name, schedules=[s.name for s in items],
                 last_fires={k: v.isoformat() for k, v in last.items()},
                 next_fires={k: v.isoformat() if v else None
                             for k, v in scheduler.next_fire_times().items()})
        retried_at = 0.0
        try:
            while not self.stop.wait(self.poll_s / 2):
                if not session.alive():
                    log.warning(LEADER_LOST, replica=self.name)
                    return
                if time.monotonic() - retried_at >= self.retry_every_s:
                    retried_at = time.monotonic()
                    self._retry_stalled()
        finally:
            scheduler.shutdown(wait=True)

    def _retry_stalled(self) -> None:
        try:
            retried = self.retry_stalled()
        except Exception:  # the next round tries again; the leader keeps firing
            log.exception(STALLED_RETRIED, retried=None)
            return
        if retried:
            log.warning(STALLED_RETRIED, jobs=retried)

    def _fire(self, schedule: Schedule, fire_time: datetime, session: LeaderSession) -> None:
        job_id = self.queue.defer_fire(schedule=schedule.name, fire_time=fire_time,
                                       job=run_job_task(schedule.org, schedule.spec.name),
                                       now=self.clock(), leader=self.name,
                                       fence=session.fence)
        if job_id is None:
            log.info(FIRE_ALREADY_DEFERRED, schedule=schedule.name,
                     fire_time=fire_time.isoformat())
        else:
            log.info(FIRE_DEFERRED, schedule=schedule.name, fire_time=fire_time.isoformat(),
                     job_id=job_id)
