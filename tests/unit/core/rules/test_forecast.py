"""Forecast category from stage and risk."""

import pytest

from sfrenew.core.domain import RiskLevel
from sfrenew.core.policy import ForecastCategory as F
from sfrenew.core.policy import ForecastPolicy
from sfrenew.core.rules.forecast import forecast_category

LOOSE = ForecastPolicy(risk_caps={RiskLevel.HIGH: F.COMMIT})  # a config that tries Commit


@pytest.mark.parametrize(("stage", "risk", "policy", "expected", "capped"), [
    ("Prospecting", RiskLevel.LOW, ForecastPolicy(), F.PIPELINE, False),
    ("Negotiation/Review", RiskLevel.LOW, ForecastPolicy(), F.COMMIT, False),
    ("Negotiation/Review", RiskLevel.MEDIUM, ForecastPolicy(), F.COMMIT, False),
    ("Negotiation/Review", RiskLevel.HIGH, ForecastPolicy(), F.BEST_CASE, True),
    ("Negotiation/Review", RiskLevel.HIGH, LOOSE, F.BEST_CASE, True),  # never Commit
    ("Negotiation/Review", RiskLevel.HIGH, ForecastPolicy(risk_caps={}), F.BEST_CASE, True),
    ("Proposal/Price Quote", RiskLevel.HIGH, ForecastPolicy(), F.BEST_CASE, False),
    ("Closed Won", RiskLevel.HIGH, ForecastPolicy(), F.CLOSED, False),
    ("Closed Lost", RiskLevel.LOW, ForecastPolicy(), F.OMITTED, False),
    ("Some Custom Stage", RiskLevel.LOW, ForecastPolicy(), F.PIPELINE, False),
    ("Negotiation/Review", RiskLevel.MEDIUM,
     ForecastPolicy(risk_caps={RiskLevel.MEDIUM: F.PIPELINE}), F.PIPELINE, True),
])
def test_forecast_category(stage: str, risk: RiskLevel, policy: ForecastPolicy,
                           expected: F, capped: bool) -> None:
    assert forecast_category(stage=stage, risk=risk, policy=policy) == (expected, capped)
