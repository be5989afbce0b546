"""The run's wiring: the store, the gateway, the locks, the effective rules.

Only the runner calls these; the steps receive what they build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sfrenew.config import AppConfig
from sfrenew.config.app import DEFAULT_ORG
from sfrenew.core.analytics import Grain
from sfrenew.core.policy import RulesPolicy
from sfrenew.locks import FileLock
from sfrenew.plan.analytics import AnalyticsOptions
from sfrenew.runner._request import RunRequest
from sfrenew.salesforce import (
    AuthError,
    BudgetExhausted,
    BudgetGuard,
    ConfigurationError,
    Gateway,
    SecretMissing,
    TransientError,
    Unreachable,
    connect,
)
from sfrenew.salesforce.config import ThresholdSettings
from sfrenew.salesforce.describes import DescribeCache, FileDescribeCache
from sfrenew.store import RunStatus, StateStore, StorePort

RUN_LOCK = "run.lock"  # in the state dir: one run per state at a time (SQLite state)
LOCK_NAME = "sfrenew-run"  # the store's advisory lock: one run per org at a time


def org_lock_name(config: AppConfig) -> str:
    """The store's advisory lock for one org's runs. PostgreSQL advisory locks are
    per database, so orgs whose stores are schemas of one database need distinct names
    (the default org keeps the historical name)."""
    org = config.queue.org
    return LOCK_NAME if org == DEFAULT_ORG else f"{LOCK_NAME}:{org}"


@contextmanager
def run_locks(config: AppConfig, store: StateStore,
              request: RunRequest | None = None) -> Iterator[None]:
    """Hold both run locks: the state dir's file lock (a second process on this state is
    refused, and a run found ``running`` in the store while we hold it is known to have
    crashed) and the store's advisory lock (another replica on a shared PostgreSQL
    store). :class:`sfrenew.locks.Busy` when either is taken.

    A backfill chunk (``request.chunk_lock``, PostgreSQL only) holds the org's lock
    shared and its own chunk lock, and no file lock: chunks run side by side."""
    if request is not None and request.chunk_lock is not None:
        with store.lock(org_lock_name(config), shared=True).hold(), \
                store.lock(request.chunk_lock).hold():
            yield
        return
    state_dir = config.state_dir
    file_lock = FileLock(state_dir / RUN_LOCK, purpose="an sfrenew run",
                         busy=f"another sfrenew run is using {state_dir}")
    with file_lock.hold(), store.lock(org_lock_name(config)).hold():
        yield


CRASHED = "found running after a crash"


def mark_crashed(store: StorePort, *, now: datetime, keep: str | None = None) -> list[str]:
    """Mark every run still ``running`` as ``interrupted`` (except ``keep``): the caller
    holds the run locks, so no live process is running them. Returns their ids."""
    found = [r.run_id for r in store.unfinished_runs()
             if r.status is RunStatus.RUNNING and r.run_id != keep]
    for run_id in found:
        store.finish_run(run_id, status=RunStatus.INTERRUPTED, now=now, error=CRASHED)
    return found


def effective_policy(config: AppConfig, request: RunRequest) -> RulesPolicy:
    """The rules with the run's horizon override (request first, then ``run:``)."""
    horizon = request.horizon_days if request.horizon_days is not None \
        else config.run.horizon_days
    if horizon is None:
        return config.rules
    return replace(config.rules, eligibility=replace(config.rules.eligibility,
                                                     horizon_days=horizon))


def analytics_options(config: AppConfig) -> AnalyticsOptions:
    """The ``analytics:`` settings with the rules they share (grace days, decimals)."""
    a = config.analytics
    return AnalyticsOptions(
        currency=a.currency, grain=Grain(a.grain), metric_months=a.metric_months,
        snapshot_weeks=a.snapshot_weeks, per_currency=a.per_currency,
        risk_levels=tuple(a.risk_levels), grace_days=config.rules.lapse.grace_days,
        decimals=dict(config.rules.currencies))


DESCRIBE_DIR = "describe"  # in the state dir: describes kept across runs


