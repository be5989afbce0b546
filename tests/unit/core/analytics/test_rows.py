"""Metric rows, forecast snapshot rows, their settlement and retention, on the book."""

from datetime import date
from decimal import Decimal

import pytest

from sfrenew.core.analytics import (
    Grain,
    Metric,
    MetricRow,
    SnapshotRecord,
    convert_facts,
    metric_cutoff,
    metric_rows,
    settle,
    snapshot_cutoff,
    snapshot_records,
    week_start,
)
from sfrenew.core.keys import metric_key, snapshot_key
from tests.unit.core.analytics.book import BOOK, GRACE, RATES, TODAY

D = Decimal
USD, _ = convert_facts(BOOK, rates=RATES, currency="USD")


def _rows(**kw: object) -> dict[tuple[str, str, str, str], MetricRow]:
    rows = metric_rows(USD, currency="USD", today=TODAY, grain=Grain.MONTH,
                       grace_days=GRACE, since=date(2025, 1, 1), **kw)  # type: ignore[arg-type]
    return {(r.metric.value, r.period, r.dimension, r.dimension_value): r for r in rows}


def test_the_november_cohort_of_the_whole_book() -> None:
    rows = _rows()

    def cell(metric: Metric) -> tuple[Decimal, Decimal, Decimal | None]:
        r = rows[metric.value, "2025-11", "all", "all"]
        return r.value, r.numerator, r.denominator

    # R01 10,000 + R02 20,000 + R03 5,000 + R04 8,000 + R05 10,000 (EUR at 0.9)
    assert cell(Metric.ATR) == (D(53000), D(53000), None)
    assert cell(Metric.RENEWED_ARR) == (D(49000), D(49000), None)  # 10,500+24,000+4,000+10,500
    assert cell(Metric.CHURN_ARR)[0] == D(8000)  # R04 lost
    assert cell(Metric.UPLIFT_ARR)[0] == D(2250)  # 500 + 1,000 + 250 + 500
    assert cell(Metric.EXPANSION_ARR)[0] == D(3000)  # R02: 24,000 − 20,000 − 1,000
    assert cell(Metric.CONTRACTION_ARR)[0] == D(1250)  # R03: 4,000 − 5,000 − 250
    # Σ min(W, P) = 10,000 + 20,000 + 4,000 + 0 + 10,000 = 44,000 over 53,000
    assert cell(Metric.GRR) == (D("0.8302"), D(44000), D(53000))
    assert cell(Metric.NRR) == (D("0.9245"), D(49000), D(53000))
    assert cell(Metric.GRR_EX_ESCALATORS) == (D("0.8255"), D(43750), D(53000))  # −8,000 −1,250
    assert cell(Metric.NRR_EX_ESCALATORS) == (D("0.8821"), D(46750), D(53000))  # −2,250
    # on time: R01, R03 (in grace), R05; late R02; lost R04 → 3 / 5
    assert cell(Metric.ON_TIME_RATE) == (D("0.6000"), D(3), D(5))


def test_rows_per_dimension_value() -> None:
    rows = _rows(dimensions=("segment", "region"))
    assert rows["atr", "2025-11", "segment", "Enterprise"].value == D(20000)  # R02
    assert rows["atr", "2025-11", "segment", "SMB"].value == D(33000)  # R01 R03 R04 R05
    assert rows["atr", "2025-11", "region", "EMEA"].value == D(10000)  # R05
    assert not any(k[2] == "all" for k in rows)


def test_a_rate_without_a_denominator_has_no_row() -> None:
    rows = _rows()
    # 2026-05: only R18, open and not due: ATR, but nothing closed and nothing decided
    assert rows["atr", "2026-05", "all", "all"].value == D(40000)
    assert ("grr", "2026-05", "all", "all") not in rows
    assert ("on_time_rate", "2026-05", "all", "all") not in rows


def test_periods_before_the_cutoff_have_no_rows() -> None:
    rows = metric_rows(USD, currency="USD", today=TODAY, grain=Grain.MONTH,
                       grace_days=GRACE, since=date(2026, 2, 1))
    assert min(r.period for r in rows) == "2026-02"
    assert max(r.period for r in rows) == "2026-09"  # the months ahead are kept


