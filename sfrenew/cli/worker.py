"""``sfrenew worker`` and ``sfrenew queue``: the PostgreSQL job queue (scale-out).

``sfrenew worker --config acme.yaml --config globex.yaml`` runs queued jobs of those
orgs until SIGTERM; ``sfrenew queue backfill`` puts a chunked backfill on the queue;
``sfrenew queue status`` shows a backfill's chunks and the queue's jobs.
docs/operations.md, "Scaling out", tells the whole story.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import click
import structlog

from sfrenew.cli._ops_common import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    EXIT_CONFIG,
    fail,
    json_option,
    open_jobs,
)
from sfrenew.clock import utc_now
from sfrenew.daemon import DAEMON_STOPPED, known_secrets, stop_on_signals
from sfrenew.logs import configure
from sfrenew.queue import Deployment, TaskHost, backfill_pull_task, load_deployment
from sfrenew.queue.leader import Leader
from sfrenew.store.queue import Backfill, open_queue
from sfrenew.yamlsource import YamlSourceError

log = structlog.get_logger(__name__)

WORKER_STARTED = "worker_started"
WORKER_STOPPED = "worker_stopped"

configs_option = click.option(
    "--config", "config_paths", multiple=True, type=click.Path(dir_okay=False),
    help=f"An org's config file; repeat for each org of the deployment (default "
         f"${CONFIG_ENV} or {DEFAULT_CONFIG}).")


def open_deployment(paths: tuple[str, ...]) -> Deployment:
    """Load and check every org's config; exit 2 listing every mistake."""
    configure()
    chosen = paths or (os.environ.get(CONFIG_ENV, DEFAULT_CONFIG),)
    try:
        deployment = load_deployment([Path(p) for p in chosen])
    except YamlSourceError as exc:
        fail(f"the deployment has mistakes (nothing was started):\n{exc}", EXIT_CONFIG)
    configure(secrets={s for org in deployment.orgs.values()
                       for s in known_secrets(org.config)})
    return deployment


def worker_name() -> str:
    """host:pid, as procrastinate's worker name and in log lines."""
    return f"{socket.gethostname()}:{os.getpid()}"


@click.command("worker")
@configs_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs this process runs at once (scale out with more processes).")
def worker(*, config_paths: tuple[str, ...], concurrency: int) -> None:
    """Run queued jobs of the deployment's orgs until SIGTERM or Ctrl-C (PostgreSQL); the
    job in flight checkpoints and goes back to the queue for another worker."""
    from sfrenew.queue import _procrastinate  # noqa: PLC0415 (procrastinate only here)

    deployment = open_deployment(config_paths)
    settings = deployment.queue_settings
    stop = threading.Event()
    with open_queue(deployment.queue_url) as queue:
        host = TaskHost(deployment, queue, clock=utc_now, stop=stop)
        log.info(WORKER_STARTED, worker=worker_name(), orgs=sorted(deployment.orgs),
                 concurrency=concurrency)
        _procrastinate.run_worker(queue.conninfo, host, name=worker_name(), stop=stop,
                                  concurrency=concurrency,
                                  heartbeat_s=settings.heartbeat_seconds,
                                  stalled_after_s=settings.stalled_after_seconds)
        log.info(WORKER_STOPPED, worker=worker_name())


def lead(config_paths: tuple[str, ...], *, jobs_dir: Path | None) -> None:
    """``sfrenew run`` on PostgreSQL: lead (defer fires, retry stalled jobs) or stand by,
    until SIGTERM or Ctrl-C. ``jobs_dir`` replaces the org's ``queue.jobs_dir`` (one org)."""
    from sfrenew.queue import _procrastinate  # noqa: PLC0415 (procrastinate only here)

    deployment = open_deployment(config_paths)
    if jobs_dir is not None:
        if len(deployment.orgs) > 1:
            fail("--jobs-dir names one org's jobs: with several orgs, set queue.jobs_dir in "
                 "each config", EXIT_CONFIG)
        deployment = deployment.with_jobs(next(iter(deployment.orgs)),
                                          tuple(open_jobs(jobs_dir)))
    stalled_after = deployment.queue_settings.stalled_after_seconds
    stop = threading.Event()
    with stop_on_signals(stop), open_queue(deployment.queue_url) as queue:
        conninfo = queue.conninfo
        Leader(deployment, queue, clock=utc_now, stop=stop,
               retry_stalled=lambda: _procrastinate.retry_stalled(
                   conninfo, stalled_after_s=stalled_after)).serve()
    log.info(DAEMON_STOPPED)


