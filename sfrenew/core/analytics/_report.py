"""Every figure of a book at once, in the reporting currency: what ``sfrenew report`` shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sfrenew.core.analytics._currency import ConversionRates, UnknownCurrencyError
from sfrenew.core.analytics._desk import (
    AtRiskRenewal,
    OnTimeRate,
    PipelineBucket,
    at_risk,
    on_time_by_period,
    pipeline,
)
from sfrenew.core.analytics._forecast import (
    ForecastAccuracy,
    SnapshotRow,
    forecast_accuracy,
    forecast_snapshot,
    won_by_period,
)
from sfrenew.core.analytics._periods import Grain, period_of
from sfrenew.core.analytics._retention import (
    Dimension,
    Retention,
    atr,
    churn_by_reason,
    outcome_of,
    retention_by_period,
)
from sfrenew.core.analytics._values import RenewalFact, RenewalOutcome


def _money(value: Decimal | None, *, rates: ConversionRates, source: str, target: str,
           on: date) -> Decimal | None:
    return None if value is None else rates.convert(value, source=source, target=target, on=on)


def convert_facts(facts: Sequence[RenewalFact], *, rates: ConversionRates, currency: str
                  ) -> tuple[list[RenewalFact], list[str]]:
    """The facts in ``currency`` (each at the rate of its close date), and one problem
    line per renewal whose currency has no rate (it is left out)."""
    out: list[RenewalFact] = []
    problems: list[str] = []
    for f in facts:
        try:
            def conv(value: Decimal, fact: RenewalFact = f) -> Decimal:
                return rates.convert(value, source=fact.currency, target=currency,
                                     on=fact.close_date)
            out.append(replace(
                f, currency=currency, prior_arr=conv(f.prior_arr),
                renewal_arr=conv(f.renewal_arr), uplift=conv(f.uplift),
                won_arr=_money(f.won_arr, rates=rates, source=f.currency, target=currency,
                               on=f.close_date)))
        except UnknownCurrencyError:
            problems.append(f"renewal {f.renewal_id}: currency {f.currency} has no "
                            f"conversion rate (CurrencyType); left out of the figures — "
                            f"add the currency's rate in Setup > Company Information")
    return out, problems


@dataclass(frozen=True)
class BookFigures:
    """All of a book's figures in one currency."""

    currency: str
    today: date
    grain: Grain
    atr: dict[str, dict[str, Decimal]]
    atr_by: dict[str, dict[str, dict[str, Decimal]]]
    outcomes: list[RenewalOutcome]
    retention: dict[str, dict[str, Retention]]
    retention_by_segment: dict[str, dict[str, Retention]]
    churn_by_reason: dict[str, Decimal]
    on_time: dict[str, OnTimeRate]
    pipeline: list[PipelineBucket]
    at_risk: list[AtRiskRenewal]
    snapshot: list[SnapshotRow]
    accuracy: list[ForecastAccuracy]
    problems: list[str]


def book_figures(facts: Sequence[RenewalFact], *, rates: ConversionRates, currency: str,
                 today: date, grain: Grain = Grain.MONTH, grace_days: int = 14,
                 snapshots: Sequence[SnapshotRow] = (),
                 risk_levels: Sequence[str] = ("High",)) -> BookFigures:
    """Every figure of ``facts`` in ``currency``; ``snapshots`` are the stored forecast
    snapshots (their ARR already in ``currency``), judged for periods over by ``today``."""
    converted, problems = convert_facts(facts, rates=rates, currency=currency)
    outcomes = [o for f in converted if (o := outcome_of(f, grain=grain)) is not None]
    current = period_of(today, grain)
    actuals = {p: v for p, v in won_by_period(converted, grain=grain).items() if p < current}
    return BookFigures(
        currency=currency, today=today, grain=grain,
        atr=atr(converted, grain=grain),
        atr_by={d.value: atr(converted, grain=grain, by=d) for d in Dimension},
        outcomes=outcomes,
        retention=retention_by_period(converted, grain=grain),
        retention_by_segment=retention_by_period(converted, grain=grain,
                                                 by=Dimension.SEGMENT),
        churn_by_reason=dict(churn_by_reason(outcomes)),
        on_time=on_time_by_period(converted, today=today, grace_days=grace_days,
                                  grain=grain),
        pipeline=pipeline(converted, today=today, levels=risk_levels),
        at_risk=at_risk(converted, today=today, levels=risk_levels),
        snapshot=forecast_snapshot(converted, as_of=today, grain=grain, levels=risk_levels),
        accuracy=forecast_accuracy(snapshots, actuals),
        problems=problems,
    )
