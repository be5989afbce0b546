"""Forecast category: from the opportunity's stage, then capped by its risk level.

High risk is never Commit, whatever the configuration says: the cap for High is at
most Best Case.
"""

from __future__ import annotations

from sfrenew.core.domain import RiskLevel
from sfrenew.core.policy import FORECAST_ORDER, ForecastCategory, ForecastPolicy


def forecast_category(*, stage: str, risk: RiskLevel, policy: ForecastPolicy,
                      ) -> tuple[ForecastCategory, bool]:
    """The category for ``stage`` at ``risk``, and whether the risk cap lowered it.

    Closed and Omitted stages are facts, not forecasts, and are never capped.
    """
    category = policy.stage_categories.get(stage, policy.default_category)
    if category in (ForecastCategory.CLOSED, ForecastCategory.OMITTED):
        return category, False
    cap = policy.risk_caps.get(risk)
    if risk is RiskLevel.HIGH and (cap is None or FORECAST_ORDER[cap] > FORECAST_ORDER[
            ForecastCategory.BEST_CASE]):
        cap = ForecastCategory.BEST_CASE
    if cap is not None and FORECAST_ORDER[category] > FORECAST_ORDER[cap]:
        return cap, True
    return category, False
