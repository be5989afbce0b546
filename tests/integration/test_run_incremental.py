"""Planning only what changed, on the local org over 15 daily runs (issue 19, item 2).

Each day the clock moves on, the run pulls, then plans only the accounts whose records
changed or whose plan moves with the date, and applies that plan. Before it plans, a
copy of the state store plans every account (``full_plan``); the two plan files must be
the same line for line. People work in the org on some days (an edited amount, a
completed task, a health score that drops), so records change as well as dates. Both
presets.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sfrenew.plan import read_header
from sfrenew.runner import RunRequest, Step, execute, rollback_session
from sfrenew.store import open_store
from tests.integration.renewal_desk_support import PRESETS, Desk, desk_fixture, rejected

pytestmark = pytest.mark.integration

DAYS = 15


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    yield from desk_fixture(tmp_path, request.param)


def _store_file(desk: Desk) -> Path:
    return desk.config.state_dir / "sfrenew.sqlite3"


def _full_plan_of_a_copy(desk: Desk, where: Path) -> Path:
    """Every account planned on a copy of the store as it is now (the real one keeps its
    plan states)."""
    state = where / "state"
    state.mkdir(parents=True)
    with sqlite3.connect(_store_file(desk)) as source, \
            sqlite3.connect(state / "sfrenew.sqlite3") as target:
        source.backup(target)
    config = dataclasses.replace(desk.config, state_dir=state,
                                 store_url=f"sqlite:///{state / 'sfrenew.sqlite3'}")
    outcome = execute(config, RunRequest(job="main", steps=(Step.PLAN,), dry_run=True,
                                         full_plan=True), clock=desk.clock)
    assert outcome.status == "succeeded", outcome.message
    return Path(outcome.stats["plan_file"])


def _body(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[1:]


def _header(path: Path) -> dict[str, Any]:
    header = read_header(path).__dict__
    return {k: v for k, v in header.items() if k not in ("run_id", "created_at")}


def _plan_step(logs: list[MutableMapping[str, Any]]) -> MutableMapping[str, Any]:
    return next(e for e in logs if e.get("event") == "run_step_done" and e["step"] == "plan")


def _person_works(desk: Desk, day: int) -> None:
    """A person's work in the org on some days: records change, not only dates."""
    if day == 3:  # a rep edits the amount of a renewal
        _, opp = sorted(desk.ours("Opportunity", ["Amount"], "IsClosed = false").items())[0]
        desk.edit("Opportunity", opp["Id"], Amount=float(opp["Amount"] or 0) + 1000)
    elif day == 6:  # a rep completes a task
        tasks = desk.ours("Task", ["Status"], "Status != 'Completed'")
        _, task = sorted(tasks.items())[0]
        desk.edit("Task", task["Id"], Status="Completed")
    elif day == 9:  # an account's health drops (risk, so price)
        accounts = desk.gateway().read("Account", ["Id"], "Sfrenew_Risk_Level__c != null")
        desk.edit("Account", sorted(a["Id"] for a in accounts)[0], Health_Score__c=5)


def test_fifteen_daily_runs_plan_as_full_re_plans(desk: Desk, tmp_path: Path) -> None:
    start = desk.clock.today()
    replayed = []
    for n in range(DAYS):
        desk.clock.move_to(start + timedelta(days=n))
        _person_works(desk, n)
        pulled = desk.run(RunRequest(job="main", steps=(Step.PULL,)))
        assert pulled.status == "succeeded", pulled.message
        full = _full_plan_of_a_copy(desk, tmp_path / f"day{n}")
        with capture_logs() as logs:
            outcome = desk.run(RunRequest(job="main",
                                          steps=(Step.PLAN, Step.APPLY, Step.REPORT)))
        assert outcome.status == "succeeded", outcome.message
        assert rejected(outcome) == 0
        mine = Path(outcome.stats["plan_file"])
        assert _header(mine) == _header(full), f"day {n}"
        assert _body(mine) == _body(full), f"day {n}"
        step = _plan_step(logs)
        assert step["full_pass"] is (n == 0), f"day {n}"  # the first plan has no state
        replayed.append(step["replayed"])
    assert replayed[0] == 0
    # From the second day on, accounts whose records and dates did not move are replayed
    # (the book has accounts with nothing to renew for months).
    assert min(replayed[1:]) > 0
    with open_store(desk.config.store_url) as store:
        assert store.plan_meta() is not None


def test_a_full_plan_is_made_when_asked_or_when_the_rules_change(desk: Desk) -> None:
    def plan(**request: Any) -> MutableMapping[str, Any]:
        with capture_logs() as logs:
            outcome = desk.run(RunRequest(job="main", steps=(Step.PULL, Step.PLAN),
                                          dry_run=True, **request))
        assert outcome.status == "succeeded", outcome.message
        return _plan_step(logs)

    assert plan()["full_pass"] is True  # nothing saved yet
    again = plan()
    assert again["full_pass"] is False
    assert again["replayed"] > 0
    assert plan(full_plan=True)["full_pass"] is True
    assert plan()["full_pass"] is False
    assert plan(horizon_days=30)["full_pass"] is True  # another policy: another fingerprint
    assert plan(horizon_days=30)["full_pass"] is False


def test_a_rollback_makes_the_next_plan_a_full_pass(desk: Desk) -> None:
    """The undo moves the ledger under the saved plans: they are not replayed."""
    def plan() -> MutableMapping[str, Any]:
        with capture_logs() as logs:
            outcome = desk.run(RunRequest(job="main", steps=(Step.PULL, Step.PLAN),
                                          dry_run=True))
        assert outcome.status == "succeeded", outcome.message
        return _plan_step(logs)

    first = desk.nightly()
    assert first.status == "succeeded", first.message
    assert plan()["full_pass"] is False
    own, _report = rollback_session(desk.config, first.run_id, dry_run=False,
                                    clock=desk.clock)
    assert own is not None
    after = plan()
    assert after["full_pass"] is True
    assert after["replayed"] == 0


def test_applying_a_saved_plan_makes_the_next_plan_a_full_pass(desk: Desk) -> None:
    """A saved plan may be older than the plan states; its writes move the ledger."""
    def plan() -> tuple[MutableMapping[str, Any], Path]:
        with capture_logs() as logs:
            outcome = desk.run(RunRequest(job="main", steps=(Step.PULL, Step.PLAN),
                                          dry_run=True))
        assert outcome.status == "succeeded", outcome.message
        return _plan_step(logs), Path(outcome.stats["plan_file"])

    step, saved = plan()
    assert step["full_pass"] is True
    assert plan()[0]["full_pass"] is False
    applied = desk.run(RunRequest(job="apply", steps=(Step.APPLY, Step.REPORT),
                                  plan_file=saved, kind="apply"))
    assert applied.status == "succeeded", applied.message
    assert plan()[0]["full_pass"] is True
