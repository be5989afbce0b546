"""The analytics job over the local org: metric rows, the week's forecast snapshot and
the renewals' outcomes, written through plan → ledger → apply, with both presets."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfrenew.cli.report import report_figures
from sfrenew.core.analytics import metric_cutoff, period_start, week_start
from sfrenew.core.keys import metric_key, snapshot_key
from sfrenew.runner import RunRequest, Step, execute, rollback_session
from sfrenew.salesforce import format_soql
from sfrenew.store import Operation, WriteStatus, open_store
from tests.clock import now, today
from tests.integration.test_run_support import Book, open_book

pytestmark = pytest.mark.integration

METRIC = "Sfrenew_Renewal_Metric__c"
SNAPSHOT = "Sfrenew_Forecast_Snapshot__c"
METRIC_FIELDS = ["Sfrenew_Key__c", "Metric__c", "Period__c", "Period_Start__c",
                 "Dimension__c", "Dimension_Value__c", "Currency__c", "Value__c",
                 "Numerator__c", "Denominator__c", "Computed_On__c", "Sfrenew_Run_Id__c"]
SNAPSHOT_FIELDS = ["Sfrenew_Key__c", "Snapshot_Date__c", "Period__c", "Period_Start__c",
                   "Category__c", "Amount__c", "Renewal_Count__c", "Currency__c",
                   "Weeks_Out__c", "Actual_Amount__c", "Accuracy__c", "Sfrenew_Run_Id__c"]


@pytest.fixture(params=["standard", "cpq"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Book]:
    """A seeded org of 60 contracts whose renewals a nightly run has made."""
    opened = open_book(tmp_path, contracts=60, mapping=f"mappings/{request.param}.yaml")
    try:
        first = opened.run()
        assert first.status == "succeeded", first.message
        yield opened
    finally:
        opened.org.stop()


def _rows(book: Book, sobject: str, fields: list[str]) -> dict[str, dict[str, Any]]:
    return {r["Sfrenew_Key__c"]: r for r in book.gateway().read(sobject, fields)}


def _written(stats: dict[str, Any]) -> int:
    return sum(c.get("created", 0) + c.get("updated", 0) + c.get("deleted", 0)
               for c in stats["written"].values())


def _close_two(book: Book) -> tuple[str, str, Decimal]:
    """A rep sells two more units on one renewal and closes it won, and loses another:
    their Ids and the upsell (2 × the line's annual unit price)."""
    gateway = book.gateway()
    opps = sorted(gateway.read("Opportunity", ["Id", "Sfrenew_Key__c"],
                               "Sfrenew_Key__c != null"), key=lambda o: o["Sfrenew_Key__c"])
    won, lost = str(opps[0]["Id"]), str(opps[1]["Id"])
    line = min(gateway.read("OpportunityLineItem", ["Id", "Quantity",
                                                    "Sfrenew_Annual_Unit_Price__c"],
                            format_soql("OpportunityId = {}", won)), key=lambda r: str(r["Id"]))
    edits = [("OpportunityLineItem", {"Id": line["Id"], "Quantity": line["Quantity"] + 2}),
             ("Opportunity", {"Id": won, "StageName": "Closed Won"}),
             ("Opportunity", {"Id": lost, "StageName": "Closed Lost"})]
    for sobject, row in edits:
        assert gateway.write("update", sobject, [row])[0].success
    return won, lost, 2 * Decimal(str(line["Sfrenew_Annual_Unit_Price__c"]))


def test_analytics_rows_are_written_once_and_rolled_back(desk: Book) -> None:
    assert _rows(desk, METRIC, METRIC_FIELDS) == {}
    won, lost, upsell = _close_two(desk)
    run = desk.run(rules=("analytics",))
    assert run.status == "succeeded", run.message
    assert run.stats["plan"]["problems"] == 0
    metrics = _rows(desk, METRIC, METRIC_FIELDS)
    snaps = _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS)
    # a renewals-only run plans no account: only analytics records and outcomes written
    assert set(run.stats["written"]) == {METRIC, SNAPSHOT, "Opportunity"}
    assert run.stats["written"][METRIC]["created"] == len(metrics) > 0
    assert run.stats["written"][SNAPSHOT]["created"] == len(snaps) > 0

    # The rows say what the report (the same core over the same mirror) says.
    figures = report_figures(desk.config)
    since = metric_cutoff(today(), 24)
    for period, by in figures.atr.items():
        if period_start(period) < since:
            continue
        row = metrics[metric_key("atr", period=period, dimension="all", dimension_value="all",
                                 currency="USD")]
        assert Decimal(str(row["Value__c"])) == by["all"], period
        assert str(row["Period_Start__c"]) == period_start(period).isoformat()
        assert str(row["Computed_On__c"]) == today().isoformat()
        assert row["Sfrenew_Run_Id__c"] == run.run_id
    monday = week_start(today())
    current = period_start(f"{today():%Y-%m}")
    expected = {(s.period, s.category): s.arr for s in figures.snapshot
                if period_start(s.period) >= current}
    assert {(r["Period__c"], r["Category__c"]): Decimal(str(r["Amount__c"]))
            for r in snaps.values()} == expected
    for (period, category) in expected:
        row = snaps[snapshot_key(monday, period=period, category=category, currency="USD")]
        assert str(row["Snapshot_Date__c"]) == monday.isoformat()
        assert row["Weeks_Out__c"] == (period_start(period) - monday).days // 7
    # The renewals sfrenew made say where they stand.
    opps = {o["Id"]: o for o in desk.gateway().read(
        "Opportunity", ["Id", "Sfrenew_Outcome__c", "Sfrenew_Expansion_ARR__c",
                        "Sfrenew_Contraction_ARR__c"], "Sfrenew_Key__c != null")}

    def outcome(sf_id: str) -> tuple[str, Decimal | None, Decimal | None]:
        o = opps.pop(sf_id)
        return (o["Sfrenew_Outcome__c"],
                *(None if o[f] is None else Decimal(str(o[f]))
                  for f in ("Sfrenew_Expansion_ARR__c", "Sfrenew_Contraction_ARR__c")))

    assert outcome(won) == ("renewed", upsell, Decimal(0))  # W − P − U = the upsell
    assert outcome(lost) == ("churned", Decimal(0), Decimal(0))
    assert {o["Sfrenew_Outcome__c"] for o in opps.values()} <= {"open", "lapsed"}
    assert "open" in {o["Sfrenew_Outcome__c"] for o in opps.values()}
    assert {o["Sfrenew_Expansion_ARR__c"] for o in opps.values()} == {None}

    # A rerun the same week writes nothing.
    again = desk.run(rules=("analytics",))
    assert again.status == "succeeded", again.message
    assert _written(again.stats) == 0, again.stats["written"]
    assert _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS) == snaps

    # A run that does not write the analytics spends no call on their objects.
    nightly = desk.run()
    assert nightly.status == "succeeded", nightly.message
    assert not {METRIC, SNAPSHOT} & set(nightly.stats["pulled"])
    assert not {METRIC, SNAPSHOT} & set(nightly.stats["written"])

    # Rollback of the analytics run deletes its rows and clears the outcomes.
    rolled, report = rollback_session(desk.config, run.run_id, dry_run=False, clock=now)
    assert rolled is not None
    assert report.count("delete") == len(metrics) + len(snaps)
    assert _rows(desk, METRIC, METRIC_FIELDS) == {}
    assert _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS) == {}
    left = desk.gateway().read("Opportunity", ["Sfrenew_Outcome__c"], "Sfrenew_Key__c != null")
    assert {o["Sfrenew_Outcome__c"] for o in left} == {None}


