"""``sfrenew plan | apply | rollback | runs | demo``: the run from the command line.

(``sfrenew run`` is the scheduler daemon, issue 7; ``sfrenew apply`` without a plan file
is one run of pull → plan → apply.)

Results go to stdout (tables, or JSON with ``--json``/``--format json``); logs go to
stderr so a pipe stays parseable. A bad config is shown as ``file:line:col`` lines,
without a traceback, before anything is read or written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from sfrenew.cli._ops_common import (
    EXIT_CONFIG,
    EXIT_DIRTY,
    EXIT_FAILED,
    EXIT_OK,
    dirty_records,
    exit_code,
    fail,
)
from sfrenew.cli.plan_view import render_json, render_table
from sfrenew.clock import utc_now
from sfrenew.config import AppConfig, load_config
from sfrenew.locks import Busy
from sfrenew.logs import configure as configure_logs
from sfrenew.plan.model import PlanFileError
from sfrenew.runner import (
    CheckpointVersionError,
    NotResumable,
    RunOutcome,
    RunRequest,
    Step,
    execute,
    rollback_session,
)
from sfrenew.salesforce.config import Secret
from sfrenew.salesforce.errors import GatewayError
from sfrenew.store import (
    LedgerCounts,
    Run,
    RunStateError,
    RunStatus,
    StoreConfigurationError,
    StoreError,
    StoreUnavailable,
    UnknownRun,
    open_store,
)
from sfrenew.yamlsource import YamlSourceError

DEFAULT_CONFIG = "config.example.yaml"
ALL_STEPS = (Step.PULL, Step.PLAN, Step.APPLY, Step.REPORT)




def _logs_to_stderr(level: str = "INFO") -> None:
    # The shared set-up (sfrenew.logs): stderr, JSON off a terminal, secrets redacted.
    configure_logs(level=level)


@contextmanager
def _errors() -> Iterator[None]:
    """Show what the user can fix without a traceback, with the code of the one table
    (:mod:`sfrenew.cli._ops_common`): 2 for a mistake in the config, the arguments or
    the run asked for, 1 when the org or the state cannot be used now."""
    try:
        yield
    except YamlSourceError as exc:
        fail(f"the configuration has mistakes (nothing was run):\n{exc}", EXIT_CONFIG)
    except (StoreConfigurationError, StoreUnavailable):
        raise  # the command group says which setting, with its exit code (sfrenew.cli)
    except (CheckpointVersionError, NotResumable, PlanFileError, UnknownRun,
            RunStateError) as exc:
        fail(str(exc), EXIT_CONFIG)
    except Busy as exc:
        fail(f"{exc}; try again when it ends", EXIT_FAILED)
    except (GatewayError, StoreError) as exc:
        fail(str(exc), EXIT_FAILED)


def _console() -> Console:
    """Rich output; 120 columns when stdout is not a terminal (pipes, files, CI)."""
    return Console() if sys.stdout.isatty() else Console(width=120)


def _config(path: str, *, level: str = "INFO") -> AppConfig:
    _logs_to_stderr(level)
    config = load_config(Path(path))
    secrets = [s.reveal() for name in ("consumer_secret", "password", "security_token",
                                       "access_token")
               if (s := _secret(config, name)) is not None]
    configure_logs(level=level, secrets=secrets)
    return config


def _secret(config: AppConfig, name: str) -> Secret | None:
    try:
        return config.salesforce.secret(name, base_dir=config.base_dir)
    except GatewayError:
        return None  # not set: the gateway says so when it connects


config_option = click.option("--config", "config_path", default=DEFAULT_CONFIG,
                             show_default=True, type=click.Path(dir_okay=False),
                             envvar="SFRENEW_CONFIG", help="The config file (or $SFRENEW_CONFIG).")
# On a subcommand (``runs show RUN --config C``): the group's value unless given here.
sub_config_option = click.option("--config", "sub_config_path", default=None,
                                 type=click.Path(dir_okay=False),
                                 help="The config file (as before the subcommand).")


def _echo_outcome(outcome: RunOutcome, as_json: bool, *, resumable: bool = True) -> None:
    """Print the outcome, then exit by the one table (with ``--json`` too)."""
    code = exit_code(outcome.status, outcome.stats, resumable=resumable)
    if as_json:
        click.echo(json.dumps({"run_id": outcome.run_id, "status": outcome.status,
                               "message": outcome.message, "stats": outcome.stats,
                               "api_calls": outcome.api_calls, "exit_code": code,
                               "duration_s": round(outcome.duration_s, 3)}, default=str))
    else:
        click.echo(f"run {outcome.run_id}: {outcome.status} ({outcome.message}) in "
                   f"{outcome.duration_s:.1f}s, {sum(outcome.api_calls.values())} API calls")
        for obj, counts in sorted(outcome.stats.get("written", {}).items()):
            click.echo(f"  {obj}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        echo_lapsed(outcome.stats.get("plan") or {})
        echo_stale(outcome.stats.get("summary") or {})
        if code == EXIT_DIRTY:
            click.echo(f"  done, but {dirty_records(outcome.stats)} records were rejected or "
                       f"skipped as bad data: sfrenew runs show {outcome.run_id}")
    if code != EXIT_OK:
        raise SystemExit(code)


def echo_lapsed(plan: Mapping[str, Any]) -> None:
    """The run's lapsed renewals (past their start, unsigned), most overdue first."""
    count = int(plan.get("lapsed", 0))
    if count:
        click.echo(f"  lapsed renewals (contract ended, unsigned): {count}")
        for entry in sorted(plan.get("lapsed_renewals", ()),
                            key=lambda e: (-int(e["days_overdue"]), e["key"])):
            click.echo(f"    {entry['opportunity_id'] or 'new'} {entry['name']}: "
                       f"{entry['days_overdue']} days overdue (contract ended "
                       f"{entry['contract_end']})")
    echo_dirty(plan)


