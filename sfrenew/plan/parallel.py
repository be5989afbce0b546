"""Planning across processes: the accounts split into spans, each planned end to end.

``run.plan_processes`` above 1 splits the accounts to plan (sorted Account Ids) into
contiguous spans of about as many accounts each. The first span is planned by a
thread of the run's own process (which would otherwise only wait), each other span
by a process of its own. Each opens the state store itself, reads its accounts from
the mirror, plans and diffs them, saves their plan states and writes its part of the
plan to a part file of its own; only its totals (counts, the first lapsed and dirty
records) come back. The parent then appends the parts in account order, so the plan
file is the one a single process writes, byte for byte, and ``apply`` executes it as
it is (ADR 0024).

What is not one account's is done once, in the parent: the fingerprint and the
decision to replay (before), the analytics line and the plan's header (after). A
problem in a record every account may read (a user, a price book entry) is told by
the first account that reads it; a process other than the first cannot know whether
an earlier one told it already, so then the plan is made again in one process.

A process that fails (an exception, or killed) fails the step with a clear error and
leaves no plan file; a stop request ends the processes (and the thread, after the
batch of accounts it is planning) and the plan is made again from the start when the
run is resumed.

A new process takes 0.6-1.2 s to start (a new interpreter importing sfrenew), longer
than planning a few hundred accounts. So a run that will plan starts its processes
before its pull (:class:`Standby`): they import sfrenew while the pull waits on
Salesforce, then wait for a span to plan. One not needed ends when the plan step does,
and one whose run is killed ends too: its end of the pipe it waits on closes.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from types import MappingProxyType
from typing import Any

import structlog

from sfrenew.core.changeset import ChangeKind
from sfrenew.core.policy import RulesPolicy
from sfrenew.mapping import MappingFile
from sfrenew.plan.build import SplitPlan, Work, plan_accounts
from sfrenew.plan.desired import FieldShapes
from sfrenew.plan.incremental import Span
from sfrenew.plan.planner import (
    DIRTY_LISTED,
    LAPSED_LISTED,
    PLAN_ACCOUNT_FAILED,
    Planner,
    PlanScope,
    PlanTotals,
)
from sfrenew.store import open_store

# Fewer accounts than this per span and starting a process for one (0.6-0.7 s: a new
# interpreter importing sfrenew, about what planning 200 accounts takes) saves too
# little: 984 accounts planned in two spans took 2.7-3.7 s instead of 3.9-4.4 s.
PART_MIN_ACCOUNTS = 400
# More accounts than this in a span and the run's own process leaves the first span to
# a process too: planning holds memory that grows with the accounts one process plans
# (a span of 20,356 planned here raised the 100,000-contract run's peak RSS from 140 to
# 167 MB, one of 4,065 the 20,000-contract run's from 137 to 158 MB), and the run's
# peak is what a deployment sizes for. Below it: plans of only what changed (a 5 %
# change at 20,000 contracts, two spans of about 490; the read-back run, about 1,800).
HERE_MAX_ACCOUNTS = 2_000
PROGRESS_EVERY = 200  # accounts a process plans between two progress messages
_POLL_SECONDS = 0.2
PLAN_PARTS_STARTED = "plan_parts_started"
PLAN_PARTS_DONE = "plan_parts_done"
PLAN_PARTS_AGAIN = "plan_parts_again"

log = structlog.get_logger()


def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _proxy, (dict(proxy),)


# The rules policy holds read-only mappings; a process is sent a copy of them.
ForkingPickler.register(MappingProxyType, _reduce_proxy)


class PlanningFailed(RuntimeError):
    """A planning process failed: the step fails and no plan file is written."""


def processes_setting(value: int | str) -> int:
    """``run.plan_processes`` as a number: ``auto`` is the cores this process may use."""
    if value == "auto":
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1
    return int(value)


def split_spans(keys: Sequence[str], parts: int) -> list[Span]:
    """``parts`` contiguous spans of the sorted ``keys``, about as many keys in each; the
    first is open below and the last above, so together they hold every account."""
    parts = max(1, min(parts, len(keys)))
    spans = []
    after: str | None = None
    for i in range(1, parts):
        last = keys[len(keys) * i // parts - 1]
        spans.append(Span(after=after, last=last))
        after = last
    spans.append(Span(after=after))
    return spans


def merge_totals(into: PlanTotals, part: PlanTotals) -> None:
    """Add a later span's totals to ``into``, as planning its accounts after would."""
    for obj, kinds in part.counts.items():
        per = into.counts.setdefault(obj, {k.value: 0 for k in ChangeKind})
        for kind, n in kinds.items():
            per[kind] += n
    into.accounts += part.accounts
    into.last_account = part.last_account or into.last_account
    into.kept_edits += part.kept_edits
    into.skipped += part.skipped
    for reason, n in part.skipped_by_reason.items():
        into.skipped_by_reason[reason] = into.skipped_by_reason.get(reason, 0) + n
    into.problems += part.problems
    into.routing += part.routing
    into.lapsed += part.lapsed
    into.lapsed_renewals.extend(
        part.lapsed_renewals[:max(0, LAPSED_LISTED - len(into.lapsed_renewals))])
    into.dirty += part.dirty
    into.dirty_records.extend(
        part.dirty_records[:max(0, DIRTY_LISTED - len(into.dirty_records))])
    into.replayed += part.replayed


