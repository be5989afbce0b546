"""The job queue in ``sfrenew status``: what the queue holds for the config's org.

Shown only for a config with a ``queue:`` section whose queue is PostgreSQL; on SQLite,
or without the section, ``sfrenew status`` is unchanged. Read-only: nothing is created,
and a queue that cannot be read is reported (``error``) without failing the status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfrenew.cli._ops_common import when
from sfrenew.config import AppConfig
from sfrenew.queue.deployment import queue_url
from sfrenew.queue.leader import LEADER_LOCK
from sfrenew.queue.tasks import QUEUE
from sfrenew.store import StoreConfigurationError, StoreMissing, StoreUnavailable
from sfrenew.store.queue import open_queue
from sfrenew.store.queue_status import WATCHED


def has_queue(config: AppConfig) -> bool:
    """Whether the config has a ``queue:`` section on a PostgreSQL queue."""
    return bool(config.queue.model_fields_set) and queue_url(config).startswith("postgresql")


def queue_report(config: AppConfig) -> dict[str, Any] | None:
    """The ``queue`` part of the status report, or None when the config has no queue."""
    if not has_queue(config):
        return None
    org = config.queue.org
    try:
        with open_queue(queue_url(config), create=False) as queue:
            state = queue.org_status(org, queue=QUEUE, leader_lock=LEADER_LOCK,
                                     stalled_after_s=config.queue.stalled_after_seconds)
    except StoreMissing:
        return {"org": org, "error": "no queue yet (no worker or scheduler has started)"}
    except (StoreUnavailable, StoreConfigurationError) as exc:
        return {"org": org, "error": str(exc)}
    totals = {status: sum(per.get(status, 0) for per in state.jobs.values())
              for status in WATCHED}
    return {"org": org, "jobs": state.jobs, "jobs_total": totals,
            "workers": [dataclasses.asdict(w) for w in state.workers],
            "workers_alive": sum(1 for w in state.workers if w.alive),
            "leader": dataclasses.asdict(state.leader),
            "backfills": [{**dataclasses.asdict(b), "chunks_done": b.chunks_done}
                          for b in state.backfills]}


def print_queue(console: Console, report: Mapping[str, Any] | None) -> None:
    """The queue's lines of ``sfrenew status``."""
    if report is None:
        return
    if "error" in report:
        console.print(f"queue (org {report['org']}): cannot be read: {escape(report['error'])}")
        return
    jobs = Table("task", *WATCHED, title=f"queue (org {report['org']})")
    for task, per in sorted(report["jobs"].items()):
        jobs.add_row(task, *(str(per.get(status, 0)) for status in WATCHED))
    if report["jobs"]:
        console.print(jobs)
    else:
        console.print(f"queue (org {report['org']}): no job to do, running or failed")
    workers = report["workers"]
    alive = [w for w in workers if w["alive"]]
    ages = ", ".join(f"#{w['worker_id']} {w['heartbeat_age_s']:.1f} s ago"
                     + (f" (running {w['running']} of this org's jobs)" if w["running"] else "")
                     for w in alive)
    console.print(f"workers: {len(alive)} alive" + (f" (last heartbeat: {ages})" if ages else "")
                  + (f"; {len(workers) - len(alive)} silent" if len(workers) > len(alive)
                     else ""))
    leader = report["leader"]
    if not leader["held"]:
        console.print("scheduler leader: none (no `sfrenew run` replica holds the lock)")
    else:
        console.print(f"scheduler leader: {escape(leader['replica'] or 'unknown replica')} "
                      f"(leading since {when(leader['since'])})")
    for b in report["backfills"]:
        total = "?" if b["chunks_total"] is None else b["chunks_total"]
        budget = "no cap" if b["max_api_calls"] is None else f"of {b['max_api_calls']:,}"
        console.print(f"backfill {b['backfill_id']}: {b['chunks_done']}/{total} chunks done, "
                      f"{b['calls_used']:,} API calls ({budget})")
