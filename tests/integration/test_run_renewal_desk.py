"""The renewal desk's month, end to end: a backfill, then five nightly runs across a
contract's end date, with reps working in Salesforce between the runs (issue 15).

Before the backfill a rep opens a renewal by hand (adopted: sfrenew's fields and tasks
on it, no second renewal); between the runs reps complete a task, retitle an open one,
move a close date, rename a renewal, move a stage (their own adopted one too) and
delete a renewal line. Every person's change and every open task survives, the deleted
line is not made again, no contract gets two open renewals (sfrenew's or a person's),
the lapsed renewal is kept, marked and escalated, and ``sfrenew rollback`` of any of
the runs, dry and then real (latest first), names only sfrenew's own changes (people's
are left alone and reported as theirs) and ends with the people's work in place. Both
presets, on a clock the test moves forward; dates are offsets from the pinned day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.plan import iter_accounts
from sfrenew.salesforce import format_soql
from tests.integration.renewal_desk_support import (
    KEY,
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
# sfrenew's own fields on a renewal a person made that it adopted (rules.adoption)
OWNED = ["Sfrenew_Explanation__c", "Sfrenew_Derivation__c", "Sfrenew_Risk_Level__c",
         "Sfrenew_Risk_Score__c", "Sfrenew_Risk_Reasons__c", "Sfrenew_Needs_Approval__c",
         "Sfrenew_Approval_Reason__c", "Sfrenew_Overdue__c", "Sfrenew_Days_Overdue__c"]
PERSONS = ["Name", "StageName", "Amount", "CloseDate", "Type", "OwnerId", "NextStep", KEY]


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


def _links(desk: Desk) -> tuple[str, str]:
    """The preset's contract → renewal and renewal → contract link fields."""
    mapping = desk.config.mapping
    return (mapping.contract.fields["renewal_opportunity"].field,
            mapping.renewal_opportunity.fields["renewed_contract"].field)


def _open_renewals_per_contract(desk: Desk) -> dict[str, set[str]]:
    """Each contract's open renewal opportunities: sfrenew's (its co-term group) and
    people's (either link)."""
    to_opp, to_contract = _links(desk)
    gw = desk.gateway()
    opps = {str(o["Id"]): o for o in gw.read(
        "Opportunity", ["Id", KEY, "IsClosed", "Sfrenew_Coterm_Group__c", to_contract],
        "IsClosed = false")}
    out: dict[str, set[str]] = {}
    for opp_id, o in opps.items():
        if o[KEY]:
            for c in str(o["Sfrenew_Coterm_Group__c"] or "").split(", "):
                out.setdefault(c, set()).add(opp_id)
        elif o[to_contract]:
            out.setdefault(str(o[to_contract]), set()).add(opp_id)
    for row in gw.read("Contract", ["Id", to_opp], f"{to_opp} != null"):
        if str(row[to_opp]) in opps:
            out.setdefault(str(row["Id"]), set()).add(str(row[to_opp]))
    return out


def _hand_made_renewal(desk: Desk, preview: Any) -> tuple[str, str]:
    """A rep opens a renewal by hand for a contract the backfill would renew alone on its
    account (from the backfill's preview), closing on the contract's end date: returns
    (contract Id, opportunity Id)."""
    alone = sorted((a.account_id, r) for a in iter_accounts(Path(preview.stats["plan_file"]))
                   for r in a.renewals if len(a.renewals) == 1 and len(r.contracts) == 1
                   and not r.adopted_opportunity
                   and date.fromisoformat(r.start_date) >= desk.clock.today()
                   + timedelta(days=20))
    account, renewal = alone[0]
    end = date.fromisoformat(renewal.start_date) - timedelta(days=1)
    (made,) = desk.gateway().write("insert", "Opportunity", [{
        "AccountId": account, "Name": "Renewal opened by hand", "Type": "Renewal",
        "StageName": "Prospecting", "CloseDate": end.isoformat(), "Amount": 1_000,
        "CurrencyIsoCode": renewal.currency, "NextStep": "Call the CFO"}])
    assert made.success, (made.error_code, made.message)
    return renewal.contracts[0], str(made.id)


