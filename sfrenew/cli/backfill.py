"""``sfrenew backfill``: plan and apply renewals for contracts ending in a window.

A first install, or a rules change, needs renewals for a window of contract end
dates now rather than as the nightly horizon reaches them. The backfill is one run
(kind ``backfill``) over that window: it pulls, plans and applies in chunks, with
progress bars on a terminal and ``progress`` log lines elsewhere. Stopped at its API
cap, at the org's daily allocation, by Ctrl-C/SIGTERM, or killed outright, it is
continued with ``--resume RUN_ID``; what it already wrote is not written again.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from datetime import date
from typing import Any

import click

from sfrenew.cli._ops_common import (
    DEFAULT_CONFIG,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_RESUMABLE,
    config_option,
    exit_code,
    fail,
    json_option,
    jsonable,
    open_config,
)
from sfrenew.cli.run import echo_lapsed
from sfrenew.clock import utc_now
from sfrenew.config import AppConfig
from sfrenew.daemon import outcome_fields, stop_on_signals
from sfrenew.locks import Busy
from sfrenew.logs import bound
from sfrenew.progress import progress_for
from sfrenew.runner import (
    CheckpointVersionError,
    NotResumable,
    RunOutcome,
    RunRequest,
    Step,
    execute,
)
from sfrenew.store import RunKind, StoreError, StoreMissing, open_store

BACKFILL_JOB = "backfill"
STEPS = (Step.PULL, Step.PLAN, Step.APPLY)


def _accounts(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--accounts A,B --accounts C`` → (A, B, C)."""
    return tuple(dict.fromkeys(a.strip() for v in values for a in v.split(",") if a.strip()))


def resume_command(*, config_path: str, request: RunRequest, run_id: str) -> str:
    """The exact command that continues this backfill."""
    args = ["sfrenew", "backfill"]
    if config_path != DEFAULT_CONFIG:
        args += ["--config", config_path]
    if request.contract_end_from is not None:
        args += ["--from", request.contract_end_from.isoformat()]
    if request.contract_end_to is not None:
        args += ["--to", request.contract_end_to.isoformat()]
    if request.accounts:
        args += ["--accounts", ",".join(request.accounts)]
    if request.dry_run:
        args.append("--dry-run")
    if request.max_api_calls is not None:
        args += ["--max-api-calls", str(request.max_api_calls)]
    args += ["--resume", run_id]
    return shlex.join(args)


def _window_of(config: AppConfig, run_id: str) -> dict[str, Any]:
    """The saved parameters of the backfill being resumed (exit 2 if it is not one)."""
    try:
        with open_store(config.store_url, create=False) as store:
            run = store.get_run(run_id)
    except (StoreMissing, StoreError) as exc:
        fail(f"cannot resume {run_id}: {exc}", EXIT_CONFIG)
    if run.kind is not RunKind.BACKFILL:
        fail(f"{run_id} is a {run.kind.value} run, not a backfill", EXIT_CONFIG)
    return dict(run.params)


def build_request(config: AppConfig, *, start: date | None, end: date | None,
                  accounts: tuple[str, ...], dry_run: bool, max_api_calls: int | None,
                  resume: str | None) -> RunRequest:
    """The backfill's RunRequest; a resumed one takes its window from the saved run."""
    if resume is not None:
        saved = _window_of(config, resume)
        saved_from = date.fromisoformat(saved["contract_end_from"]) \
            if saved.get("contract_end_from") else None
        saved_to = date.fromisoformat(saved["contract_end_to"]) \
            if saved.get("contract_end_to") else None
        if (start and start != saved_from) or (end and end != saved_to):
            fail(f"{resume} backfills {saved_from} → {saved_to}; resume it with that window "
                 "(or leave --from/--to out)", EXIT_CONFIG)
        start, end = saved_from, saved_to
        accounts = accounts or tuple(saved.get("accounts") or ())
        dry_run = dry_run or bool(saved.get("dry_run"))
    if start is None or end is None:
        fail("give --from and --to (contract end dates, YYYY-MM-DD), or --resume RUN_ID",
             EXIT_CONFIG)
    if end < start:
        fail(f"--to {end} is before --from {start}", EXIT_CONFIG)
    # The window decides what is renewed: the eligibility horizon must reach its end.
    horizon = max((end - utc_now().date()).days, 0)
    return RunRequest(job=BACKFILL_JOB, steps=STEPS, dry_run=dry_run, accounts=accounts,
                      contract_end_from=start, contract_end_to=end, horizon_days=horizon,
                      max_api_calls=max_api_calls, resume_run_id=resume,
                      kind=RunKind.BACKFILL.value)


def _report(outcome: RunOutcome, *, request: RunRequest, config_path: str,
            as_json: bool) -> None:
    fields = outcome_fields(outcome)
    resumable = exit_code(outcome.status) == EXIT_RESUMABLE
    command = resume_command(config_path=config_path, request=request,
                             run_id=outcome.run_id) if resumable else None
    if as_json:
        click.echo(json.dumps({**fields, "resume_command": command}, default=jsonable))
        return
    plan = outcome.stats.get("plan") or {}
    click.echo(f"backfill {request.contract_end_from} → {request.contract_end_to}: run "
               f"{outcome.run_id} {outcome.status} in {outcome.duration_s:.1f}s")
    click.echo(f"  pulled {fields['pulled']:,} rows; planned {plan.get('accounts', 0):,} "
               f"accounts; created {fields['created']:,}, updated {fields['updated']:,}, "
               f"rejected {fields['rejected']:,}; {fields['api_calls']:,} API calls")
    click.echo(f"  {outcome.message}")
    echo_lapsed(plan)
    if command is not None:
        click.echo(f"to continue where it stopped:\n  {command}")


@click.command("backfill")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First contract end date of the window (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last contract end date of the window (inclusive).")
@click.option("--accounts", multiple=True,
              help="Only these Account Ids (comma-separated or repeated).")
@click.option("--dry-run", is_flag=True, help="Plan only: write nothing to Salesforce.")
@click.option("--max-api-calls", type=click.IntRange(1), default=None,
              help="Stop (resumable) before spending more API calls than this.")
@click.option("--resume", default=None, metavar="RUN_ID",
              help="Continue a stopped, interrupted or killed backfill.")
@config_option
@json_option
def backfill(*, start: Any, end: Any, accounts: tuple[str, ...], dry_run: bool,
             max_api_calls: int | None, resume: str | None, config_path: str,
             as_json: bool) -> None:
    """Plan and apply renewals for contracts ending between --from and --to."""
    config = open_config(config_path)
    request = build_request(config, start=start.date() if start else None,
                            end=end.date() if end else None, accounts=_accounts(accounts),
                            dry_run=dry_run, max_api_calls=max_api_calls, resume=resume)
    stop = threading.Event()
    try:
        with stop_on_signals(stop), bound(job=BACKFILL_JOB), \
                progress_for(clock=time.monotonic) as progress:
            outcome = execute(config, request, clock=utc_now, stop=stop, progress=progress)
    except Busy as exc:
        fail(f"{exc}: a daemon job or another backfill is running; try again when it ends",
             EXIT_FAILED)
    except (CheckpointVersionError, NotResumable) as exc:
        fail(str(exc), EXIT_CONFIG)
    _report(outcome, request=request, config_path=config_path, as_json=as_json)
    raise SystemExit(exit_code(outcome.status, outcome.stats))
