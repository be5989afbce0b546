"""Renewal analytics: ATR, outcomes, GRR/NRR, on-time rate, pipeline, forecast accuracy.

Pure functions over :class:`RenewalFact` values (no I/O, no clock: ``today``, periods
and conversion rates come in as arguments). Definitions and worked examples:
docs/analytics.md.
"""

from sfrenew.core.analytics._currency import (
    ConversionRates,
    DatedRate,
    UnknownCurrencyError,
    identity_rates,
)
from sfrenew.core.analytics._desk import (
    BUCKET_LIMITS,
    BUCKETS,
    AtRiskRenewal,
    OnTimeRate,
    PipelineBucket,
    at_risk,
    bucket_of,
    on_time_by_period,
    pipeline,
    timeliness,
)
from sfrenew.core.analytics._forecast import (
    ForecastAccuracy,
    SnapshotRow,
    forecast_accuracy,
    forecast_snapshot,
    weeks_out,
    won_by_period,
)
from sfrenew.core.analytics._periods import Grain, period_of, period_start
from sfrenew.core.analytics._report import BookFigures, book_figures, convert_facts
from sfrenew.core.analytics._retention import (
    Dimension,
    Retention,
    atr,
    churn_by_reason,
    dimension_value,
    outcome_of,
    ratio,
    retention,
    retention_by_period,
)
from sfrenew.core.analytics._rows import (
    DIMENSIONS,
    WHOLE_BOOK,
    Metric,
    MetricRow,
    Settlement,
    SnapshotRecord,
    metric_cutoff,
    metric_rows,
    settle,
    snapshot_cutoff,
    snapshot_records,
    week_start,
)
from sfrenew.core.analytics._values import Outcome, RenewalFact, RenewalOutcome

__all__ = [
    "BUCKETS", "BUCKET_LIMITS", "DIMENSIONS", "WHOLE_BOOK", "AtRiskRenewal",
    "BookFigures", "ConversionRates", "DatedRate", "Dimension", "ForecastAccuracy",
    "Grain", "Metric", "MetricRow", "OnTimeRate", "Outcome", "PipelineBucket",
    "RenewalFact", "RenewalOutcome", "Retention", "Settlement", "SnapshotRecord",
    "SnapshotRow", "UnknownCurrencyError", "at_risk", "atr", "book_figures",
    "bucket_of", "churn_by_reason", "convert_facts", "dimension_value",
    "forecast_accuracy", "forecast_snapshot", "identity_rates", "metric_cutoff",
    "metric_rows", "on_time_by_period", "outcome_of", "period_of", "period_start",
    "pipeline", "ratio", "retention", "retention_by_period", "settle",
    "snapshot_cutoff", "snapshot_records", "timeliness", "week_start", "weeks_out",
    "won_by_period",
]