def test_backfill_then_five_nights_across_a_contract_end(desk: Desk) -> None:
    today = desk.clock.today()
    window = (today, today + timedelta(days=400))
    by_hand, theirs = _hand_made_renewal(desk, desk.backfill(*window, dry_run=True))
    gw = desk.gateway()

    def person_fields() -> dict[str, Any]:
        (row,) = gw.read("Opportunity", ["Id", *PERSONS], f"Id = '{theirs}'")
        return dict(row)

    def owned() -> dict[str, Any]:
        (row,) = gw.read("Opportunity", OWNED, f"Id = '{theirs}'")
        return {f: row[f] for f in OWNED}

    as_made, never_written = person_fields(), owned()
    runs = [desk.backfill(*window)]
    assert runs[0].status == "succeeded", runs[0].message
    # The hand-made renewal is adopted: linked, sfrenew's fields and tasks on it, no
    # second renewal for its contract.
    assert _open_renewals_per_contract(desk)[by_hand] == {theirs}
    assert owned()["Sfrenew_Explanation__c"].startswith("A person opened this renewal")
    assert _tasks_of(desk, theirs)
    assert person_fields() == as_made
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
    # A renewal with two lines or more, other than those: a rep deletes one of its lines.
    lines = desk.ours("OpportunityLineItem", ["OpportunityId"])
    per_opp: dict[str, list[str]] = {}
    for line_key, line in sorted(lines.items()):
        per_opp.setdefault(str(line["OpportunityId"]), []).append(line_key)
    dropped_from, (dropped, *_) = min(
        (o, ks) for o, ks in per_opp.items()
        if len(ks) >= 2 and o not in (target["Id"], far["Id"]))

    reps = Reps(desk)
    # Before the first night: a rep completes one task, retitles another, and moves the
    # far renewal's close date; another deletes a renewal line (a product dropped).
    reps.edit("Task", done_key, tasks[done_key]["Id"], Status="Completed")
    reps.edit("Task", subject_key, tasks[subject_key]["Id"], Subject="Call Dana about budget")
    reps.edit("Opportunity", far_key, far["Id"], CloseDate="2031-06-30")
    (gone,) = gw.write("delete", "OpportunityLineItem", [{"Id": lines[dropped]["Id"]}])
    assert gone.success
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
        assert dropped not in desk.ours("OpportunityLineItem", [])  # never made again
        assert all(len(opps) == 1 for opps in _open_renewals_per_contract(desk).values())
        if n == 0:  # the rep works their own renewal
            assert gw.write("update", "Opportunity", [{
                "Id": theirs, "StageName": "Negotiation/Review"}])[0].success
            as_made = person_fields()
        if n == 1:  # the contract's last day: a rep renames the renewal
            reps.edit("Opportunity", key, target["Id"], Name="Acme renewal (Dana)")
        if n == 2:  # lapsed: the rep moves it to negotiation
            reps.edit("Opportunity", key, target["Id"], StageName="Negotiation/Review")
            # Salesforce resets the forecast category with the stage: part of that edit.
            forecast = desk.by_key("Opportunity", key, ["ForecastCategoryName"])
            reps.edits[("Opportunity", key, "ForecastCategoryName")] = \
                forecast["ForecastCategoryName"]

    reps.intact()
    assert person_fields() == as_made  # sfrenew never wrote the person's fields
    assert _open_renewals_per_contract(desk)[by_hand] == {theirs}
    now_open = {k for k, t in desk.ours("Task", TASK).items() if t["Status"] != "Completed"}
    assert open_tasks <= now_open  # every task left open is still open
    (shorter,) = gw.read("Opportunity", ["Sfrenew_Explanation__c"], f"Id = '{dropped_from}'")
    assert "removed from this renewal by a person" in shorter["Sfrenew_Explanation__c"]
    lapsed = desk.by_key("Opportunity", key, OPP)
    assert lapsed["IsClosed"] is False
    assert (lapsed["Sfrenew_Overdue__c"], lapsed["Sfrenew_Days_Overdue__c"]) == (True, 30)
    escalation = [t for t in _tasks_of(desk, target["Id"]).values()
                  if t["Subject"].startswith("Overdue renewal")]
    assert [(t["ActivityDate"], t["Status"]) for t in escalation] == [
        (ends + timedelta(days=14), "Not Started")]
    assert key in {e["key"] for e in runs[-1].stats["plan"]["lapsed_renewals"]}

    # A rollback of any run names only sfrenew's changes: what it reports as changed by
    # people is what the reps changed, and it would restore no field a rep changed.
    edited: dict[tuple[str, str], set[str]] = {}
    for sobject, record, name in reps.edits:
        edited.setdefault((sobject, record), set()).add(name)

    def only_sfrenews(report: Any) -> None:
        for sobject, record, fields in person_changes(report):
            assert set(fields) <= edited.get((sobject, record), set()), (
                report.run_id, sobject, record, fields)
        for item in report.items:
            if item.action == "restore":
                assert not set(item.fields) & edited.get((item.object, item.key), set())
            assert (item.object, item.action) != ("Opportunity", "delete") \
                or item.key != theirs  # the person's renewal is never deleted

    for run in runs:
        only_sfrenews(desk.rollback(run.run_id))
    # The backfill created every record the reps touched: its rollback names them all.
    backfill = desk.rollback(runs[0].run_id)
    assert {(o, k, f) for o, k, fields in person_changes(backfill) for f in fields} == set(
        reps.edits)
    # Now for real, latest run first: each names only sfrenew's changes, and afterwards
    # the people's work is all there, sfrenew's fields on the adopted renewal are as
    # before the backfill and its tasks there are gone.
    for run in reversed(runs):
        only_sfrenews(desk.rollback(run.run_id, dry_run=False))
    reps.intact()
    assert person_fields() == as_made
    assert owned() == never_written
    assert _tasks_of(desk, theirs) == {}
    assert by_hand not in _open_renewals_per_contract(desk)
