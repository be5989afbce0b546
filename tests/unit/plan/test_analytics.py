"""Planning the analytics rows from the mirror: the week's snapshot is taken once, and
only sfrenew's own rows (keys the ledger knows) are ever deleted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfrenew.core.analytics import Outcome, RenewalFact
from sfrenew.core.changeset import ChangeKind, RecordChange
from sfrenew.core.keys import metric_key, snapshot_key
from sfrenew.mapping import load_mapping
from sfrenew.mapping.translate import ownership_lookup
from sfrenew.plan.analytics import AnalyticsOptions, AnalyticsPlanner, outcome_label
from sfrenew.store import (
    MirrorRow,
    Operation,
    RunKind,
    StateStore,
    WriteIntent,
    WriteResult,
    WriteStatus,
    open_store,
)

ROOT = Path(__file__).parents[3]
MAPPING = load_mapping(ROOT / "mappings" / "standard.yaml").model
TODAY = date(2026, 3, 11)  # a Wednesday: the week's snapshot is dated Monday 03-09
NOW = datetime(2026, 3, 11, 9, tzinfo=UTC)
SNAP = "Sfrenew_Forecast_Snapshot__c"
METRIC = "Sfrenew_Renewal_Metric__c"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with open_store(f"sqlite:///{tmp_path / 's.sqlite3'}") as opened:
        opened.start_run(run_id="r-1", job="analytics", kind=RunKind.APPLY, now=NOW)
        yield opened


def _wrote(store: StateStore, sobject: str, rows: dict[str, str]) -> None:
    """The ledger says sfrenew created these ``{key: Id}`` rows."""
    seqs = store.record_intents("r-1", [WriteIntent(sobject, k, Operation.CREATE, ())
                                        for k in rows], now=NOW)
    store.record_results("r-1", [WriteResult(s, WriteStatus.SUCCEEDED, sf_id=i)
                                 for s, i in zip(seqs, rows.values(), strict=True)], now=NOW)


def _snap(n: int, taken: date, period: str) -> tuple[str, MirrorRow]:
    key = snapshot_key(taken, period=period, category="Commit", currency="USD")
    sf_id = f"a04000000000{n:03d}AAA"
    return key, MirrorRow(sf_id, {
        "Id": sf_id, "Sfrenew_Key__c": key, "Snapshot_Date__c": taken.isoformat(),
        "Period__c": period, "Period_Start__c": f"{period}-01", "Category__c": "Commit",
        "Amount__c": 1000.0, "Renewal_Count__c": 1.0, "Currency__c": "USD"})


def _plan(store: StateStore, **options: Any) -> list[RecordChange]:
    planner = AnalyticsPlanner(store=store, mapping=MAPPING, options=AnalyticsOptions(**options),
                               today=TODAY, shapes={}, ownership=ownership_lookup(MAPPING))
    return planner.plan().changes


def test_the_weeks_snapshot_is_taken_once_and_only_sfrenews_old_rows_go(
        store: StateStore) -> None:
    this_week, mine_old, persons_old = (_snap(1, date(2026, 3, 9), "2026-03"),
                                        _snap(2, date(2026, 2, 23), "2026-03"),
                                        _snap(3, date(2026, 2, 16), "2026-03"))
    store.upsert_mirror(SNAP, [row for _, row in (this_week, mine_old, persons_old)])
    _wrote(store, SNAP, {this_week[0]: this_week[1].sf_id, mine_old[0]: mine_old[1].sf_id})
    # keep 2 weekly snapshots: 03-09 and 03-02; both older ones are past the retention
    changes = _plan(store, snapshot_weeks=2)
    assert [(c.kind, c.object, c.key, c.sf_id) for c in changes] == [
        (ChangeKind.DELETE, SNAP, mine_old[0], mine_old[1].sf_id)]
    assert "2026-03-02" in changes[0].reason  # the cutoff it was judged by
    # with the default retention nothing is old, and this week's snapshot exists already
    assert _plan(store) == []


def test_metric_rows_no_longer_computed_are_deleted_only_when_sfrenew_wrote_them(
        store: StateStore) -> None:
    ours = metric_key("atr", period="2026-02", dimension="owner",
                      dimension_value="005000000000001AAA", currency="USD")
    theirs = metric_key("atr", period="2026-02", dimension="all", dimension_value="all",
                        currency="USD")
    store.upsert_mirror(METRIC, [
        MirrorRow(f"a03000000000{n}AAA", {"Id": f"a03000000000{n}AAA", "Sfrenew_Key__c": k,
                                          "Metric__c": "atr", "Value__c": 5.0})
        for n, k in ((101, ours), (102, theirs))])
    _wrote(store, METRIC, {ours: "a03000000000101AAA"})
    changes = [c for c in _plan(store) if c.object == METRIC]
    assert [(c.kind, c.key) for c in changes] == [(ChangeKind.DELETE, ours)]


@pytest.mark.parametrize(("outcome", "due", "label"), [
    (Outcome.WON, date(2026, 4, 1), "renewed"),
    (Outcome.LOST, date(2026, 4, 1), "churned"),
    (Outcome.OPEN, date(2026, 3, 11), "open"),  # due today: not lapsed yet
    (Outcome.OPEN, date(2026, 3, 10), "lapsed"),  # the contract ended yesterday
])
def test_outcome_label(outcome: Outcome, due: date, label: str) -> None:
    fact = RenewalFact(renewal_id="006A", account="A", currency="USD", due=due,
                       close_date=due, outcome=outcome, prior_arr=Decimal(1),
                       renewal_arr=Decimal(1), uplift=Decimal(0))
    assert outcome_label(fact, TODAY) == label


def test_a_stored_period_that_is_over_gets_an_actual_even_when_nothing_was_won(
        store: StateStore) -> None:
    over, running = _snap(1, date(2026, 2, 2), "2026-02"), _snap(2, date(2026, 2, 2), "2026-03")
    store.upsert_mirror(SNAP, [over[1], running[1]])
    changes = _plan(store)
    # February is over and nothing of its cohort was won: actual 0, no accuracy (A = 0);
    # March is still running: not judged
    assert [(c.kind, c.key, [(f.field, f.after) for f in c.changes]) for c in changes] == [
        (ChangeKind.UPDATE, over[0], [("Actual_Amount__c", Decimal(0))])]
