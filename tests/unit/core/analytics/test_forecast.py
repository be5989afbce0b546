"""Forecast snapshots and accuracy on the hand-computed book."""

from datetime import date
from decimal import Decimal

from sfrenew.core.analytics import (
    ForecastAccuracy,
    Grain,
    SnapshotRow,
    convert_facts,
    forecast_accuracy,
    forecast_snapshot,
    won_by_period,
)
from tests.unit.core.analytics.book import BOOK, RATES, TODAY

D = Decimal
USD, _ = convert_facts(BOOK, rates=RATES, currency="USD")


def test_snapshot_as_the_book_stands_today() -> None:
    rows = {(r.period, r.category): r.arr for r in forecast_snapshot(USD, as_of=TODAY,
                                                                     grain=Grain.MONTH)}
    assert rows == {
        ("2025-11", "Closed"): D(49000),  # 10,500 + 24,000 + 4,000 + 10,500
        ("2025-12", "Closed"): D(48000),  # 10,500 + 27,000 + 10,500
        ("2026-02", "Closed"): D(15750),  # R10
        ("2026-02", "Pipeline"): D(6300),  # R11, lapsed, still open
        ("2026-03", "Closed"): D(12000),  # R13
        ("2026-03", "Commit"): D(21000),  # R14
        ("2026-03", "Best Case"): D(8400),  # R15 …
        ("2026-03", "At Risk"): D(8400),  # … which is High risk
        ("2026-04", "Commit"): D(10500),  # R16 (EUR 8,400 / 0.8), High
        ("2026-04", "At Risk"): D(10500),
        ("2026-04", "Pipeline"): D(3150),  # R17
        ("2026-05", "Pipeline"): D(42000),
        ("2026-06", "Pipeline"): D(7350),
        ("2026-06", "At Risk"): D(7350),
        ("2026-09", "Pipeline"): D(52500),
    }


def test_won_by_period() -> None:
    assert won_by_period(USD, grain=Grain.MONTH) == {
        "2025-11": D(49000), "2025-12": D(48000), "2026-02": D(15750), "2026-03": D(12000)}


SNAPSHOTS = [
    # taken 2026-01-05 for February: 27 days before 2026-02-01 → 3 weeks out
    SnapshotRow(date(2026, 1, 5), "2026-02", "Commit", D(18000)),
    SnapshotRow(date(2026, 1, 5), "2026-02", "Best Case", D(5000)),
    SnapshotRow(date(2026, 1, 5), "2026-02", "Pipeline", D(6000)),
    SnapshotRow(date(2026, 1, 5), "2026-02", "At Risk", D(5000)),
    # taken 2026-01-26: 6 days before → 0 weeks out
    SnapshotRow(date(2026, 1, 26), "2026-02", "Commit", D(15000)),
    # taken 2025-10-06 for December: 56 days → 8 weeks out
    SnapshotRow(date(2025, 10, 6), "2025-12", "Commit", D(100000)),
    # a period without an actual (still running) is not judged
    SnapshotRow(date(2026, 2, 2), "2026-03", "Commit", D(40000)),
]


def test_forecast_accuracy_commit() -> None:
    actuals = {"2025-12": D(48000), "2026-02": D(15750)}
    assert forecast_accuracy(SNAPSHOTS, actuals) == [
        # |100,000 − 48,000| = 52,000 > 48,000: floored at 0
        ForecastAccuracy("2025-12", date(2025, 10, 6), 8, D(100000), D(48000), D("0.0000")),
        # 1 − |18,000 − 15,750| / 15,750 = 1 − 0.142857… = 0.8571
        ForecastAccuracy("2026-02", date(2026, 1, 5), 3, D(18000), D(15750), D("0.8571")),
        # 1 − 750 / 15,750 = 0.952380… = 0.9524
        ForecastAccuracy("2026-02", date(2026, 1, 26), 0, D(15000), D(15750), D("0.9524")),
    ]


def test_forecast_accuracy_with_best_case() -> None:
    rows = forecast_accuracy(SNAPSHOTS, {"2026-02": D(15750)}, include_best_case=True)
    # 18,000 + 5,000 = 23,000: 1 − 7,250 / 15,750 = 0.539682… = 0.5397
    assert (rows[0].forecast, rows[0].accuracy) == (D(23000), D("0.5397"))


def test_no_actual_no_accuracy() -> None:
    rows = forecast_accuracy([SnapshotRow(date(2026, 1, 5), "2026-02", "Commit", D(1))],
                             {"2026-02": D(0)})
    assert rows[0].accuracy is None