@click.group("queue")
def queue() -> None:
    """The PostgreSQL job queue: chunked backfills and what is queued."""


@queue.command("backfill")
@configs_option
@click.option("--org", default=None, help="The org (needed when several configs are given).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="First contract end date of the window (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="Last contract end date of the window (inclusive).")
@click.option("--dry-run", is_flag=True, help="Plan only: write nothing to Salesforce.")
@click.option("--max-api-calls", type=click.IntRange(1), default=None,
              help="The whole backfill's API budget, shared by all its chunks.")
@json_option
def queue_backfill(*, config_paths: tuple[str, ...], org: str | None, start: Any, end: Any,
                   dry_run: bool, max_api_calls: int | None, as_json: bool) -> None:
    """Queue a backfill split into account-range chunks that workers run side by side."""
    deployment = open_deployment(config_paths)
    if org is None:
        if len(deployment.orgs) > 1:
            fail(f"give --org: this deployment serves {', '.join(sorted(deployment.orgs))}",
                 EXIT_CONFIG)
        org = next(iter(deployment.orgs))
    try:
        deployment.org(org)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_CONFIG)
    first, last = start.date(), end.date()
    if last < first:
        fail(f"--to {last} is before --from {first}", EXIT_CONFIG)
    now = utc_now()
    backfill_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    # The window decides what is renewed: the eligibility horizon must reach its end.
    horizon = max((last - now.date()).days, 0)
    with open_queue(deployment.queue_url) as store:
        store.add_backfill(Backfill(backfill_id=backfill_id, org=org, contract_end_from=first,
                                    contract_end_to=last, horizon_days=horizon,
                                    dry_run=dry_run, max_api_calls=max_api_calls,
                                    calls_used=0, chunks_total=None),
                           now=now, job=backfill_pull_task(org, backfill_id))
    if as_json:
        click.echo(json.dumps({"backfill_id": backfill_id, "org": org}))
    else:
        click.echo(f"backfill {backfill_id} of org {org} queued ({first} → {last}); follow it "
                   f"with: sfrenew queue status --backfill {backfill_id}")


@queue.command("status")
@configs_option
@click.option("--backfill", "backfill_id", default=None, help="Show this backfill's chunks.")
@json_option
def queue_status(config_paths: tuple[str, ...], backfill_id: str | None,
                 as_json: bool) -> None:
    """Jobs on the queue by status, and a backfill's progress."""
    from sfrenew.queue import _procrastinate  # noqa: PLC0415 (procrastinate only here)

    deployment = open_deployment(config_paths)
    report: dict[str, Any] = {}
    with open_queue(deployment.queue_url) as store:
        report["jobs"] = _procrastinate.job_counts(store.conninfo)
        if backfill_id is not None:
            backfill = store.get_backfill(backfill_id)
            if backfill is None:
                fail(f"no backfill {backfill_id} on the queue", EXIT_CONFIG)
            report["backfill"] = {"backfill_id": backfill_id, "org": backfill.org,
                                  "chunks_total": backfill.chunks_total,
                                  "chunks_done": backfill.chunks_done,
                                  "calls_used": backfill.calls_used,
                                  "max_api_calls": backfill.max_api_calls,
                                  "chunks": {str(k): v for k, v in
                                             sorted(backfill.chunk_status.items())}}
    if as_json:
        click.echo(json.dumps(report, default=_jsonable))
        return
    click.echo("jobs: " + (", ".join(f"{k} {v}" for k, v in sorted(report["jobs"].items()))
                           or "none"))
    if "backfill" in report:
        b = report["backfill"]
        click.echo(f"backfill {backfill_id}: {b['chunks_done']}/{b['chunks_total'] or '?'} "
                   f"chunks done, {b['calls_used']:,} API calls")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)