def echo_stale(summary: Mapping[str, Any]) -> None:
    """Records a saved plan wanted to change that someone changed since: named, not just
    counted (plan again to include them)."""
    stale = summary.get("stale") or ()
    if not stale:
        return
    click.echo(f"  skipped as stale (changed in Salesforce after the plan was made; plan "
               f"again to include them): {len(stale)}")
    for obj, key, *_ in stale:
        click.echo(f"    {obj} {key}")


def echo_dirty(plan: Mapping[str, Any]) -> None:
    """Records skipped for data a person must fix, by Id, with the reason and the fix."""
    count = int(plan.get("dirty", 0))
    if not count:
        return
    listed = plan.get("dirty_records", ())
    more = f" (the first {len(listed)} listed)" if len(listed) < count else ""
    click.echo(f"  records skipped for bad data (fix them in Salesforce): {count}{more}")
    for entry in listed:
        click.echo(f"    {entry['record_id']} {entry['reason']}: {entry['detail']}")


@click.command("plan")
@config_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the plan here (apply it later with `sfrenew apply FILE`).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="A table for people, or JSON (the same as --json).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole plan as one JSON document (as every command's --json).")
@click.option("--account", "accounts", multiple=True, help="Only this Account Id (repeat).")
@click.option("--full-plan", is_flag=True,
              help="Plan every account again, not only those whose records changed or whose "
                   "plan moves with the date (the plan is the same; see docs/rules.md).")
