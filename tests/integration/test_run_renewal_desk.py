"""The renewal desk's month, end to end: a backfill, then five nightly runs across a
contract's end date, with reps working in Salesforce between the runs (issue 15).

Every person's change and every open task survives, no contract gets two renewals,
the lapsed renewal is kept, marked and escalated, and ``sfrenew rollback`` of any of
the runs names only sfrenew's own changes (people's are left alone and reported as
theirs). Both presets, on a clock the test moves forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.salesforce import format_soql
from tests.integration.renewal_desk_support import (
    PRESETS,
    Desk,
    desk_fixture,
    person_changes,
    rejected,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPP = ["Name", "CloseDate", "StageName", "IsClosed", "Sfrenew_Overdue__c",
       "Sfrenew_Days_Overdue__c", "Sfrenew_Coterm_Group__c"]
TASK = ["Status", "Subject", "ActivityDate", "WhatId"]
Edit = tuple[str, str, str]  # object, key, field


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    yield from desk_fixture(tmp_path, request.param)


class Reps:
    """People's edits in Salesforce, remembered to check they survive."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.edits: dict[Edit, Any] = {}

    def edit(self, sobject: str, key: str, record_id: str, **values: Any) -> None:
        self.desk.edit(sobject, record_id, **values)
        for name, value in values.items():
            self.edits[(sobject, key, name)] = value

    def intact(self) -> None:
        for (sobject, key, name), value in self.edits.items():
            have = self.desk.by_key(sobject, key, [name])[name]
            assert str(have) == str(value), (sobject, key, name, have, value)


def _tasks_of(desk: Desk, opp_id: str) -> dict[str, dict[str, Any]]:
    return desk.ours("Task", TASK, format_soql("WhatId = {}", opp_id))


def _open_keys(tasks: dict[str, dict[str, Any]]) -> set[str]:
    return {k for k, t in tasks.items() if t["Status"] != "Completed"}


def test_backfill_then_five_nights_across_a_contract_end(desk: Desk) -> None:
    today = desk.clock.today()
    runs = [desk.backfill(today, today + timedelta(days=400))]
    assert runs[0].status == "succeeded", runs[0].message
    opps = desk.ours("Opportunity", OPP)
    # The renewal whose contract ends first (at least 3 days ahead), and a far one.
    key, target = min(((k, o) for k, o in opps.items()
                       if o["CloseDate"] >= today + timedelta(days=3)),
                      key=lambda item: (item[1]["CloseDate"], item[0]))
    ends: date = target["CloseDate"]
    far_key, far = max(opps.items(), key=lambda item: (item[1]["CloseDate"], item[0]))
    tasks = _tasks_of(desk, target["Id"])
    assert len(tasks) >= 3
    done_key, subject_key, *_ = sorted(tasks)

    reps = Reps(desk)
    # Before the first night: a rep completes one task, retitles another, and moves the
    # far renewal's close date.
    reps.edit("Task", done_key, tasks[done_key]["Id"], Status="Completed")
    reps.edit("Task", subject_key, tasks[subject_key]["Id"], Subject="Call Dana about budget")
    reps.edit("Opportunity", far_key, far["Id"], CloseDate="2031-06-30")
    open_tasks = {k for k, t in desk.ours("Task", TASK).items() if t["Status"] != "Completed"}

    nights = [today, ends - timedelta(days=1), ends + timedelta(days=1),
              ends + timedelta(days=15), ends + timedelta(days=30)]
    for n, night in enumerate(nights):
        desk.clock.move_to(night)
        outcome = desk.nightly()
        assert outcome.status == "succeeded", outcome.message
        assert rejected(outcome) == 0
        # sfrenew closes no task: no renewal here was closed by a person.
        assert outcome.stats["plan"]["counts"].get("Task", {}).get("close", 0) == 0
        runs.append(outcome)
        if n == 1:  # the contract's last day: a rep renames the renewal
            reps.edit("Opportunity", key, target["Id"], Name="Acme renewal (Dana)")
        if n == 2:  # lapsed: the rep moves it to negotiation
            reps.edit("Opportunity", key, target["Id"], StageName="Negotiation/Review")
            # Salesforce resets the forecast category with the stage: part of that edit.
            forecast = desk.by_key("Opportunity", key, ["ForecastCategoryName"])
            reps.edits[("Opportunity", key, "ForecastCategoryName")] = \
                forecast["ForecastCategoryName"]

    reps.intact()
    now_open = {k for k, t in desk.ours("Task", TASK).items() if t["Status"] != "Completed"}
    assert open_tasks <= now_open  # every task left open is still open
    lapsed = desk.by_key("Opportunity", key, OPP)
    assert lapsed["IsClosed"] is False
    assert (lapsed["Sfrenew_Overdue__c"], lapsed["Sfrenew_Days_Overdue__c"]) == (True, 30)
    escalation = [t for t in _tasks_of(desk, target["Id"]).values()
                  if t["Subject"].startswith("Overdue renewal")]
    assert [(t["ActivityDate"], t["Status"]) for t in escalation] == [
        (ends + timedelta(days=14), "Not Started")]
    assert key in {e["key"] for e in runs[-1].stats["plan"]["lapsed_renewals"]}
    # No contract has two open renewals.
    renewed = [c for o in desk.ours("Opportunity", OPP, "IsClosed = false").values()
               for c in o["Sfrenew_Coterm_Group__c"].split(", ")]
    assert len(renewed) == len(set(renewed))

    # A rollback of any run names only sfrenew's changes: what it reports as changed by
    # people is what the reps changed, and it would restore no field a rep changed.
    edited: dict[tuple[str, str], set[str]] = {}
    for sobject, record, name in reps.edits:
        edited.setdefault((sobject, record), set()).add(name)
    for run in runs:
        report = desk.rollback(run.run_id)
        for sobject, record, fields in person_changes(report):
            assert set(fields) <= edited.get((sobject, record), set()), (run.run_id, fields)
        for item in report.items:
            if item.action == "restore":
                assert not set(item.fields) & edited.get((item.object, item.key), set())
    # The backfill created every record the reps touched: its rollback names them all.
    backfill = desk.rollback(runs[0].run_id)
    assert {(o, k, f) for o, k, fields in person_changes(backfill) for f in fields} == set(
        reps.edits)