def test_row_keys_are_the_key_definitions() -> None:
    row = _rows()["atr", "2025-11", "all", "all"]
    assert row.key == metric_key("atr", period="2025-11", dimension="all",
                                 dimension_value="all", currency="USD")
    assert row.period_start == date(2025, 11, 1)
    assert row.key != metric_key("atr", period="2025-11", dimension="all",
                                 dimension_value="all", currency="EUR")


@pytest.mark.parametrize(("day", "monday"), [
    (date(2026, 3, 10), date(2026, 3, 9)),  # Tuesday
    (date(2026, 3, 9), date(2026, 3, 9)),  # Monday itself
    (date(2026, 3, 15), date(2026, 3, 9)),  # Sunday
    (date(2028, 3, 1), date(2028, 2, 28)),  # across a leap-year month end
])
def test_the_snapshot_date_is_the_weeks_monday(day: date, monday: date) -> None:
    assert week_start(day) == monday


def test_the_snapshot_covers_this_period_and_later() -> None:
    rows = snapshot_records(USD, currency="USD", snapshot_date=date(2026, 3, 9),
                            grain=Grain.MONTH)
    got = {(r.period, r.category): (r.amount, r.renewals, r.weeks_out) for r in rows}
    assert got == {
        ("2026-03", "Closed"): (D(12000), 1, -2),  # R13; (03-01 − 03-09) = −8 days
        ("2026-03", "Commit"): (D(21000), 1, -2),  # R14
        ("2026-03", "Best Case"): (D(8400), 1, -2),  # R15, High …
        ("2026-03", "At Risk"): (D(8400), 1, -2),  # … so at risk too
        ("2026-04", "Commit"): (D(10500), 1, 3),  # R16; 23 days
        ("2026-04", "At Risk"): (D(10500), 1, 3),
        ("2026-04", "Pipeline"): (D(3150), 1, 3),  # R17
        ("2026-05", "Pipeline"): (D(42000), 1, 7),  # 53 days
        ("2026-06", "Pipeline"): (D(7350), 1, 12),  # 84 days
        ("2026-06", "At Risk"): (D(7350), 1, 12),
        ("2026-09", "Pipeline"): (D(52500), 1, 25),  # 176 days
    }
    first = rows[0]
    assert first.key == snapshot_key(date(2026, 3, 9), period=first.period,
                                     category=first.category, currency="USD")


def test_settling_stored_snapshots_of_a_period_that_is_over() -> None:
    taken = date(2025, 10, 27)

    def row(category: str, amount: int, *, period: str = "2025-11",
            currency: str = "USD") -> SnapshotRecord:
        return SnapshotRecord(taken, period, category, D(amount), 1, currency)

    stored = {"a": row("Commit", 40000), "b": row("Best Case", 5000),
              "c": row("Pipeline", 9000), "d": row("Commit", 1, currency="EUR"),
              "e": row("Commit", 7, period="2026-03")}
    # forecast = Closed + Commit = 40,000; actual 49,000: 1 − 9,000 / 49,000 = 0.8163
    got = settle(stored, {"2025-11": D(49000)}, currency="USD")
    assert [(s.key, s.actual, s.accuracy) for s in got] == [
        ("a", D(49000), D("0.8163")), ("b", D(49000), D("0.8163")),
        ("c", D(49000), D("0.8163"))]


def test_retention_cutoffs() -> None:
    assert metric_cutoff(TODAY, 24) == date(2024, 4, 1)  # 2024-04 … 2026-03: 24 months
    assert metric_cutoff(date(2026, 1, 31), 1) == date(2026, 1, 1)
    # 104 weekly snapshots: this Monday and 103 before it (721 days back)
    assert snapshot_cutoff(date(2026, 3, 9), 104) == date(2024, 3, 18)
    assert snapshot_cutoff(date(2026, 3, 9), 1) == date(2026, 3, 9)
