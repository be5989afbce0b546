"""``sfrenew jobs``, ``run`` (the daemon), ``backfill`` and ``status``: the operator's commands.

Results go to stdout (tables, or JSON with ``--json``); logs go to stderr, JSON when
stderr is not a terminal. Exit codes: see :mod:`sfrenew.cli._ops_common`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfrenew.cli._ops_common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    config_option,
    exit_code,
    fail,
    jobs_dir_option,
    json_option,
    jsonable,
    open_config,
    open_jobs,
    when,
)
from sfrenew.cli.backfill import backfill
from sfrenew.cli.queue_view import print_queue, queue_report
from sfrenew.cli.run import echo_lapsed
from sfrenew.clock import utc_now
from sfrenew.config import AppConfig
from sfrenew.daemon import outcome_fields, serve
from sfrenew.jobs import JobSpec, find_job
from sfrenew.locks import Busy
from sfrenew.logs import bound
from sfrenew.metrics import BIND_HOST
from sfrenew.progress import progress_for
from sfrenew.runner import OrgProblem, execute, remaining_allocation
from sfrenew.scheduler import next_fire_time
from sfrenew.store import Run, RunKind, StoreMissing, normalise_url, open_store

__all__ = ["backfill", "jobs", "run", "status"]


@click.group()
def jobs() -> None:
    """Scheduled jobs declared in jobs/*.yaml."""


def _last_runs(config: AppConfig, names: list[str]) -> dict[str, Run]:
    try:
        store = open_store(config.store_url, create=False)
    except StoreMissing:
        return {}
    with store:
        return {name: run for name in names if (run := store.last_run(name)) is not None}


def _job_row(spec: JobSpec, last: Run | None) -> dict[str, Any]:
    now = utc_now()
    if not spec.enabled:
        upcoming = None
    elif spec.trigger.interval is not None and last is not None:
        # The daemon catches up from the last run (see sfrenew.scheduler).
        upcoming = max(now, last.started_at
                       + timedelta(seconds=spec.trigger.interval.total_seconds()))
    else:
        upcoming = next_fire_time(spec.trigger, now=now)
    return {"name": spec.name, "enabled": spec.enabled, "trigger": spec.trigger.describe(),
            "steps": [s.value for s in spec.steps], "next_fire": upcoming,
            "last_run": None if last is None else {
                "run_id": last.run_id, "status": last.status.value,
                "started_at": last.started_at, "finished_at": last.finished_at,
                "error": last.error}}


@jobs.command("list")
@config_option
@jobs_dir_option
@json_option
def list_jobs(config_path: str, jobs_dir: Path, as_json: bool) -> None:
    """Each job: trigger, next fire time, last run and its outcome."""
    config = open_config(config_path)
    specs = open_jobs(jobs_dir)
    last = _last_runs(config, [s.name for s in specs])
    rows = [_job_row(spec, last.get(spec.name)) for spec in specs]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=jsonable))
        return
    table = Table("job", "trigger", "steps", "next fire", "last run", "outcome")
    for row in rows:
        previous = row["last_run"]
        table.add_row(row["name"] + ("" if row["enabled"] else " (disabled)"), row["trigger"],
                      ",".join(row["steps"]),
                      when(row["next_fire"]) if row["enabled"] else "-",
                      "-" if previous is None else
                      f"{previous['run_id']} {when(previous['started_at'])}",
                      "-" if previous is None else previous["status"])
    Console(width=160).print(table)


@jobs.command("check")
@jobs_dir_option
def check_jobs(jobs_dir: Path) -> None:
    """Validate every job file (exit 2 listing every mistake)."""
    specs = open_jobs(jobs_dir)
    click.echo(f"{len(specs)} jobs OK in {jobs_dir}: " + ", ".join(s.name for s in specs))


@jobs.command("run")
@click.argument("name")
@config_option
@jobs_dir_option
@click.option("--dry-run", is_flag=True, help="Plan and report; write nothing to Salesforce.")
@json_option
def run_job(*, name: str, config_path: str, jobs_dir: Path, dry_run: bool, as_json: bool) -> None:
    """Run one job now, once, in the foreground (disabled jobs too)."""
    config = open_config(config_path)
    spec = find_job(open_jobs(jobs_dir), name)
    if spec is None:
        fail(f"no job named {name!r} in {jobs_dir}", EXIT_CONFIG)
    try:
        with bound(job=name), progress_for(clock=time.monotonic) as progress:
            outcome = execute(config, spec.request(dry_run=dry_run), clock=utc_now,
                              progress=progress)
    except Busy as exc:
        fail(f"{exc}; wait for it to finish", EXIT_FAILED)
    fields = outcome_fields(outcome)
    if as_json:
        click.echo(json.dumps(fields, default=jsonable))
    else:
        click.echo(f"{name}: run {outcome.run_id} {outcome.status} in "
                   f"{outcome.duration_s:.1f}s, {fields['api_calls']} API calls, pulled "
                   f"{fields['pulled']}, created {fields['created']}, updated "
                   f"{fields['updated']}, rejected {fields['rejected']}: {outcome.message}")
        echo_lapsed(outcome.stats.get("plan") or {})
    raise SystemExit(exit_code(outcome.status, outcome.stats))


@click.command("run")
@config_option
@jobs_dir_option
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve Prometheus metrics on HOST:PORT/metrics.")
@click.option("--metrics-host", default=BIND_HOST, show_default=True,
              envvar="SFRENEW_METRICS_HOST",
              help="Address the metrics endpoint binds: 0.0.0.0 in a container whose port "
                   "is published or scraped from outside; keep 127.0.0.1 on a shared host.")
@click.option("--org-config", "org_configs", multiple=True, type=click.Path(dir_okay=False),
              help="PostgreSQL: another org of the deployment (its config file; repeat).")
@click.option("--in-process", is_flag=True,
              help="PostgreSQL: run jobs in this process as on SQLite, not on the job queue.")
@click.pass_context
def run(ctx: click.Context, *, config_path: str, jobs_dir: Path, metrics_port: int | None,
        metrics_host: str, org_configs: tuple[str, ...], in_process: bool) -> None:
    """Run the scheduler daemon until SIGTERM or Ctrl-C (the run in flight checkpoints).

    On a PostgreSQL store it is the scale-out scheduler: the replica holding the leader
    lock defers each fire to the job queue, and ``sfrenew worker`` runs them."""
    from sfrenew.daemon import stop_on_signals  # noqa: PLC0415 (signals only here)

    config = open_config(config_path)
    if normalise_url(config.store_url).startswith("postgresql") and not in_process:
        from sfrenew.cli.worker import lead  # noqa: PLC0415 (the queue only on PostgreSQL)

        given = ctx.get_parameter_source("jobs_dir") is not click.core.ParameterSource.DEFAULT
        lead((config_path, *org_configs), jobs_dir=jobs_dir if given else None)
        return
    specs = open_jobs(jobs_dir)
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            serve(config, specs, executor=execute, clock=utc_now, stop=stop,
                  metrics_port=metrics_port, metrics_host=metrics_host,
                  allocation=lambda: remaining_allocation(config).get("remaining"))
    except Busy as exc:
        fail(f"sfrenew is already running on this state: {exc}", EXIT_FAILED)


def lapsed_of_last_plan(runs: Sequence[Run]) -> dict[str, Any] | None:
    """The lapsed renewals of the newest run that planned the whole book, or None.

    A backfill or an ``--accounts`` run plans part of it, so its list is not the desk's.
    """
    for run in runs:  # newest first
        plan = (run.checkpoint or {}).get("plan") or {}
        if (run.kind is RunKind.RUN and "lapsed" in plan and not run.params.get("accounts")
                and not run.params.get("contract_end_from")):
            return {"run_id": run.run_id, "planned_at": run.started_at,
                    "count": plan["lapsed"], "renewals": plan.get("lapsed_renewals", [])}
    return None


def _status(config: AppConfig, jobs_dir: Path, *, org: bool) -> dict[str, Any]:
    names: list[str] = []
    try:
        from sfrenew.jobs import load_jobs  # noqa: PLC0415 (status works without jobs)

        names = [s.name for s in load_jobs(jobs_dir)]
    except Exception:  # noqa: S110 (a bad job file must not hide the status)
        pass
    report: dict[str, Any] = {"store": None, "watermarks": {}, "last_runs": {},
                              "dead_letters": {}, "lapsed": None}
    try:
        store = open_store(config.store_url, create=False)
    except StoreMissing:
        report["store"] = "empty (no run yet)"
    else:
        with store:
            report["store"] = store.url
            report["watermarks"] = store.watermarks()
            seen = {r.job for r in store.list_runs(200)}
            for name in sorted(set(names) | seen):
                last = store.last_run(name)
                report["last_runs"][name] = None if last is None else {
                    "run_id": last.run_id, "kind": last.kind.value, "status": last.status.value,
                    "started_at": last.started_at, "finished_at": last.finished_at,
                    "error": last.error}
            report["dead_letters"] = store.dead_letter_counts_by_code()
            report["lapsed"] = lapsed_of_last_plan(store.list_runs(200))
    queue = queue_report(config)  # only with a queue: section (PostgreSQL)
    if queue is not None:
        report["queue"] = queue
    report["api_allocation"] = remaining_allocation(config) if org else {"skipped": True}
    return report


def _print_status(report: Mapping[str, Any]) -> None:
    console = Console(width=160)
    console.print(f"state store: {report['store']}")
    marks = Table("object", "pulled up to (SystemModstamp)", title="watermarks")
    for obj, mark in sorted(report["watermarks"].items()):
        marks.add_row(obj, when(mark))
    console.print(marks if report["watermarks"] else "watermarks: none (never pulled)")
    runs = Table("job", "last run", "kind", "started", "finished", "outcome", title="last runs")
    for name, last in report["last_runs"].items():
        if last is None:
            runs.add_row(name, "-", "-", "-", "-", "never ran")
        else:
            runs.add_row(name, last["run_id"], last["kind"], when(last["started_at"]),
                         when(last["finished_at"]), last["status"])
    console.print(runs)
    letters = report["dead_letters"]
    console.print("dead letters: " + (", ".join(f"{code} {n}" for code, n in
                                                 sorted(letters.items())) or "none"))
    _print_lapsed(console, report.get("lapsed"))
    print_queue(console, report.get("queue"))
    api = report["api_allocation"]
    if api.get("skipped"):
        console.print("daily API allocation: not checked (--no-org)")
    elif api["reachable"]:
        console.print(f"daily API allocation: {api['remaining']:,} of {api['max']:,} remaining")
    else:
        # The sentence may hold an exception's text: shown as written, never read as markup.
        console.print(f"org: cannot be used: {escape(api['error'])}")


def _print_lapsed(console: Console, lapsed: Mapping[str, Any] | None) -> None:
    if lapsed is None:
        console.print("lapsed renewals: unknown (no run has planned the whole book yet)")
        return
    if not lapsed["count"]:
        console.print(f"lapsed renewals: none (run {lapsed['run_id']})")
        return
    table = Table("opportunity", "renewal", "contract ended", "days overdue",
                  title=f"lapsed renewals: {lapsed['count']} (contract ended, unsigned; "
                        f"run {lapsed['run_id']}, {when(lapsed['planned_at'])})")
    for entry in sorted(lapsed["renewals"], key=lambda e: (-int(e["days_overdue"]), e["key"])):
        table.add_row(entry["opportunity_id"] or "(new)", escape(entry["name"]),
                      entry["contract_end"], str(entry["days_overdue"]))
    console.print(table)


@click.command("status")
@config_option
@jobs_dir_option
@click.option("--no-org", is_flag=True, help="Do not call the org (no /limits call).")
@json_option
def status(config_path: str, jobs_dir: Path, no_org: bool, as_json: bool) -> None:
    """Watermarks, last run per job, dead letters by code, remaining daily API calls."""
    config = open_config(config_path)
    report = _status(config, jobs_dir, org=not no_org)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=jsonable))
    else:
        _print_status(report)
    code = status_exit_code(report["api_allocation"])
    if code != EXIT_OK:
        raise SystemExit(code)


def status_exit_code(api: Mapping[str, Any]) -> int:
    """0 when the org answered (or was not asked), 2 when the config is at fault, else 1."""
    if api.get("skipped") or api.get("reachable"):
        return EXIT_OK
    return EXIT_CONFIG if api.get("problem") == OrgProblem.CONFIGURATION else EXIT_FAILED