@dataclass(frozen=True)
class PartJob:
    """What one planning process is given (values only: it opens the store itself)."""

    index: int
    store_url: str
    mapping: MappingFile
    policy: RulesPolicy
    today: date
    shapes: FieldShapes
    scope: PlanScope
    marker: int | None
    work: Work
    path: str


def plan_part(job: PartJob, messages: Any, stop: threading.Event | None = None) -> None:
    """A planning process (or the run's own thread, which passes ``stop``): plan the
    span's accounts into the job's part file.

    Sends ``("advance", n)``, ``("warn", account, error)`` and at the end
    ``("done", index, totals, shared_problems, cpu seconds)`` or
    ``("failed", index, error)``.
    """
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if done >= PROGRESS_EVERY:
            messages.put(("advance", done))
            done = 0

    try:
        with open_store(job.store_url, create=False) as store, \
                Path(job.path).open("w", encoding="utf-8") as out:
            planner = Planner(store=store, mapping=job.mapping, policy=job.policy,
                              today=job.today, shapes=job.shapes, scope=job.scope, out=out,
                              marker=job.marker)
            planner.warn = lambda account, error: messages.put(("warn", account, error))
            plan_accounts(planner, job.work, stop=stop, advance=advance)
    except Exception as exc:  # told to the parent, which fails the step
        messages.put(("failed", job.index, f"{type(exc).__name__}: {exc}"))
        return
    messages.put(("advance", done))
    messages.put(("done", job.index, planner.totals, planner.shared_problems,
                  round(time.thread_time(), 3)))


def _standing_by(jobs: Connection, messages: Any) -> None:
    """A process started ahead (:class:`Standby`): run the one job it is sent, or end
    when none comes: its pipe closed because the plan step needed no more processes,
    or because its run ended, killed included (the kernel closes the run's end)."""
    try:
        target, job = jobs.recv()
    except (EOFError, OSError):
        return
    finally:
        jobs.close()
    target(job, messages)


