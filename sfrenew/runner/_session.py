"""One run: the steps (pull, plan, apply) called in order around a typed checkpoint.

The checkpoint (:class:`~sfrenew.runner._checkpoint.Checkpoint`, in the store's
``runs`` row) records where the run is. A resumed run continues from it; writes
already settled in the ledger are not sent again, and writes whose outcome is unknown
(killed mid-chunk) are looked up in the org first. The session is handed an open
store and holds no lock: :func:`sfrenew.runner.execute` opens and locks.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from sfrenew.apply import ApplyOptions, ApplyTotals, apply_plan, recover_pending
from sfrenew.apply.recover import NOT_SENT
from sfrenew.config import AppConfig
from sfrenew.logs import outcome_level
from sfrenew.mapping.objects import UNGROUPED, analytics_objects, written_objects
from sfrenew.mapping.translate import ownership_lookup
from sfrenew.plan import (
    PlanHeader,
    PlanScope,
    build_plan,
    read_header,
    shapes_from_describe,
)
from sfrenew.plan.analytics import AnalyticsPlanner
from sfrenew.plan.build import SplitPlan, plan_objects
from sfrenew.plan.desired import FieldShape
from sfrenew.plan.model import AccountPlan
from sfrenew.plan.parallel import PlanningFailed, Standby, in_processes, processes_setting
from sfrenew.plan.rulesets import RuleSet, plans_analytics
from sfrenew.pull import pull
from sfrenew.runner._checkpoint import Checkpoint, Phase, PlanProgress, PlanSummary, RunSummary
from sfrenew.runner._request import ProgressSink, RunOutcome, RunRequest, Step
from sfrenew.runner._resume import check_resumable, config_identity, resume_hint
from sfrenew.runner._wiring import (
    CRASHED,
    analytics_options,
    describe_cache,
    effective_policy,
    mark_crashed,
    open_gateway,
)
from sfrenew.salesforce import BudgetExhausted, GatewayError, GatewayPort, TransientError
from sfrenew.store import (
    RunKind,
    RunStats,
    RunStatus,
    StorePort,
    WriteStatus,
    make_run_id,
)

RUN_STARTED = "run_started"
RUN_STEP_DONE = "run_step_done"
RUN_FINISHED = "run_finished"
PLAN_FINGERPRINT_DIFFERS = "plan_fingerprint_differs"
# Accounts are applied in batches of this many chunks' worth of changes; Bulk API 2.0
# objects too: their rows are spooled to disk and sent as one job per object.
BATCH_CHUNKS = 10


def plan_path(config: AppConfig, run_id: str) -> Path:
    """Where a run saves the plan it made (on this machine's disk)."""
    return config.state_dir / "runs" / run_id / "plan.jsonl"


def _kind(value: str) -> RunKind:
    try:
        return RunKind(value)
    except ValueError:
        return RunKind.RUN


class RunSession:
    """Executes one RunRequest (:func:`sfrenew.runner.execute` holds the locks)."""

    def __init__(self, *, config: AppConfig, request: RunRequest, store: StorePort,
                 clock: Callable[[], datetime], stop: threading.Event | None,
                 progress: ProgressSink,
                 shared_budget: Callable[[int], bool] | None = None) -> None:
        self.config, self.request, self.store, self.clock = config, request, store, clock
        self.shared_budget = shared_budget
        self.stop, self.progress = stop, progress
        self.checkpoint = Checkpoint()
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
        gateway: GatewayPort | None = None
        status, message = RunStatus.SUCCEEDED, "done"
        try:
            gateway = open_gateway(self.config, max_api_calls=self.request.max_api_calls,
                                   shared_budget=self.shared_budget,
                                   describes=describe_cache(self.config, now=self.clock()))
            self._settle_crashed(gateway, run_id)
            self._steps(gateway, run_id)
            if self.stopped:
                status, message = RunStatus.STOPPED, f"stopped on request; {self._hint(run_id)}"
        except BudgetExhausted as exc:
            status = RunStatus.STOPPED
            message = f"API budget reached ({exc}); {self._hint(run_id)}"
        except TransientError as exc:
            status = RunStatus.INTERRUPTED
            message = f"Salesforce kept failing ({exc}); {self._hint(run_id)}"
        except (GatewayError, PlanningFailed) as exc:
            status, message = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        except BaseException as exc:
            self._finish(run_id, gateway, RunStatus.FAILED, f"{type(exc).__name__}: {exc}",
                         started)
            raise
        finally:
            if gateway is not None:
                gateway.close()
        return self._finish(run_id, gateway, status, message, started)

    def _hint(self, run_id: str) -> str:
        # Not a flag, the kind: a plan is never offered a resume it would refuse.
        return resume_hint(_kind(self.request.kind), run_id)

    def _open_run(self) -> str:
        now = self.clock()
        resume = self.request.resume_run_id
        if resume:
            prior = self.store.get_run(resume)
            if prior.status is RunStatus.RUNNING:  # we hold the lock: it crashed
                prior = self.store.finish_run(resume, status=RunStatus.INTERRUPTED, now=now,
                                              error=CRASHED)
            check_resumable(prior, request_kind=_kind(self.request.kind), config=self.config)
            # Refuse a checkpoint from another sfrenew before touching the run.
            self.checkpoint = Checkpoint.from_json(prior.checkpoint, run_id=resume)
            run = self.store.resume_run(resume)
            self.stats = run.stats
            return run.run_id
        run_id = make_run_id(now, random.Random())  # noqa: S311 (an id, not a secret)
        params = {"steps": [s.value for s in self.request.steps],
                  "dry_run": self.request.dry_run, "accounts": list(self.request.accounts),
                  "horizon_days": self.request.horizon_days,
                  "contract_end_from": str(self.request.contract_end_from or ""),
                  "contract_end_to": str(self.request.contract_end_to or ""),
                  "plan_file": str(self.request.plan_file or ""),
                  "fingerprint": self.config.fingerprint, **config_identity(self.config)}
        self.store.start_run(run_id=run_id, job=self.request.job,
                             kind=_kind(self.request.kind), now=now, params=params)
        return run_id

    def _settle_crashed(self, gateway: GatewayPort, run_id: str) -> None:
        keys = self._key_fields()
        if self.request.chunk_lock is None:  # a chunk's neighbours may be running
            mark_crashed(self.store, now=self.clock(), keep=run_id)
            for run in self.store.unfinished_runs():
                if run.run_id == run_id:
                    continue
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
        self.store.update_checkpoint(run_id, self.checkpoint.to_json(), stats=self.stats)

    def _move(self, run_id: str, **changes: object) -> None:
        """Record progress: the checkpoint with ``changes``, saved."""
        self.checkpoint = replace(self.checkpoint, **changes)  # type: ignore[arg-type]
        self._save(run_id)

    # --- steps ----------------------------------------------------------------------

    def _steps(self, gateway: GatewayPort, run_id: str) -> None:
        steps, phase = self.request.steps, self.checkpoint.phase
        saved = self.request.plan_file is not None
        pulls = Step.PULL in steps and not saved and phase is None
        plans = Step.PLAN in steps and not saved and phase in (None, Phase.PULLED)
        processes = processes_setting(self.config.run.plan_processes)
        # Planning processes import sfrenew while the pull waits on Salesforce.
        ahead = processes - 1 if pulls and plans else 0
        with Standby(ahead) if ahead > 0 else nullcontext() as standby:
            if pulls:
                self._pull(gateway, run_id)
            if self._stopping():
                return
            if plans:
                self._plan(gateway, run_id, in_processes(processes, self.config.store_url,
                                                         standby))
        if self._stopping():
            return
        if Step.APPLY in steps and not self.request.dry_run and (
                saved or self.checkpoint.phase in (Phase.PLANNED, Phase.APPLYING)):
            self._apply(gateway, run_id)

    def _pull(self, gateway: GatewayPort, run_id: str) -> None:
        upper = self.checkpoint.upper
        if upper is None:
            # SOQL datetimes have whole seconds: the bound is the next whole second, and
            # the pull waits for it, so everything changed before it is read now and
            # everything after (this run's own writes included) by the next run.
            now = self.clock()
            upper = now.replace(microsecond=0) + timedelta(seconds=1)
            time.sleep((upper - now).total_seconds())
        self.checkpoint = replace(self.checkpoint, upper=upper)
        self.progress.start("pull", None)
        result = pull(gateway=gateway, store=self.store, mapping=self.config.mapping,
                      upper=upper, overlap=timedelta(seconds=self.config.run.pull_overlap_seconds),
                      run_id=run_id, stop=self.stop, progress=self.progress,
                      skip=[*self.checkpoint.pulled_objects, *self._not_needed()])
        self.progress.finish("pull")
        self.stats = self.stats.merged(RunStats(pulled=result.pulled))
        pulled = tuple(sorted({*self.checkpoint.pulled_objects, *result.deleted}))
        if result.stopped:
            self.stopped = True
            self._move(run_id, pulled_objects=pulled)
        else:
            self._move(run_id, pulled_objects=pulled, phase=Phase.PULLED)
        self.log.info(RUN_STEP_DONE, step="pull", pulled=result.pulled)

    def _not_needed(self) -> frozenset[str]:
        """Objects this run neither pulls nor describes: the analytics rows' objects, unless
        the run writes the analytics (their watermark waits for the analytics job)."""
        if plans_analytics(frozenset(RuleSet(name) for name in self.request.rules)):
            return frozenset()
        return analytics_objects(self.config.mapping)

    def _shapes(self, gateway: GatewayPort) -> dict[tuple[str, str], FieldShape]:
        """The field types of every mapped object: how values are written (scale,
        length) and how rates are read and written (percent fields hold 5 for 5%).
        The pull described these objects already: the gateway's cache answers."""
        shapes: dict[tuple[str, str], FieldShape] = {}
        mapping = self.config.mapping
        # Users and price book entries carry no rate to shape and are never written: a
        # resumed run need not describe them.
        objects = {*written_objects(mapping).values(),
                   *(s.object for s in mapping.mapped() if s.concept not in UNGROUPED)}
        objects -= self._not_needed()
        for sobject in sorted(objects):
            shapes.update(shapes_from_describe(sobject, gateway.describe(sobject)))
        return shapes

    def _plan(self, gateway: GatewayPort, run_id: str, split: SplitPlan | None) -> None:
        now = self.clock()
        path = plan_path(self.config, run_id)
        header = PlanHeader(run_id=run_id, created_at=now.isoformat(),
                            fingerprint=self.config.fingerprint, today=now.date().isoformat())
        r = self.request
        progress = self.checkpoint.plan_progress  # a run stopped while planning
        if progress is not None and not path.with_name(path.name + ".part").exists():
            progress = None  # resumed on another machine: plan its accounts again
        scope = PlanScope(accounts=frozenset(r.accounts), contract_end_from=r.contract_end_from,
                          contract_end_to=r.contract_end_to,
                          after_account=progress.after if progress else None,
                          rules=frozenset(RuleSet(name) for name in r.rules))
        self.progress.start("plan", len(r.accounts) if r.accounts
                            else self.store.count_groups(plan_objects(self.config.mapping)))
        shapes = self._shapes(gateway)
        analytics: Callable[[], AccountPlan] | None = None
        if plans_analytics(scope.rules):  # metric rows, the week's snapshot, outcomes
            analytics = AnalyticsPlanner(
                store=self.store, mapping=self.config.mapping,
                options=analytics_options(self.config), today=now.date(), shapes=shapes,
                ownership=ownership_lookup(self.config.mapping)).plan_line
        totals = build_plan(store=self.store, mapping=self.config.mapping,
                            policy=effective_policy(self.config, r), today=now.date(),
                            shapes=shapes, header=header, path=path, scope=scope,
                            stop=self.stop, advance=lambda n: self.progress.advance("plan", n),
                            resume=replace(progress.totals) if progress else None,
                            full_pass=r.full_plan or self.config.run.full_plan,
                            analytics=analytics, split=split)
        self.progress.finish("plan")
        summary = PlanSummary(counts=totals.counts, accounts=totals.accounts,
                              kept_edits=totals.kept_edits,
                              skipped_contracts=totals.skipped_by_reason,
                              problems=totals.problems, routing=totals.routing,
                              lapsed=totals.lapsed,
                              lapsed_renewals=tuple(totals.lapsed_renewals),
                              dirty=totals.dirty, dirty_records=tuple(totals.dirty_records))
        if totals.stopped:  # resumed after the last account planned
            self.stopped = True
            self._move(run_id, plan=summary, plan_progress=PlanProgress(
                after=totals.last_account, totals=replace(totals)))
        else:
            if Step.APPLY in r.steps and not r.dry_run:  # a resume anywhere applies it
                self.store.keep_plan_file(run_id, path)  # (PostgreSQL; no-op on SQLite)
            self._move(run_id, plan=summary, plan_progress=None, phase=Phase.PLANNED,
                       plan_file=str(path))
        self.log.info(RUN_STEP_DONE, step="plan", accounts=totals.accounts, counts=totals.counts,
                      kept_edits=totals.kept_edits, routing=totals.routing,
                      lapsed=totals.lapsed, replayed=totals.replayed,
                      full_pass=totals.full_pass)

    def _apply(self, gateway: GatewayPort, run_id: str) -> None:
        saved = self.request.plan_file
        plan_file = self.checkpoint.plan_file
        if saved is not None:
            path = saved
        elif plan_file is not None:
            path = Path(plan_file)
            local = plan_path(self.config, run_id)
            if not path.exists() and self.store.restore_plan_file(run_id, local):
                path, plan_file = local, str(local)  # planned on another machine
        else:  # _steps applies only a saved plan or one this run planned
            raise RuntimeError(f"run {run_id} has no plan to apply")
        header = read_header(path)
        if saved is not None:
            # A saved plan may be older than the plan states: its writes move the ledger
            # under them, so the next plan is a full pass.
            self.store.set_plan_meta(None)
        if header.fingerprint != self.config.fingerprint:
            self.log.warning(PLAN_FINGERPRINT_DIFFERS, plan=str(path),
                             plan_fingerprint=header.fingerprint)
        resumed = self.checkpoint.phase is Phase.APPLYING
        done = frozenset(
            (e.object, e.key) for e in self.store.ledger_entries(run_id)
            if e.status is WriteStatus.SUCCEEDED
            or (e.status is WriteStatus.FAILED and e.error_code != NOT_SENT)) \
            if resumed else frozenset()
        self._move(run_id, phase=Phase.APPLYING, plan_file=plan_file or str(path))
        writes = sum(n for per in header.counts.values() for k, n in per.items()
                     if k != "leave")
        self.progress.start("apply", writes)
        chunk = self.config.run.write_chunk_size
        bulk_from = gateway.thresholds.write_bulk_rows
        bulk = frozenset(obj for obj, per in header.counts.items()
                         if sum(n for k, n in per.items() if k != "leave") >= bulk_from)
        options = ApplyOptions(chunk_size=chunk, batch_rows=BATCH_CHUNKS * chunk,
                               bulk_objects=bulk, saved_plan=saved is not None or resumed,
                               done=done)
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
        self._move(run_id, phase=Phase.APPLIED)
        self.log.info(RUN_STEP_DONE, step="apply", chunks=self.apply_totals.chunks,
                      rejected=len(self.apply_totals.rejected),
                      stale=len(self.apply_totals.stale))

    # --- the end ---------------------------------------------------------------------

    def _finish(self, run_id: str, gateway: GatewayPort | None, status: RunStatus, message: str,
                started: float) -> RunOutcome:
        calls = gateway.calls.as_dict() if gateway is not None else {}
        self.stats = self.stats.merged(RunStats(api_calls=calls))
        totals = self.apply_totals
        before = self.checkpoint.summary
        self.checkpoint = replace(self.checkpoint, summary=RunSummary(
            rejected=len(totals.rejected) + (before.rejected if before else 0),
            stale=tuple(tuple(s) for s in totals.stale), message=message))
        self._save(run_id)
        error = None if status is RunStatus.SUCCEEDED else message
        if status in (RunStatus.SUCCEEDED, RunStatus.FAILED):  # nothing will resume it
            self.store.drop_plan_file(run_id, superseded_in=self.request.job
                                      if status is RunStatus.SUCCEEDED else None)
        self.store.finish_run(run_id, status=status, now=self.clock(), stats=self.stats,
                              error=error)
        duration = time.monotonic() - started
        saved = self.checkpoint.to_json()
        stats = {**self.stats.to_json(), "plan": saved.get("plan", {}),
                 "summary": saved["summary"], "plan_file": self.checkpoint.plan_file}
        all_calls = dict(self.stats.api_calls)
        # A failed run is an error line, a stopped or interrupted one a warning.
        self.log.log(outcome_level(status.value), RUN_FINISHED, status=status.value,
                     pulled=dict(self.stats.pulled), written=stats["written"],
                     api_calls=all_calls, api_calls_total=sum(all_calls.values()),
                     duration_s=round(duration, 3), lapsed=stats["plan"].get("lapsed", 0),
                     dirty=stats["plan"].get("dirty", 0), message=message)
        return RunOutcome(run_id=run_id, status=status.value, stats=stats, api_calls=all_calls,
                          duration_s=duration, message=message)
