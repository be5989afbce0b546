"""The rows sfrenew stores in Salesforce: metric rows and weekly forecast snapshots.

Pure: facts (already in the row's currency), ``today`` and the retention come in; row
values come out, each with the key it is upserted by (``sfrenew/core/keys.py``).

* **Metric rows** (``Sfrenew_Renewal_Metric__c``): one per metric, period, dimension
  value and currency, for the periods starting on or after the retention cutoff
  (later periods too: ATR of the months ahead). Money metrics carry the amount as value
  and numerator; rates (a fraction to 4 places) their numerator and denominator. A rate
  with no denominator (nothing closed yet) has no row.
* **Forecast snapshot rows** (``Sfrenew_Forecast_Snapshot__c``): the forecast of the
  current period and every later one, per category, as the book stands on the week's
  Monday. Once a period is over, each stored row gets the period's actual (won ARR) and
  the accuracy of its snapshot (Closed + Commit against the actual, see ``_forecast``).
* **Retention**: metric rows of periods starting before ``metric_cutoff`` and snapshots
  taken before ``snapshot_cutoff`` are sfrenew's to delete.

Worked example (the unit book, 2026-03-10, 24 months): the cutoff is 2024-04-01, the
snapshot date Monday 2026-03-09, whose rows cover 2026-03 onwards; 2026-04 is 3 weeks
out ((2026-04-01 − 2026-03-09) = 23 days).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from sfrenew.core.analytics._desk import on_time_by_period
from sfrenew.core.analytics._forecast import (
    SnapshotRow,
    forecast_accuracy,
    forecast_snapshot,
    weeks_out,
)
from sfrenew.core.analytics._periods import Grain, period_of, period_start
from sfrenew.core.analytics._retention import Dimension, Retention, atr, retention_by_period
from sfrenew.core.analytics._retention import dimension_value as _value_of
from sfrenew.core.analytics._values import RenewalFact
from sfrenew.core.keys import metric_key, snapshot_key
from sfrenew.core.rules.term import add_months


class Metric(StrEnum):
    """What a metric row measures (``Metric__c``)."""

    ATR = "atr"
    RENEWED_ARR = "renewed_arr"
    CHURN_ARR = "churn_arr"
    CONTRACTION_ARR = "contraction_arr"
    UPLIFT_ARR = "uplift_arr"
    EXPANSION_ARR = "expansion_arr"
    GRR = "grr"
    NRR = "nrr"
    GRR_EX_ESCALATORS = "grr_ex_escalators"
    NRR_EX_ESCALATORS = "nrr_ex_escalators"
    ON_TIME_RATE = "on_time_rate"


ALL = "all"
WHOLE_BOOK = (ALL,)  # ``dimensions`` for the whole book only
# Dimension__c values and what they group on (``all``: the whole book).
DIMENSIONS: Mapping[str, Dimension | None] = {
    ALL: None, "segment": Dimension.SEGMENT, "region": Dimension.REGION,
    "owner": Dimension.OWNER, "risk_level": Dimension.RISK}


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One figure of one period, dimension value and currency."""

    metric: Metric
    period: str
    dimension: str
    dimension_value: str
    currency: str
    value: Decimal
    numerator: Decimal
    denominator: Decimal | None = None

    @property
    def period_start(self) -> date:
        """The period's first day (``Period_Start__c``)."""
        return period_start(self.period)

    @property
    def key(self) -> str:
        """The row's key (``Sfrenew_Key__c``)."""
        return metric_key(self.metric.value, period=self.period, dimension=self.dimension,
                          dimension_value=self.dimension_value, currency=self.currency)


def _retention_rows(period: str, ret: Retention, head: tuple[str, str, str]
                    ) -> list[MetricRow]:
    dim, value, cur = head
    rows = [MetricRow(m, period, dim, value, cur, amount, amount) for m, amount in (
        (Metric.RENEWED_ARR, ret.end), (Metric.CHURN_ARR, ret.churn),
        (Metric.CONTRACTION_ARR, ret.contraction), (Metric.UPLIFT_ARR, ret.uplift),
        (Metric.EXPANSION_ARR, ret.expansion))]
    for metric, rate, numerator in (
            (Metric.GRR, ret.grr, ret.gross_retained), (Metric.NRR, ret.nrr, ret.end),
            (Metric.GRR_EX_ESCALATORS, ret.grr_excluding_escalators,
             ret.start - ret.churn - ret.contraction),
            (Metric.NRR_EX_ESCALATORS, ret.nrr_excluding_escalators, ret.end - ret.uplift)):
        if rate is not None:
            rows.append(MetricRow(metric, period, dim, value, cur, rate, numerator, ret.start))
    return rows


