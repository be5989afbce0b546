"""A backfill, then the nightly renewals job: the renewals the backfill made stay whole.

A run's horizon decides what to create, never what to abandon: the nightly job (180
days) must keep maintaining renewals a backfill made further ahead, with the same
co-term groups, and a rollback of the backfill must tell sfrenew's later writes from
people's edits (issue 15, item 1). Both presets.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from sfrenew.salesforce import format_soql
from tests.integration.renewal_desk_support import (
    PRESETS,
    Desk,
    desk_fixture,
    person_changes,
    rejected,
    written,
)

pytestmark = pytest.mark.integration

OPP_FIELDS = ["Name", "CloseDate", "IsClosed", "AccountId", "Sfrenew_Coterm_Group__c",
              "Sfrenew_Explanation__c"]
TASK_FIELDS = ["Status", "ActivityDate", "Subject", "WhatId"]


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    yield from desk_fixture(tmp_path, request.param)


def _window(desk: Desk) -> tuple[date, date]:
    # Contracts ending 200–400 days ahead: all beyond the nightly 180-day horizon.
    today = desk.clock.today()
    return today + timedelta(days=200), today + timedelta(days=400)


def test_the_nightly_job_keeps_a_backfills_renewals_tasks_and_groups(desk: Desk) -> None:
    start, end = _window(desk)
    backfill = desk.backfill(start, end)
    assert backfill.status == "succeeded", backfill.message
    opps = desk.ours("Opportunity", OPP_FIELDS)
    tasks = desk.ours("Task", TASK_FIELDS)
    assert len(opps) > 20
    assert len(tasks) > 60
    assert all(t["Status"] != "Completed" for t in tasks.values())
    groups = {k: o["Sfrenew_Coterm_Group__c"] for k, o in opps.items()}
    assert any("," in g for g in groups.values())  # co-termed groups to keep whole

    nightly = desk.nightly()
    assert nightly.status == "succeeded", nightly.message
    assert rejected(nightly) == 0  # e.g. two renewals writing one opportunity

    after_opps = desk.ours("Opportunity", OPP_FIELDS)
    after_tasks = desk.ours("Task", TASK_FIELDS)
    # Nothing the backfill made was closed, completed, re-dated or regrouped.
    assert {k: after_opps[k] for k in opps} == opps
    assert {k: after_tasks[k] for k in tasks} == tasks
    # The nightly made renewals for what its own horizon reaches, not duplicates.
    renewed = [c for o in after_opps.values() if not o["IsClosed"]
               for c in o["Sfrenew_Coterm_Group__c"].split(", ")]
    assert len(renewed) == len(set(renewed))

    # A second backfill of the window finds nothing to do.
    again = desk.backfill(start, end)
    assert again.status == "succeeded", again.message
    for sobject in ("Opportunity", "OpportunityLineItem", "Task"):
        assert written(again, sobject, "created") == written(again, sobject, "updated") == 0
    assert desk.ours("Task", TASK_FIELDS) == after_tasks


def test_a_backfills_rollback_names_only_peoples_changes(desk: Desk) -> None:
    start, end = _window(desk)
    backfill = desk.backfill(start, end)
    opps = desk.ours("Opportunity", OPP_FIELDS)
    by_account: dict[str, list[str]] = {}
    for key, opp in sorted(opps.items()):
        by_account.setdefault(str(opp["AccountId"]), []).append(key)
    renamed_account, (renamed_key, *_) = sorted(by_account.items())[0]
    edited_key = sorted(by_account.items())[1][1][0]

    # The customer is renamed: a second backfill rewrites that renewal's name (sfrenew's
    # own later change). A rep moves another renewal's close date (a person's change);
    # then the nightly job runs.
    desk.edit("Account", renamed_account, Name="Renamed Customer Ltd")
    again = desk.backfill(start, end)
    assert written(again, "Opportunity", "updated") >= 1
    renamed = desk.by_key("Opportunity", renamed_key, ["Name"])
    assert renamed["Name"].startswith("Renamed Customer Ltd")
    desk.edit("Opportunity", opps[edited_key]["Id"], CloseDate="2031-01-31")
    nightly = desk.nightly()
    assert nightly.status == "succeeded", nightly.message

    report = desk.rollback(backfill.run_id)
    assert person_changes(report) == {("Opportunity", edited_key, ("CloseDate",))}
    fate = {(i.object, i.key): i.action for i in report.items}
    assert fate[("Opportunity", renamed_key)] == "delete"  # sfrenew's own, both runs
    # What the backfill created is deleted, but for the edited renewal (kept with its
    # lines and tasks); the accounts' risk fields it set are restored.
    assert {action for (obj, _), action in fate.items() if obj not in ("Account", "Contract")
            } == {"delete", "left_alone"}
    # The contracts' renewal links it wrote are restored (emptied), but for the contracts
    # of the kept renewal: their link stays with it.
    kept_opp = opps[edited_key]["Id"]
    contracts = {i.key: i for i in report.items if i.object == "Contract"}
    assert contracts
    for item in contracts.values():
        assert item.action in ("restore", "left_alone")
    left = [i for i in contracts.values() if i.action == "left_alone"]
    assert left, "the kept renewal's contracts keep their link"
    link = desk.config.mapping.contract.fields["renewal_opportunity"].field
    links = desk.gateway().read("Contract", ["Id", link],
                                format_soql("Id IN {}", [i.sf_id for i in left]))
    assert {r[link] for r in links} == {kept_opp}
    assert {action for (obj, _), action in fate.items() if obj == "Account"} <= {
        "restore", "nothing"}