def plan(*, config_path: str, out: Path | None, fmt: str, as_json: bool,
         accounts: tuple[str, ...], full_plan: bool) -> None:
    """Pull and plan; show what a run would write (writes nothing to Salesforce)."""
    fmt = "json" if as_json else fmt
    with _errors():
        config = _config(config_path)
        outcome = execute(config, RunRequest(job="plan", steps=(Step.PULL, Step.PLAN),
                                             dry_run=True, accounts=accounts, kind="plan",
                                             full_plan=full_plan),
                          clock=utc_now)
        path = outcome.stats.get("plan_file")
        if outcome.status != "succeeded" or not path:
            _echo_outcome(outcome, fmt == "json", resumable=False)  # a plan is not resumed
            return
        if out is not None:
            out.write_bytes(Path(path).read_bytes())
        if fmt == "json":
            render_json(Path(path), sys.stdout)
        else:
            render_table(Path(path), _console())
            click.echo(f"plan saved: {out or path}")
    code = exit_code(outcome.status, outcome.stats, resumable=False)
    if code != EXIT_OK:  # 4: the plan skipped bad records (listed in it)
        raise SystemExit(code)


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path))
@config_option
@click.option("--resume", "resume", default=None, metavar="RUN_ID",
              help="Continue a stopped or crashed apply (not a plan; same config only).")
@click.option("--max-api-calls", type=click.IntRange(1), default=None,
              help="Stop this run (resumable, exit 3, with --resume) before it spends more "
                   "API calls than this; the smallest of this, run.max_api_calls and "
                   "salesforce.budget.max_calls_per_run applies.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the run's outcome as JSON (run id, status, message, counts, API "
                   "calls, exit code) on stdout.")
def apply(plan_file: Path | None, config_path: str, resume: str | None,
          max_api_calls: int | None, as_json: bool) -> None:
    """Apply exactly a saved plan, or pull, plan and apply in one go."""
    with _errors():
        config = _config(config_path)
        steps = (Step.APPLY, Step.REPORT) if plan_file is not None else ALL_STEPS
        request = RunRequest(job="apply", steps=steps, plan_file=plan_file, kind="apply",
                             resume_run_id=resume, max_api_calls=max_api_calls)
        outcome = execute(config, request, clock=utc_now)
    _echo_outcome(outcome, as_json)


@click.command("rollback")
@click.argument("run_id")
@config_option
@click.option("--dry-run", is_flag=True, help="Show what would be undone; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the rollback's items as JSON.")
def rollback(run_id: str, config_path: str, dry_run: bool, as_json: bool) -> None:
    """Undo a run: delete what it created, restore what it changed (not people's edits)."""
    with _errors():
        config = _config(config_path)
        own_id, report = rollback_session(config, run_id, dry_run=dry_run, clock=utc_now)
    items = [item.__dict__ for item in report.items]
    if as_json:
        click.echo(json.dumps({"rollback_run_id": own_id, "target_run_id": run_id,
                               "dry_run": dry_run, "items": items}, default=str))
        return
    verb = "would" if dry_run else "did"
    click.echo(f"rollback of {run_id} ({'dry run' if dry_run else own_id}): {verb} delete "
               f"{report.count('delete')}, restore {report.count('restore')}; left alone "
               f"{report.count('left_alone')} changed by people; {report.count('gone')} gone"
               f"; {report.later_runs} rewritten by later sfrenew runs (left as they wrote "
               f"them)")
    for item in report.items:
        if item.action == "left_alone" or (item.detail and item.action != "nothing"):
            click.echo(f"  {item.object} {item.sf_id}: {item.action} {', '.join(item.fields)}"
                       f" — {item.detail}")


def written_from_ledger(run: Run, ledger: Mapping[str, LedgerCounts]) -> dict[str, Any]:
    """Records written per object, counted from the ledger (every attempt of the run, a
    killed one too); ``skipped`` (stale records, never sent) from the run's stats."""
    skipped = {obj: c.skipped for obj, c in run.stats.written.items() if c.skipped}
    return {obj: {**ledger.get(obj, LedgerCounts()).to_json(), "skipped": skipped.get(obj, 0)}
            for obj in sorted({*ledger, *skipped})}