class Standby:
    """Planning processes started before they are needed (a context manager).

    ``count`` spawned interpreters import sfrenew and wait, each for one job;
    :meth:`start` gives a span to one of them (or spawns a process when none is left).
    Closing ends those not given a job; those given one are the plan step's
    (:func:`_run` ends them). Every process sends its messages to :attr:`messages`.
    """

    def __init__(self, count: int = 0) -> None:
        self.context = multiprocessing.get_context("spawn")  # a clean interpreter: no
        self.messages: Any = self.context.Queue()  # inherited connections, threads, locks
        self._idle: list[tuple[Any, Connection]] = []
        for i in range(count):
            reader, writer = self.context.Pipe(duplex=False)
            process = self.context.Process(target=_standing_by, args=(reader, self.messages),
                                           daemon=True, name=f"sfrenew-plan-standby-{i}")
            process.start()
            reader.close()  # the process holds the only reading end
            self._idle.append((process, writer))

    @property
    def waiting(self) -> list[int]:
        """The process ids of those waiting for a job."""
        return [process.pid for process, _writer in self._idle]

    def start(self, job: PartJob) -> Any:
        """The process planning ``job``: one started ahead, or a new one."""
        while self._idle:
            process, writer = self._idle.pop(0)
            try:
                writer.send((plan_part, job))  # the name of the function, as a spawn does
            except OSError:  # it ended meanwhile (killed): not a process to count on
                process.join(0)
                continue
            finally:
                writer.close()
            return process
        process = self.context.Process(target=plan_part, args=(job, self.messages),
                                       daemon=True, name=f"sfrenew-plan-{job.index}")
        process.start()
        return process

    def close(self) -> None:
        """End the processes still waiting and the message queue. They hold nothing yet
        (no store, no file): ended at once, not left to finish importing sfrenew."""
        idle, self._idle = self._idle, []
        for process, writer in idle:
            writer.close()
            process.terminate()
        for process, _writer in idle:
            process.join(5)
        self.messages.close()

    def __enter__(self) -> Standby:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def in_processes(processes: int, store_url: str, standby: Standby | None = None,
                 ) -> SplitPlan | None:
    """How :func:`~sfrenew.plan.build.build_plan` splits a plan across ``processes``
    opening the store at ``store_url`` (None: one process, no split), using the
    processes ``standby`` started ahead first."""
    if processes <= 1:
        return None

    def split(planner: Planner, work: Work, *, path: Path, stop: threading.Event | None,
              advance: Callable[[int], None] | None) -> None:
        plan_in_parts(planner, work, processes=processes, store_url=store_url, path=path,
                      stop=stop, advance=advance, standby=standby)
    return split