def test_rows_past_the_retention_are_deleted_through_the_ledger(desk: Book) -> None:
    first = desk.run(rules=("analytics",))
    assert first.status == "succeeded", first.message
    metrics = _rows(desk, METRIC, METRIC_FIELDS)
    old_snaps = _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS)
    # A week later, keeping one month of metric periods and one weekly snapshot.
    later = today() + timedelta(days=7)
    cutoff = later.replace(day=1)
    expired = {k for k, r in metrics.items() if str(r["Period_Start__c"]) < cutoff.isoformat()}
    assert expired  # the seed's history gives earlier periods
    config = dataclasses.replace(desk.config, analytics=desk.config.analytics.model_copy(
        update={"metric_months": 1, "snapshot_weeks": 1}))
    run = execute(config, RunRequest(job="analytics", steps=(Step.PULL, Step.PLAN, Step.APPLY),
                                     rules=("analytics",)),
                  clock=lambda: now() + timedelta(days=7))
    assert run.status == "succeeded", run.message
    assert run.stats["written"][METRIC]["deleted"] == len(expired)
    assert run.stats["written"][SNAPSHOT]["deleted"] == len(old_snaps)
    kept = _rows(desk, METRIC, METRIC_FIELDS)
    assert not expired & set(kept)
    assert min(str(r["Period_Start__c"]) for r in kept.values()) == cutoff.isoformat()
    snaps = _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS)
    assert {str(r["Snapshot_Date__c"]) for r in snaps.values()} == {
        week_start(later).isoformat()}
    # The deletes are in the ledger as this run's, like every write.
    with open_store(desk.config.store_url) as store:
        deleted = {e.key for e in store.ledger_entries(run.run_id)
                   if e.operation is Operation.DELETE and e.status is WriteStatus.SUCCEEDED}
    assert deleted == expired | set(old_snaps)