def _run_json(run: Run, ledger: Mapping[str, LedgerCounts]) -> dict[str, Any]:
    return {"run_id": run.run_id, "job": run.job, "kind": run.kind.value,
            "status": run.status.value, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "error": run.error, **run.stats.to_json(),
            "written": written_from_ledger(run, ledger),
            "plan": (run.checkpoint or {}).get("plan"),
            "summary": (run.checkpoint or {}).get("summary")}


@click.group("runs", invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="How many runs to list, newest first.")
@click.pass_context
def runs(ctx: click.Context, config_path: str, as_json: bool, limit: int) -> None:
    """The latest runs (newest first); `runs show RUN_ID` for one."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    with _errors():
        config = _config(config_path)
        with open_store(config.store_url) as store:
            found = store.list_runs(limit)
            ledger = store.written_counts(r.run_id for r in found)
    if as_json:
        click.echo(json.dumps([_run_json(r, ledger.get(r.run_id, {})) for r in found],
                              default=str))
        return
    table = Table(title="sfrenew runs")
    table.add_column("run", no_wrap=True)
    for col in ("job", "kind", "status", "started", "pulled", "written", "API calls"):
        table.add_column(col)
    for r in found:
        written = sum(c.written for c in ledger.get(r.run_id, {}).values())
        table.add_row(r.run_id, r.job, r.kind.value, r.status.value,
                      f"{r.started_at:%Y-%m-%d %H:%M:%S}", str(sum(r.stats.pulled.values())),
                      str(written), str(sum(r.stats.api_calls.values())))
    _console().print(table)


@runs.command("show")
@click.argument("run_id")
@sub_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.pass_obj
def show(config_path: str, run_id: str, sub_config_path: str | None, as_json: bool) -> None:
    """One run: job, times, status, rows pulled, records written per object, API calls."""
    config_path = sub_config_path or config_path
    with _errors():
        config = _config(config_path)
        with open_store(config.store_url) as store:
            found = store.get_run(run_id)
            ledger = store.written_counts([run_id]).get(run_id, {})
    data = _run_json(found, ledger)
    if as_json:
        click.echo(json.dumps(data, default=str))
        return
    click.echo(f"run {found.run_id} ({found.kind.value}, job {found.job}): {found.status.value}")
    click.echo(f"  started {data['started_at']}, finished {data['finished_at']}")
    if found.status is RunStatus.RUNNING:
        click.echo("  (running, or killed: the next run or rollback on this state marks a "
                   "killed run interrupted)")
    if found.error:
        click.echo(f"  {found.error}")
    for title, key in (("rows pulled", "pulled"), ("API calls", "api_calls")):
        click.echo(f"  {title}: " + ", ".join(f"{k} {v}" for k, v in data[key].items()))
    columns = ("created", "updated", "deleted", "skipped", "rejected", "unknown")
    table = Table(title="records written (from the ledger, every attempt of the run)")
    for col in ("object", *columns):
        table.add_column(col)
    for obj, c in data["written"].items():
        table.add_row(obj, *(str(c[k]) for k in columns))
    if data["written"]:
        _console().print(table)
    else:
        click.echo("  records written: none")
    if any(c["unknown"] for c in data["written"].values()):
        click.echo("  unknown: sent (or about to be) when the process died; the next run "
                   "looks them up in the org and records what happened")
    echo_dirty(data["plan"] or {})
    echo_stale(data["summary"] or {})


DEMO_SEED = 1


@click.command("demo")
@click.option("--contracts", type=click.IntRange(1), default=300, show_default=True)
@config_option
def demo(contracts: int, config_path: str) -> None:
    """Start a local org, seed a book, run pull → plan → apply once, show what it did."""
    with _errors():
        from sfrenew.cli.demo import (  # noqa: PLC0415
            demo_state_dir,
            example_config,
            run_demo,
        )

        found = example_config(Path(config_path), default=config_path == DEFAULT_CONFIG)
        config = _config(str(found), level="WARNING")  # the summary tells the story
        run_demo(config, contracts=contracts, seed=DEMO_SEED, clock=utc_now,
                 state_dir=demo_state_dir(config, found))
