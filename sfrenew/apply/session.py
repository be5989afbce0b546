"""One run session: the runner's steps wired to the gateway, the store and the clock.

A checkpoint (in the store's ``runs`` row) records where the run is: ``upper`` (the
pull's fixed upper bound), the objects pulled, the phase (``pulled``, ``planned``,
``applying``, ``applied``), the plan file and its counts. A resumed run continues
from it; writes already settled in the ledger are not sent again, and writes whose
outcome is unknown (killed mid-chunk) are looked up in the org first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from sfrenew.apply.execute import ApplyOptions, apply_plan
from sfrenew.apply.recover import NOT_SENT, recover_pending
from sfrenew.apply.rollback import RollbackReport, rollback_run
from sfrenew.apply.writer import ApplyTotals
from sfrenew.config import AppConfig
from sfrenew.core.policy import RulesPolicy
from sfrenew.mapping import Concept
from sfrenew.mapping.translate import written_fields
from sfrenew.plan import (
    PlanHeader,
    PlanScope,
    PlanTotals,
    build_plan,
    read_header,
    shapes_from_describe,
)
from sfrenew.plan.build import plan_objects
from sfrenew.plan.desired import FieldShape
from sfrenew.plan.rulesets import RuleSet
from sfrenew.runner import ProgressSink, RunOutcome, RunRequest, Step
from sfrenew.salesforce import (
    BudgetExhausted,
    BudgetGuard,
    Gateway,
    GatewayError,
    TransientError,
    connect,
)
from sfrenew.salesforce.config import ThresholdSettings
from sfrenew.store import (
    RunKind,
    RunStats,
    RunStatus,
    StateStore,
    WriteStatus,
    make_run_id,
    open_store,
)
from sfrenew.sync import pull, written_objects

RUN_STARTED = "run_started"
RUN_STEP_DONE = "run_step_done"
RUN_FINISHED = "run_finished"
PLAN_FINGERPRINT_DIFFERS = "plan_fingerprint_differs"
LOCK_FILE = "run.lock"
BATCH_CHUNKS = 10  # accounts are applied in batches of this many chunks' worth of changes
BULK_BATCH_ROWS = 20_000  # ... or this many when an object goes through Bulk API 2.0
LOCK_NAME = "sfrenew-run"  # the store's advisory lock: one run per org at a time


class RunBusy(Exception):
    """Another run holds this state directory (one run per org at a time)."""


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """An OS lock on the state dir: a second run (another process) is refused, and a
    run found ``running`` in the store while we hold it is known to have crashed."""
    with (state_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusy(f"another sfrenew run is using {state_dir}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def effective_policy(config: AppConfig, request: RunRequest) -> RulesPolicy:
    """The rules with the run's horizon override (request first, then ``run:``)."""
    horizon = request.horizon_days if request.horizon_days is not None \
        else config.run.horizon_days
    if horizon is None:
        return config.rules
    return replace(config.rules, eligibility=replace(config.rules.eligibility,
                                                     horizon_days=horizon))


def open_gateway(config: AppConfig, *, max_api_calls: int | None = None) -> Gateway:
    """The gateway with the run's budget (the smallest cap configured) and thresholds."""
    sf = config.salesforce
    caps = [c for c in (max_api_calls, config.run.max_api_calls, sf.budget.max_calls_per_run)
            if c is not None]
    guard = BudgetGuard(max_calls_per_run=min(caps) if caps else None,
                        reserve_calls=max(config.run.reserve_daily_calls, sf.budget.reserve_calls),
                        reserve_percent=sf.budget.reserve_percent)
    thresholds = ThresholdSettings(
        read_bulk_rows=config.run.bulk_read_rows or sf.thresholds.read_bulk_rows,
        write_bulk_rows=config.run.bulk_write_rows or sf.thresholds.write_bulk_rows)
    return connect(sf.model_copy(update={"thresholds": thresholds}), budget=guard,
                   base_dir=config.base_dir)


def _kind(value: str) -> RunKind:
    try:
        return RunKind(value)
    except ValueError:
        return RunKind.RUN