def describe_cache(config: AppConfig, *, now: datetime) -> FileDescribeCache:
    """Describes saved in the state dir, good for a day by the run clock and while the
    mapping and the org's settings (address, user, API version) stay the same."""
    key = hashlib.sha256(config.mapping.model_dump_json().encode() + b"\0"
                         + config.salesforce.model_dump_json().encode()).hexdigest()[:16]
    return FileDescribeCache(config.state_dir / DESCRIBE_DIR, key=key, now=now)


def open_gateway(config: AppConfig, *, max_api_calls: int | None = None,
                 shared_budget: Callable[[int], bool] | None = None,
                 describes: DescribeCache | None = None) -> Gateway:
    """The gateway with the run's budget (the smallest cap configured, and a budget
    shared with other runs when given) and thresholds, keeping describes in
    ``describes`` when given."""
    sf = config.salesforce
    caps = [c for c in (max_api_calls, config.run.max_api_calls, sf.budget.max_calls_per_run)
            if c is not None]
    guard = BudgetGuard(max_calls_per_run=min(caps) if caps else None,
                        reserve_calls=max(config.run.reserve_daily_calls, sf.budget.reserve_calls),
                        reserve_percent=sf.budget.reserve_percent, shared=shared_budget)
    thresholds = ThresholdSettings(
        read_bulk_rows=config.run.bulk_read_rows or sf.thresholds.read_bulk_rows,
        write_bulk_rows=config.run.bulk_write_rows or sf.thresholds.write_bulk_rows)
    return connect(sf.model_copy(update={"thresholds": thresholds}), budget=guard,
                   base_dir=config.base_dir, describe_cache=describes)


class OrgProblem(StrEnum):
    """Why the org cannot be used now (``sfrenew status``; docs/operations.md)."""

    ALLOCATION_SPENT = "allocation_spent"  # the daily API allocation (or its reserve)
    UNREACHABLE = "unreachable"  # DNS, refused, TLS: the address or the network
    UNAVAILABLE = "unavailable"  # Salesforce kept failing (503, resets, timeouts)
    CREDENTIALS = "credentials"  # login refused, token rejected, no permission
    SECRET_MISSING = "secret_missing"  # noqa: S105 (a reason, not a secret): env var unset
    CONFIGURATION = "configuration"  # the config names something unusable
    ERROR = "error"  # anything else (a bug): the exception as written


def org_problem(exc: BaseException) -> tuple[OrgProblem, str]:
    """What kept the org from answering, in plain words, typed for the exit code."""
    match exc:
        case BudgetExhausted():
            left = (f"{exc.daily_remaining:,} of {exc.daily_max:,} calls left"
                    if exc.daily_remaining is not None and exc.daily_max is not None
                    else "the org reports none left")
            if exc.reason != "daily allocation spent":  # the reserve kept for others
                return OrgProblem.ALLOCATION_SPENT, (
                    f"daily API allocation: {exc.reason} ({left}); sfrenew leaves the "
                    "reserve to other integrations")
            return OrgProblem.ALLOCATION_SPENT, (
                f"daily API allocation spent ({left}); the org refuses API calls until its "
                "24-hour window frees some")
        case Unreachable():
            return OrgProblem.UNREACHABLE, str(exc)
        case TransientError():
            return OrgProblem.UNAVAILABLE, f"Salesforce kept failing after retries ({exc})"
        case AuthError():
            return OrgProblem.CREDENTIALS, str(exc)
        case SecretMissing():
            return OrgProblem.SECRET_MISSING, (
                f"the secret is not set: environment variable {exc.variable} is empty or "
                f"unset ({exc.setting})")
        case ConfigurationError():
            return OrgProblem.CONFIGURATION, str(exc)
    return OrgProblem.ERROR, f"{type(exc).__name__}: {exc}"


def remaining_allocation(config: AppConfig) -> dict[str, Any]:
    """The org's daily API allocation from one ``/limits`` call, or why it is unknown:
    ``problem`` (an :class:`OrgProblem`) and ``error`` (one sentence)."""
    try:
        with connect(config.salesforce, base_dir=config.base_dir,
                     check_limits=False) as gateway:
            daily = gateway.limits().get("DailyApiRequests") or {}
    except Exception as exc:
        problem, sentence = org_problem(exc)
        return {"reachable": False, "problem": problem.value, "error": sentence}
    return {"reachable": True, "max": daily.get("Max"), "remaining": daily.get("Remaining")}
