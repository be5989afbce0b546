"""Lapsed renewals on the local org: the contract ended, the renewal is unsigned.

The day after a contract ends, its open renewal stays open with its tasks, is marked
overdue (``Sfrenew_Overdue__c``, ``Sfrenew_Days_Overdue__c``), gets an escalation task
due when the grace period ends (14 days by default), and is listed in the run's
report and ``sfrenew status``; once a person closes it, sfrenew completes its open
tasks (issue 15, item 2). Both presets, on a clock the test moves forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.cli.ops import lapsed_of_last_plan
from sfrenew.salesforce import format_soql
from sfrenew.store import open_store
from tests.integration.renewal_desk_support import PRESETS, Desk, desk_fixture, rejected

pytestmark = pytest.mark.integration

OPP = ["Name", "CloseDate", "IsClosed", "StageName", "Sfrenew_Overdue__c",
       "Sfrenew_Days_Overdue__c", "Sfrenew_Explanation__c", "Sfrenew_Coterm_Group__c"]
TASK = ["Status", "ActivityDate", "Subject", "Priority", "WhatId"]


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    yield from desk_fixture(tmp_path, request.param)


def _tasks_of(desk: Desk, opp_id: str) -> dict[str, dict[str, Any]]:
    return desk.ours("Task", TASK, format_soql("WhatId = {}", opp_id))


def _soonest(desk: Desk) -> tuple[str, dict[str, Any]]:
    """The open renewal whose contract ends first, after today."""
    today = desk.clock.today()
    opps = desk.ours("Opportunity", OPP, "IsClosed = false")
    return min(((k, o) for k, o in opps.items() if o["CloseDate"] > today),
               key=lambda item: (item[1]["CloseDate"], item[0]))


def _run(desk: Desk, day: date) -> dict[str, Any]:
    desk.clock.move_to(day)
    outcome = desk.nightly()
    assert outcome.status == "succeeded", outcome.message
    assert rejected(outcome) == 0
    return dict(outcome.stats["plan"])


def test_a_lapsed_renewal_stays_open_is_marked_overdue_and_escalated(desk: Desk) -> None:
    _run(desk, desk.clock.today())
    key, opp = _soonest(desk)
    ends: date = opp["CloseDate"]  # the contract's end date (the renewal starts the next day)
    open_before = {k for k, t in _tasks_of(desk, opp["Id"]).items() if t["Status"] != "Completed"}
    assert open_before

    # The contract's last day: not lapsed yet.
    plan = _run(desk, ends)
    still = desk.by_key("Opportunity", key, OPP)
    assert (still["Sfrenew_Overdue__c"], still["Sfrenew_Days_Overdue__c"]) == (False, 0)
    assert key not in {e["key"] for e in plan["lapsed_renewals"]}

    # The day after: lapsed, 1 day overdue; grace ends 14 days after the contract ended.
    plan = _run(desk, ends + timedelta(days=1))
    lapsed = desk.by_key("Opportunity", key, OPP)
    assert lapsed["IsClosed"] is False
    assert (lapsed["Sfrenew_Overdue__c"], lapsed["Sfrenew_Days_Overdue__c"]) == (True, 1)
    assert lapsed["Sfrenew_Explanation__c"].startswith(
        f"OVERDUE: the contract ended on {ends.isoformat()}")
    tasks = _tasks_of(desk, opp["Id"])
    assert {k for k, t in tasks.items() if t["Status"] != "Completed"} >= open_before
    (escalation,) = [t for k, t in tasks.items() if k not in open_before]
    assert escalation["Subject"].startswith(f"Overdue renewal, contract ended {ends}:")
    assert escalation["ActivityDate"] == ends + timedelta(days=14)
    assert (escalation["Priority"], escalation["Status"]) == ("High", "Not Started")
    listed = {e["key"]: e for e in plan["lapsed_renewals"]}
    assert plan["lapsed"] >= 1
    assert listed[key]["days_overdue"] == 1
    assert listed[key]["opportunity_id"] == opp["Id"]
    with open_store(desk.config.store_url) as store:
        status = lapsed_of_last_plan(store.list_runs(20))
    assert status is not None
    assert key in {e["key"] for e in status["renewals"]}

    # Three weeks on: 21 days overdue; the escalation keeps its date (it is overdue too).
    _run(desk, ends + timedelta(days=21))
    later = desk.by_key("Opportunity", key, OPP)
    assert (later["Sfrenew_Overdue__c"], later["Sfrenew_Days_Overdue__c"]) == (True, 21)
    tasks = _tasks_of(desk, opp["Id"])
    assert all(t["Status"] != "Completed" for t in tasks.values())
    assert {t["ActivityDate"] for t in tasks.values() if t["Subject"].startswith("Overdue")} \
        == {ends + timedelta(days=14)}

    # A person closes it as lost: sfrenew completes its open tasks and stops listing it.
    desk.edit("Opportunity", opp["Id"], StageName="Closed Lost")
    plan = _run(desk, ends + timedelta(days=22))
    assert all(t["Status"] == "Completed" for t in _tasks_of(desk, opp["Id"]).values())
    assert key not in {e["key"] for e in plan["lapsed_renewals"]}


def test_a_lapsed_renewal_of_a_contract_marked_do_not_renew_is_let_go(desk: Desk) -> None:
    _run(desk, desk.clock.today())
    key, opp = _soonest(desk)
    ends: date = opp["CloseDate"]
    _run(desk, ends + timedelta(days=2))
    assert desk.by_key("Opportunity", key, OPP)["Sfrenew_Overdue__c"] is True
    for contract_id in opp["Sfrenew_Coterm_Group__c"].split(", "):
        desk.edit("Contract", contract_id, Do_Not_Renew__c=True)
    plan = _run(desk, ends + timedelta(days=3))
    assert all(t["Status"] == "Completed" for t in _tasks_of(desk, opp["Id"]).values())
    assert key not in {e["key"] for e in plan["lapsed_renewals"]}
