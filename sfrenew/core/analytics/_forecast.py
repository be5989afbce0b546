"""Forecast snapshots and forecast accuracy.

A **snapshot** taken ``as_of`` a day records, per cohort period and category, the ARR
of the renewals as they stand that day: ``Closed`` (won so far, at won ARR), each open
renewal's forecast category (Commit, Best Case, Pipeline, Omitted) at renewal ARR,
and ``At Risk`` (open renewals at a risk level in ``levels``, also counted in their
category). The weekly job stores them; they cannot be rebuilt later.

**Forecast accuracy** of a period, from the snapshot taken N weeks before it starts
(``weeks_out`` = whole weeks from the snapshot to the period's first day; negative when
taken during it): forecast F = Closed + Commit (+ Best Case with
``include_best_case``), actual A = won ARR of the cohort, accuracy = 1 − |F − A| / A,
floored at 0 (None when A is 0), a fraction to 4 places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sfrenew.core.analytics._periods import Grain, period_of, period_start
from sfrenew.core.analytics._retention import ratio
from sfrenew.core.analytics._values import Outcome, RenewalFact

CLOSED = "Closed"
AT_RISK = "At Risk"
COMMIT = "Commit"
BEST_CASE = "Best Case"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """The ARR of one category of one cohort period, as of a day."""

    as_of: date
    period: str
    category: str
    arr: Decimal
    renewals: int = 0  # how many renewals the ARR adds up


def weeks_out(period: str, as_of: date) -> int:
    """Whole weeks from ``as_of`` to the period's first day (negative during it)."""
    return (period_start(period) - as_of).days // 7


def forecast_snapshot(facts: Iterable[RenewalFact], *, as_of: date, grain: Grain,
                      levels: Collection[str] = ("High",)) -> list[SnapshotRow]:
    """The forecast as the renewals stand ``as_of`` (see the module docstring)."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(slot: tuple[str, str], arr: Decimal) -> None:
        totals[slot] += arr
        counts[slot] += 1

    for fact in facts:
        period = period_of(fact.due, grain)
        if fact.outcome is Outcome.WON:
            add((period, CLOSED), fact.renewal_arr if fact.won_arr is None else fact.won_arr)
        elif fact.outcome is Outcome.OPEN:
            add((period, fact.forecast_category or "Pipeline"), fact.renewal_arr)
            if fact.risk_level in levels:
                add((period, AT_RISK), fact.renewal_arr)
    return [SnapshotRow(as_of, p, c, v, counts[p, c]) for (p, c), v in sorted(totals.items())]


def won_by_period(facts: Iterable[RenewalFact], *, grain: Grain) -> dict[str, Decimal]:
    """Won ARR per cohort period (the actual a forecast is judged against)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for fact in facts:
        if fact.outcome is Outcome.WON:
            out[period_of(fact.due, grain)] += (
                fact.renewal_arr if fact.won_arr is None else fact.won_arr)
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class ForecastAccuracy:
    """One snapshot's forecast of one period against what closed."""

    period: str
    as_of: date
    weeks_out: int
    forecast: Decimal
    actual: Decimal
    accuracy: Decimal | None


def forecast_accuracy(snapshots: Sequence[SnapshotRow], actuals: Mapping[str, Decimal], *,
                      include_best_case: bool = False) -> list[ForecastAccuracy]:
    """Accuracy of every (period, snapshot) whose period has an actual in ``actuals``.

    Pass only the periods that are over: a period still running has no final actual.
    """
    counted = {CLOSED, COMMIT} | ({BEST_CASE} if include_best_case else set())
    forecast: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for row in snapshots:
        if row.period in actuals:
            forecast[row.period, row.as_of] += row.arr if row.category in counted else _ZERO
    out = []
    for (period, as_of), value in sorted(forecast.items()):
        actual = actuals[period]
        accuracy = ratio(actual - abs(value - actual), actual)
        if accuracy is not None and accuracy < 0:
            accuracy = Decimal("0.0000")
        out.append(ForecastAccuracy(period, as_of, weeks_out(period, as_of), value, actual,
                                    accuracy))
    return out
