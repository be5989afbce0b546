"""``sfrenew localorg serve`` options for the API allocation and fault injection.

Kept apart from ``localorg.py`` so the serve command reads as what it does; the
options turn into ``LocalOrg(daily_api_requests=..., licenses=..., faults=...)``
arguments. The same settings can be changed on a running org with
``POST /_localorg/faults`` and ``POST /_localorg/allocation``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sfrenew.localorg.faults import FaultConfig

F = TypeVar("F", bound=Callable[..., Any])

_RATE = click.FloatRange(0.0, 1.0)
_MS = click.FloatRange(0.0)

_OPTIONS: tuple[Callable[[Any], Any], ...] = (
    click.option("--daily-api-requests", type=click.IntRange(0), default=100_000,
                 show_default=True, help="Base daily API allocation (DailyApiRequests)."),
    click.option("--licenses", type=click.IntRange(0), default=0, show_default=True,
                 help="User licences; each adds 1,000 requests to the daily allocation."),
    click.option("--fault-seed", type=int, default=0, show_default=True,
                 help="Seed of every fault stream: same seed and calls, same faults."),
    click.option("--latency-ms", type=_MS, default=0.0, help="Latency added to every call."),
    click.option("--jitter-ms", type=_MS, default=0.0, help="Plus a random 0..N ms per call."),
    click.option("--bulk-job-ms", type=_MS, default=0.0,
                 help="Extra processing time of every Bulk job."),
    click.option("--unavailable-rate", type=_RATE, default=0.0,
                 help="Share of calls answered 503 SERVER_UNAVAILABLE."),
    click.option("--lock-row-rate", type=_RATE, default=0.0,
                 help="Share of written rows failing with UNABLE_TO_LOCK_ROW."),
    click.option("--query-timeout-rate", type=_RATE, default=0.0,
                 help="Share of query calls answered QUERY_TIMEOUT."),
    click.option("--max-long-running", type=click.IntRange(0), default=0,
                 help="Concurrent long-running requests allowed (0: no cap); beyond it "
                      "403 REQUEST_LIMIT_EXCEEDED."),
    click.option("--long-running-ms", type=_MS, default=0.0,
                 help="A request counts as long-running after this long."),
    click.option("--session-lifetime-s", type=click.FloatRange(0.001), default=None,
                 help="Lifetime of new sessions in seconds (default: 2 hours)."),
)


def org_options(command: F) -> F:
    """Decorate a command with every allocation and fault option."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def fault_config(options: dict[str, Any]) -> FaultConfig:
    """The ``FaultConfig`` the options describe."""
    from sfrenew.localorg.faults import FaultConfig  # noqa: PLC0415 (keeps --help fast)

    return FaultConfig(
        seed=options["fault_seed"], latency_ms=options["latency_ms"],
        jitter_ms=options["jitter_ms"], bulk_job_ms=options["bulk_job_ms"],
        server_unavailable_rate=options["unavailable_rate"],
        lock_row_rate=options["lock_row_rate"],
        query_timeout_rate=options["query_timeout_rate"],
        max_long_running=options["max_long_running"],
        long_running_ms=options["long_running_ms"],
        session_lifetime_s=options["session_lifetime_s"],
    )