class RunSession:
    """Executes one RunRequest (``sfrenew.runner.execute`` holds the locks)."""

    def __init__(self, *, config: AppConfig, request: RunRequest, store: StateStore,
                 clock: Callable[[], datetime], stop: threading.Event | None,
                 progress: ProgressSink) -> None:
        self.config, self.request, self.store, self.clock = config, request, store, clock
        self.stop, self.progress = stop, progress
        self.checkpoint: dict[str, Any] = {}
        self.stats = RunStats()
        self.apply_totals = ApplyTotals()
        self.stopped = False
        self.log = structlog.get_logger().bind(job=request.job)

    # --- the run --------------------------------------------------------------------

    def run(self, started: float) -> RunOutcome:
        """Start (or resume) the run, execute its steps, record and return the outcome."""
        run_id = self._open_run()
        self.log = self.log.bind(run_id=run_id)
        self.log.info(RUN_STARTED, steps=[s.value for s in self.request.steps],
                      dry_run=self.request.dry_run, resumed=bool(self.request.resume_run_id))
        gateway: Gateway | None = None
        status, message = RunStatus.SUCCEEDED, "done"
        try:
            gateway = open_gateway(self.config, max_api_calls=self.request.max_api_calls)
            self._settle_crashed(gateway, run_id)
            self._steps(gateway, run_id)
            if self.stopped:
                status, message = RunStatus.STOPPED, "stopped on request; resume with " \
                    f"--resume {run_id}"
        except BudgetExhausted as exc:
            status = RunStatus.STOPPED
            message = f"API budget reached ({exc}); resume later with --resume {run_id}"
        except TransientError as exc:
            status = RunStatus.INTERRUPTED
            message = f"Salesforce kept failing ({exc}); resume with --resume {run_id}"
        except GatewayError as exc:
            status, message = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        except BaseException as exc:
            self._finish(run_id, gateway, RunStatus.FAILED, f"{type(exc).__name__}: {exc}",
                         started)
            raise
        finally:
            if gateway is not None:
                gateway.close()
        return self._finish(run_id, gateway, status, message, started)

    def _open_run(self) -> str:
        now = self.clock()
        resume = self.request.resume_run_id
        if resume:
            prior = self.store.get_run(resume)
            if prior.status is RunStatus.RUNNING:  # we hold the lock: it crashed
                self.store.finish_run(resume, status=RunStatus.INTERRUPTED, now=now,
                                      error="found running after a crash")
            run = self.store.resume_run(resume)
            self.checkpoint = dict(run.checkpoint or {})
            self.stats = run.stats
            return run.run_id
        run_id = make_run_id(now, random.Random())  # noqa: S311 (an id, not a secret)
        params = {"steps": [s.value for s in self.request.steps],
                  "dry_run": self.request.dry_run, "accounts": list(self.request.accounts),
                  "horizon_days": self.request.horizon_days,
                  "contract_end_from": str(self.request.contract_end_from or ""),
                  "contract_end_to": str(self.request.contract_end_to or ""),
                  "plan_file": str(self.request.plan_file or ""),
                  "fingerprint": self.config.fingerprint}
        self.store.start_run(run_id=run_id, job=self.request.job,
                             kind=_kind(self.request.kind), now=now, params=params)
        return run_id

    def _settle_crashed(self, gateway: Gateway, run_id: str) -> None:
        keys = self._key_fields()
        for run in self.store.unfinished_runs():
            if run.run_id == run_id:
                continue
            if run.status is RunStatus.RUNNING:
                self.store.finish_run(run.run_id, status=RunStatus.INTERRUPTED,
                                      now=self.clock(), error="found running after a crash")
            recover_pending(gateway=gateway, store=self.store, run_id=run.run_id,
                            key_fields=keys, clock=self.clock)
        recover_pending(gateway=gateway, store=self.store, run_id=run_id, key_fields=keys,
                        clock=self.clock)

    def _key_fields(self) -> dict[str, str]:
        m = self.config.mapping
        return {s.object: s.key_field for s in (m.renewal_opportunity, m.renewal_line, m.task)
                if s.key_field}

    def _stopping(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            self.stopped = True
        return self.stopped

    def _save(self, run_id: str) -> None:
        self.store.update_checkpoint(run_id, self.checkpoint, stats=self.stats)

    # --- steps ----------------------------------------------------------------------

    def _steps(self, gateway: Gateway, run_id: str) -> None:
        steps, phase = self.request.steps, self.checkpoint.get("phase")
        saved = self.request.plan_file is not None
        if Step.PULL in steps and not saved and phase is None:
            self._pull(gateway, run_id)
        if self._stopping():
            return
        if Step.PLAN in steps and not saved and phase in (None, "pulled"):
            self._plan(gateway, run_id)
        if self._stopping():
            return
        if Step.APPLY in steps and not self.request.dry_run and (
                saved or self.checkpoint.get("phase") in ("planned", "applying")):
            self._apply(gateway, run_id)

    def _pull(self, gateway: Gateway, run_id: str) -> None:
        upper_text = self.checkpoint.get("upper")
        if upper_text:
            upper = datetime.fromisoformat(upper_text)
        else:
            # SOQL datetimes have whole seconds: the bound is the next whole second, and
            # the pull waits for it, so everything changed before it is read now and
            # everything after (this run's own writes included) by the next run.
            now = self.clock()
            upper = now.replace(microsecond=0) + timedelta(seconds=1)
            time.sleep((upper - now).total_seconds())
        self.checkpoint["upper"] = upper.isoformat()
        self.progress.start("pull", None)
        result = pull(gateway=gateway, store=self.store, mapping=self.config.mapping,
                      upper=upper, overlap=timedelta(seconds=self.config.run.pull_overlap_seconds),
                      run_id=run_id, stop=self.stop, progress=self.progress,
                      skip=self.checkpoint.get("pulled_objects", []))
        self.progress.finish("pull")
        self.stats = self.stats.merged(RunStats(pulled=result.pulled))
        self.checkpoint["pulled_objects"] = sorted({*self.checkpoint.get("pulled_objects", []),
                                                    *result.deleted})
        if result.stopped:
            self.stopped = True
        else:
            self.checkpoint["phase"] = "pulled"
        self._save(run_id)
        self.log.info(RUN_STEP_DONE, step="pull", pulled=result.pulled)

    def _shapes(self, gateway: Gateway) -> dict[tuple[str, str], FieldShape]:
        """The field types of every mapped object: how values are written (scale,
        length) and how rates are read and written (percent fields hold 5 for 5%).
        The pull described these objects already: the gateway's cache answers."""
        shapes: dict[tuple[str, str], FieldShape] = {}
        mapping = self.config.mapping
        # Users carry no number or rate to shape: a resumed run need not describe them.
        objects = {*written_objects(mapping).values(),
                   *(s.object for s in mapping.mapped() if s.concept is not Concept.USER)}
        for sobject in sorted(objects):
            shapes.update(shapes_from_describe(sobject, gateway.describe(sobject)))
        return shapes

    def _plan(self, gateway: Gateway, run_id: str) -> None:
        now = self.clock()
        path = self.config.state_dir / "runs" / run_id / "plan.jsonl"
        header = PlanHeader(run_id=run_id, created_at=now.isoformat(),
                            fingerprint=self.config.fingerprint, today=now.date().isoformat())
        r = self.request
        progress = self.checkpoint.get("plan_progress")  # a run stopped while planning
        scope = PlanScope(accounts=frozenset(r.accounts), contract_end_from=r.contract_end_from,
                          contract_end_to=r.contract_end_to,
                          after_account=progress["after"] if progress else None,
                          rules=frozenset(RuleSet(name) for name in r.rules))
        self.progress.start("plan", self.store.count_groups(plan_objects(self.config.mapping)))
        totals = build_plan(store=self.store, mapping=self.config.mapping,
                            policy=effective_policy(self.config, r), today=now.date(),
                            shapes=self._shapes(gateway), header=header, path=path, scope=scope,
                            stop=self.stop, advance=lambda n: self.progress.advance("plan", n),
                            resume=PlanTotals(**progress["totals"]) if progress else None)
        self.progress.finish("plan")
        self.checkpoint["plan"] = {"counts": totals.counts, "accounts": totals.accounts,
                                   "kept_edits": totals.kept_edits,
                                   "skipped_contracts": totals.skipped_by_reason,
                                   "problems": totals.problems,
                                   "routing": totals.routing, "lapsed": totals.lapsed,
                                   "lapsed_renewals": totals.lapsed_renewals}
        if totals.stopped:  # resumed after the last account planned
            self.stopped = True
            self.checkpoint["plan_progress"] = {"after": totals.last_account,
                                                "totals": dataclasses.asdict(totals)}
        else:
            self.checkpoint.pop("plan_progress", None)
            self.checkpoint.update(phase="planned", plan_file=str(path))
        self._save(run_id)
        self.log.info(RUN_STEP_DONE, step="plan", accounts=totals.accounts, counts=totals.counts,
                      kept_edits=totals.kept_edits, routing=totals.routing,
                      lapsed=totals.lapsed)

    def _apply(self, gateway: Gateway, run_id: str) -> None:
        saved = self.request.plan_file
        path = saved if saved is not None else Path(self.checkpoint["plan_file"])
        header = read_header(path)
        if header.fingerprint != self.config.fingerprint:
            self.log.warning(PLAN_FINGERPRINT_DIFFERS, plan=str(path),
                             plan_fingerprint=header.fingerprint)
        resumed = self.checkpoint.get("phase") == "applying"
        done = frozenset(
            (e.object, e.key) for e in self.store.ledger_entries(run_id)
            if e.status is WriteStatus.SUCCEEDED
            or (e.status is WriteStatus.FAILED and e.error_code != NOT_SENT)) \
            if resumed else frozenset()
        self.checkpoint["phase"] = "applying"
        self.checkpoint.setdefault("plan_file", str(path))
        self._save(run_id)
        writes = sum(n for per in header.counts.values() for k, n in per.items()
                     if k != "leave")
        self.progress.start("apply", writes)
        chunk = self.config.run.write_chunk_size
        bulk_from = gateway.thresholds.write_bulk_rows
        bulk = frozenset(obj for obj, per in header.counts.items()
                         if sum(n for k, n in per.items() if k != "leave") >= bulk_from)
        options = ApplyOptions(chunk_size=chunk, batch_rows=max(
            BATCH_CHUNKS * chunk, BULK_BATCH_ROWS if bulk else 0), bulk_objects=bulk,
            saved_plan=saved is not None or resumed, done=done)
        try:
            apply_plan(path=path, gateway=gateway, store=self.store,
                       mapping=self.config.mapping, run_id=run_id, clock=self.clock,
                       options=options, stop=self.stop, totals=self.apply_totals,
                       advance=lambda n: self.progress.advance("apply", n))
        finally:
            self.progress.finish("apply")
            self.stats = self.stats.merged(RunStats(written=self.apply_totals.written))
            self.apply_totals.written = {}
            self._save(run_id)
        if self.apply_totals.stopped:
            self.stopped = True
            return
        self.checkpoint["phase"] = "applied"
        self._save(run_id)
        self.log.info(RUN_STEP_DONE, step="apply", chunks=self.apply_totals.chunks,
                      rejected=len(self.apply_totals.rejected),
                      stale=len(self.apply_totals.stale))

    # --- the end ---------------------------------------------------------------------

    def _finish(self, run_id: str, gateway: Gateway | None, status: RunStatus, message: str,
                started: float) -> RunOutcome:
        calls = gateway.calls.as_dict() if gateway is not None else {}
        self.stats = self.stats.merged(RunStats(api_calls=calls))
        totals = self.apply_totals
        self.checkpoint["summary"] = {
            "rejected": len(totals.rejected) + self.checkpoint.get("summary", {}).get(
                "rejected", 0),
            "stale": [list(s) for s in totals.stale],
            "message": message}
        self.store.update_checkpoint(run_id, self.checkpoint, stats=self.stats)
        error = None if status is RunStatus.SUCCEEDED else message
        self.store.finish_run(run_id, status=status, now=self.clock(), stats=self.stats,
                              error=error)
        duration = time.monotonic() - started
        stats = {**self.stats.to_json(), "plan": self.checkpoint.get("plan", {}),
                 "summary": self.checkpoint["summary"],
                 "plan_file": self.checkpoint.get("plan_file")}
        all_calls = dict(self.stats.api_calls)
        self.log.info(RUN_FINISHED, status=status.value, pulled=dict(self.stats.pulled),
                      written=stats["written"], api_calls=all_calls,
                      api_calls_total=sum(all_calls.values()), duration_s=round(duration, 3),
                      lapsed=stats["plan"].get("lapsed", 0), message=message)
        return RunOutcome(run_id=run_id, status=status.value, stats=stats, api_calls=all_calls,
                          duration_s=duration, message=message)


def rollback_session(config: AppConfig, target_run_id: str, *, dry_run: bool,
                     clock: Callable[[], datetime]) -> tuple[str | None, RollbackReport]:
    """Undo ``target_run_id``; recorded as a ``rollback`` run unless ``dry_run``."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(config.store_url)
    try:
        store.get_run(target_run_id)  # UnknownRun before anything else
        with state_lock(config.state_dir), store.advisory_lock(LOCK_NAME), \
                open_gateway(config) as gateway:
            m = config.mapping
            # Children first; a contract's link is put back before its renewal goes.
            order = [m.task.object, m.renewal_line.object, m.contract.object,
                     m.renewal_opportunity.object]
            run_id = None
            if not dry_run:
                run_id = make_run_id(clock(), random.Random())  # noqa: S311 (an id)
                store.start_run(run_id=run_id, job="rollback", kind=RunKind.ROLLBACK,
                                now=clock(), params={"target_run_id": target_run_id})
            try:
                stamp = written_fields(m, Concept.RENEWAL_OPPORTUNITY).get("run_id")
                report = rollback_run(gateway=gateway, store=store, target_run_id=target_run_id,
                                      run_id=run_id or "", child_order=order, dry_run=dry_run,
                                      clock=clock,
                                      stamps=frozenset({stamp} if stamp else set()))
            except BaseException as exc:
                if run_id:
                    store.finish_run(run_id, status=RunStatus.FAILED, now=clock(),
                                     error=f"{type(exc).__name__}: {exc}")
                raise
            if run_id:
                store.finish_run(run_id, status=RunStatus.SUCCEEDED, now=clock(), stats=RunStats(
                    written=report.written, api_calls=gateway.calls.as_dict()))
            return run_id, report
    finally:
        store.close()