def plan_in_parts(planner: Planner, work: Work, *, processes: int, store_url: str,
                  path: Path, stop: threading.Event | None,
                  advance: Callable[[int], None] | None,
                  standby: Standby | None = None) -> None:
    """Plan ``work`` in up to ``processes`` processes into the planner's file and totals.

    Fewer processes when there are few accounts to plan (``PART_MIN_ACCOUNTS`` each);
    one: planned here, as :func:`~sfrenew.plan.build.plan_accounts` does. Processes
    ``standby`` started ahead are used first.
    """
    store = planner.store
    keys = ([k for k in store.replan_groups(planner.today.isoformat()) if work.span.holds(k)]
            if work.replay else store.group_keys(work.objects))
    parts = min(processes, len(keys) // PART_MIN_ACCOUNTS)
    if parts <= 1:
        plan_accounts(planner, work, stop=stop, advance=advance)
        return
    spans = split_spans(keys, parts)
    files = [path.with_name(f"{path.name}.part{i}") for i in range(len(spans))]
    jobs = [PartJob(index=i, store_url=store_url, mapping=planner.mapping,
                    policy=planner.policy, today=planner.today, shapes=planner.shapes,
                    scope=planner.scope, marker=planner.marker,
                    work=replace(work, span=span), path=str(file))
            for i, (span, file) in enumerate(zip(spans, files, strict=True))]
    log.info(PLAN_PARTS_STARTED, processes=len(jobs), accounts=len(keys),
             spans=[(s.after, s.last) for s in spans],
             started_ahead=len(standby.waiting) if standby is not None else 0)
    started = time.monotonic()
    try:
        results = _run(jobs, stop=stop, advance=advance,
                       here=len(keys) // len(jobs) <= HERE_MAX_ACCOUNTS, standby=standby)
        if results is not None:
            log.info(PLAN_PARTS_DONE, processes=len(jobs),
                     wall_s=round(time.monotonic() - started, 3),
                     cpu_s=[cpu for _totals, _shared, cpu in results],
                     accounts=[totals.accounts for totals, _shared, _cpu in results])
        if results is None:  # stopped: planned again from the start when resumed
            planner.totals.stopped = True
            planner.totals.last_account = None
            return
        if any(shared for _totals, shared, _cpu in results[1:]):
            # A shared record's problem is told by the first account reading it: which
            # one, only a single pass knows. A full one: a process's saved states may
            # tell it too. (The plan's meta is not saved then, so the next one is full.)
            log.info(PLAN_PARTS_AGAIN, reason="problem in a user or price book entry")
            planner.out.seek(0)
            planner.out.truncate()
            planner.totals = PlanTotals()
            plan_accounts(planner, replace(work, replay=False), stop=stop, advance=None)
            return
        for (totals, shared, _cpu), file in zip(results, files, strict=True):
            merge_totals(planner.totals, totals)
            planner.shared_problems |= shared
            with file.open(encoding="utf-8") as body:
                shutil.copyfileobj(body, planner.out)
    finally:
        for file in files:
            file.unlink(missing_ok=True)


def _run(jobs: Sequence[PartJob], *, stop: threading.Event | None,
         advance: Callable[[int], None] | None, here: bool = True,
         standby: Standby | None = None) -> list[tuple[PlanTotals, bool, float]] | None:
    """Run the jobs to their results in span order (None: stopped): (totals, whether a
    shared record's problem was told, CPU seconds). Each span is planned by a process
    of its own (one ``standby`` started ahead, while there are), except the first when
    ``here``: a thread of this process, which would otherwise only wait, plans it."""
    pool = standby if standby is not None else Standby()
    messages = pool.messages
    first = 1 if here else 0
    workers: list[Any] = []
    halt = threading.Event()  # ends the thread's planning early when the step ends
    crashed: list[BaseException] = []

    def first_span() -> None:
        try:
            plan_part(jobs[0], messages, halt)
        except BaseException as exc:  # plan_part tells its own errors; this is the rest,
            crashed.append(exc)       # told by the step's failure
    thread = (threading.Thread(target=first_span, daemon=True, name="sfrenew-plan-0")
              if here else None)
    results: dict[int, tuple[PlanTotals, bool, float]] = {}
    try:
        for job in jobs[first:]:
            workers.append(pool.start(job))
        if thread is not None:
            thread.start()
        while len(results) < len(jobs):
            if stop is not None and stop.is_set():
                return None
            try:
                message = messages.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if crashed:
                    raise PlanningFailed(f"planning span 0 failed: {crashed[0]!r}") from None
                _check_alive(workers, results, first=first)
                continue
            kind = message[0]
            if kind == "advance":
                if advance is not None and message[1]:
                    advance(message[1])
            elif kind == "warn":
                log.warning(PLAN_ACCOUNT_FAILED, account=message[1], error=message[2])
            elif kind == "done":
                results[message[1]] = (message[2], message[3], message[4])
            else:
                raise PlanningFailed(f"planning process {message[1]} failed: {message[2]}")
        return [results[i] for i in range(len(jobs))]
    finally:
        halt.set()
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        deadline = time.monotonic() + 10
        if thread is not None and thread.ident is not None:  # it stops after at most
            thread.join(max(0.0, deadline - time.monotonic()))  # a batch of accounts
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if standby is None:
            pool.close()


def _check_alive(workers: Sequence[Any], results: dict[int, Any], *, first: int = 0) -> None:
    """Fail when a process ended without its result (killed, or out of memory); one
    that ended well sent its result before (it is still on its way)."""
    for i, worker in enumerate(workers, start=first):  # first: the first process's span
        if i not in results and worker.exitcode not in (None, 0):
            raise PlanningFailed(
                f"planning process {i} ended with exit code {worker.exitcode} before "
                "finishing its accounts; no plan was written")