def _group_rows(facts: Sequence[RenewalFact], head: tuple[str, str, str], *, today: date,
                grain: Grain, grace_days: int, since: date) -> list[MetricRow]:
    dim, value, cur = head
    rows: list[MetricRow] = []
    for period, by in atr(facts, grain=grain).items():
        rows.append(MetricRow(Metric.ATR, period, dim, value, cur, by[ALL], by[ALL]))
    for period, groups in retention_by_period(facts, grain=grain).items():
        rows.extend(_retention_rows(period, groups[ALL], head))
    for period, rate in on_time_by_period(facts, today=today, grace_days=grace_days,
                                          grain=grain).items():
        decided = rate.on_time + rate.late + rate.lost
        if rate.rate is not None:
            rows.append(MetricRow(Metric.ON_TIME_RATE, period, dim, value, cur, rate.rate,
                                  Decimal(rate.on_time), Decimal(decided)))
    return [r for r in rows if r.period_start >= since]


def metric_rows(facts: Iterable[RenewalFact], *, currency: str, today: date, grain: Grain,
                grace_days: int, since: date,
                dimensions: Collection[str] = tuple(DIMENSIONS)) -> list[MetricRow]:
    """Every metric row of ``facts`` (all in ``currency``) for periods from ``since``,
    per dimension in ``dimensions`` (names of :data:`DIMENSIONS`), sorted by key parts."""
    book = list(facts)
    rows: list[MetricRow] = []
    for name in dimensions:
        by = DIMENSIONS[name]
        groups: dict[str, list[RenewalFact]] = defaultdict(list)
        for fact in book:
            groups[ALL if by is None else _value_of(fact, by)].append(fact)
        for value, members in sorted(groups.items()):
            rows.extend(_group_rows(members, (name, value, currency), today=today,
                                    grain=grain, grace_days=grace_days, since=since))
    return sorted(rows, key=lambda r: (r.period, r.dimension, r.dimension_value, r.metric))


def week_start(day: date) -> date:
    """The Monday of ``day``'s week: a weekly snapshot's date."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """One category of one period's forecast, as it stood on ``snapshot_date``."""

    snapshot_date: date
    period: str
    category: str
    amount: Decimal
    renewals: int
    currency: str

    @property
    def period_start(self) -> date:
        """The period's first day (``Period_Start__c``)."""
        return period_start(self.period)

    @property
    def weeks_out(self) -> int:
        """Whole weeks from the snapshot to the period's start (``Weeks_Out__c``)."""
        return weeks_out(self.period, self.snapshot_date)

    @property
    def key(self) -> str:
        """The row's key (``Sfrenew_Key__c``)."""
        return snapshot_key(self.snapshot_date, period=self.period, category=self.category,
                            currency=self.currency)


def snapshot_records(facts: Iterable[RenewalFact], *, currency: str, snapshot_date: date,
                     grain: Grain, levels: Collection[str] = ("High",)
                     ) -> list[SnapshotRecord]:
    """The forecast of the snapshot date's period and every later one (facts in
    ``currency``), one record per period and category."""
    current = period_start(period_of(snapshot_date, grain))
    return [SnapshotRecord(r.as_of, r.period, r.category, r.arr, r.renewals, currency)
            for r in forecast_snapshot(facts, as_of=snapshot_date, grain=grain, levels=levels)
            if period_start(r.period) >= current]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a stored snapshot row gets once its period is over."""

    key: str
    actual: Decimal
    accuracy: Decimal | None


def settle(stored: Mapping[str, SnapshotRecord], actuals: Mapping[str, Decimal], *,
           currency: str, include_best_case: bool = False) -> list[Settlement]:
    """The actual and accuracy of every stored row (by key) in ``currency`` whose period
    has an actual in ``actuals`` (pass only periods that are over). Every category row of
    one snapshot and period carries that snapshot's accuracy for the period."""
    mine = {k: r for k, r in stored.items() if r.currency == currency and r.period in actuals}
    judged = forecast_accuracy(
        [SnapshotRow(r.snapshot_date, r.period, r.category, r.amount) for r in mine.values()],
        actuals, include_best_case=include_best_case)
    accuracy = {(a.period, a.as_of): a.accuracy for a in judged}
    return [Settlement(k, actuals[r.period], accuracy.get((r.period, r.snapshot_date)))
            for k, r in sorted(mine.items())]


def metric_cutoff(today: date, months: int) -> date:
    """The first period start kept: ``months`` monthly periods up to today's month."""
    return add_months(today.replace(day=1), -(months - 1))


def snapshot_cutoff(snapshot_date: date, weeks: int) -> date:
    """The oldest snapshot date kept: the last ``weeks`` weekly snapshots."""
    return snapshot_date - timedelta(weeks=weeks - 1)
