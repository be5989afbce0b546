"""Helpers for the renewal-desk integration tests (no tests here): a seeded book on a
clock the test moves forward, the real backfill and nightly requests, reads by key.

The clock is the suite's pinned clock (``tests.clock.now``) plus an offset the test
advances between runs; the local org and every run read the same clock, so "today"
is the same for the org (``SystemModstamp``, ``TODAY``) and the rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sfrenew.apply.rollback import RollbackReport
from sfrenew.cli.backfill import build_request
from sfrenew.config import AppConfig
from sfrenew.jobs import find_job, load_jobs
from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.seed import seed_book
from sfrenew.runner import RunOutcome, RunRequest, execute, open_gateway, rollback_session
from sfrenew.salesforce import Gateway, format_soql
from tests.clock import now
from tests.integration.test_run_support import ROOT, SEED, make_config

PRESETS = ("mappings/standard.yaml", "mappings/cpq.yaml")
KEY = "Sfrenew_Key__c"


class MovingClock:
    """The pinned clock plus an offset that only moves forward (stamps stay ordered)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return now() + self.offset

    def today(self) -> date:
        """The clock's date."""
        return self().date()

    def move_to(self, day: date) -> None:
        """Move forward to ``day`` at the same time of day (never backwards)."""
        step = timedelta(days=(day - self.today()).days)
        assert step >= timedelta(0), f"the clock only moves forward ({self.today()} → {day})"
        self.offset += step


@dataclasses.dataclass
class Desk:
    """A seeded local org on a moving clock, a config pointing at it, and its runs."""

    org: LocalOrg
    config: AppConfig
    clock: MovingClock

    def backfill(self, start: date, end: date, *, dry_run: bool = False) -> RunOutcome:
        """``sfrenew backfill --from start --to end [--dry-run]`` as the command builds it."""
        request = build_request(self.config, start=start, end=end, accounts=(),
                                dry_run=dry_run, max_api_calls=None, resume=None)
        # The command takes the horizon from the wall clock's today; this desk's today
        # is the moving clock's (the same as the suite's until it moves).
        request = dataclasses.replace(request, horizon_days=max(
            (end - self.clock.today()).days, 0))
        return execute(self.config, request, clock=self.clock)

    def nightly(self) -> RunOutcome:
        """One fire of the shipped ``renewals`` job (jobs/renewals.yaml)."""
        spec = find_job(load_jobs(ROOT / "jobs"), "renewals")
        assert spec is not None
        return execute(self.config, spec.request(), clock=self.clock)

    def run(self, request: RunRequest) -> RunOutcome:
        """Any run on the desk's clock."""
        return execute(self.config, request, clock=self.clock)

    def rollback(self, run_id: str, *, dry_run: bool = True) -> RollbackReport:
        """``sfrenew rollback RUN_ID --dry-run`` (``dry_run=False``: the real rollback)."""
        own, report = rollback_session(self.config, run_id, dry_run=dry_run, clock=self.clock)
        assert (own is None) == dry_run
        return report

    def gateway(self) -> Gateway:
        """A gateway on the org, for checks and for a person's edits."""
        return open_gateway(self.config)

    def ours(self, sobject: str, fields: list[str], where: str = "") -> dict[str, dict[str, Any]]:
        """The records sfrenew made, by key."""
        clause = f"{KEY} != null" + (f" AND {where}" if where else "")
        rows = self.gateway().read(sobject, sorted({"Id", KEY, *fields}), clause)
        return {str(r[KEY]): dict(r) for r in rows}

    def edit(self, sobject: str, record_id: str, **values: Any) -> None:
        """A person's edit in Salesforce."""
        (result,) = self.gateway().write("update", sobject, [{"Id": record_id, **values}])
        assert result.success, (result.error_code, result.message)

    def by_key(self, sobject: str, key: str, fields: list[str]) -> dict[str, Any]:
        """One record sfrenew made, by key."""
        (row,) = self.gateway().read(sobject, sorted({"Id", *fields}),
                                     format_soql(f"{KEY} = {{}}", key))
        return dict(row)


def open_desk(base: Path, *, mapping: str, contracts: int = 150) -> Desk:
    """A seeded book (the demo's generator, seeded on the suite's today)."""
    clock = MovingClock()
    org = LocalOrg(base / "org", clock=clock)
    org.start()
    seed_book(org.store, contracts=contracts, seed=SEED, today=clock.today())
    return Desk(org=org, config=make_config(base, base / "org", mapping=mapping), clock=clock)


def desk_fixture(base: Path, mapping: str) -> Iterator[Desk]:
    """Open a desk and stop its org afterwards (for pytest fixtures)."""
    desk = open_desk(base, mapping=mapping)
    try:
        yield desk
    finally:
        desk.org.stop()


def written(outcome: RunOutcome, sobject: str, what: str) -> int:
    """How many records of ``sobject`` the run ``what`` (created, updated, rejected)."""
    return int((outcome.stats.get("written") or {}).get(sobject, {}).get(what, 0))


def rejected(outcome: RunOutcome) -> int:
    """Every rejected write of the run."""
    return sum(int(v.get("rejected", 0)) for v in (outcome.stats.get("written") or {}).values())


def person_changes(report: RollbackReport) -> set[tuple[str, str, tuple[str, ...]]]:
    """What a rollback reports as changed by people (not the records kept under them)."""
    return {(i.object, i.key, i.fields) for i in report.items
            if i.action == "left_alone" and "changed by someone" in i.detail}