def test_a_period_that_is_over_gets_its_actual_and_accuracy(desk: Book) -> None:
    first = desk.run(rules=("analytics",))
    assert first.status == "succeeded", first.message
    this_month = f"{today():%Y-%m}"
    taken = {k: r for k, r in _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS).items()
             if r["Period__c"] == this_month}
    assert taken
    assert {r["Actual_Amount__c"] for r in taken.values()} == {None}
    # Five weeks on, this month is over: its stored rows are judged as they were taken.
    later = now() + timedelta(days=35)
    run = execute(desk.config, RunRequest(job="analytics",
                                          steps=(Step.PULL, Step.PLAN, Step.APPLY),
                                          rules=("analytics",)),
                  clock=lambda: later)
    assert run.status == "succeeded", run.message
    rows = _rows(desk, SNAPSHOT, SNAPSHOT_FIELDS)
    judged = [rows[k] for k in taken]
    (actual,) = {Decimal(str(r["Actual_Amount__c"])) for r in judged}
    forecast = sum((Decimal(str(r["Amount__c"])) for r in judged
                    if r["Category__c"] in ("Closed", "Commit")), Decimal(0))
    # accuracy = 1 − |F − A| / A, floored at 0, to 4 places; the field holds a percent
    expected = max(Decimal(0), 1 - abs(forecast - actual) / actual) if actual else None
    (accuracy,) = {r["Accuracy__c"] for r in judged}
    if expected is None:
        assert accuracy is None
    else:
        assert Decimal(str(accuracy)) == (expected * 100).quantize(Decimal("0.01"))
    # the snapshot's amounts are never rewritten; periods not over on the later day (its
    # own month and after; near a month end the month after this one is over too) are
    # not judged yet
    assert all(rows[k]["Amount__c"] == r["Amount__c"] for k, r in taken.items())
    assert {r["Actual_Amount__c"] for k, r in rows.items()
            if r["Period__c"] >= f"{later:%Y-%m}" and str(r["Snapshot_Date__c"])
            == week_start(today()).isoformat()} == {None}
