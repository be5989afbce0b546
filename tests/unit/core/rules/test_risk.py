"""Risk signals, points, thresholds and reason order."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from sfrenew.core.domain import RiskLevel, RiskSignals
from sfrenew.core.policy import RiskPolicy, SignalName, SignalPolicy
from sfrenew.core.rules.risk import (
    SIGNALS,
    RiskContext,
    assess_risk,
    level_for,
)

TODAY = date(2024, 6, 1)


def _ctx(late: int | None = None, uplift: str = "0.03", **signals: object) -> RiskContext:
    return RiskContext(RiskSignals(**signals), TODAY, Decimal(uplift), late)  # type: ignore[arg-type]


@pytest.mark.parametrize(("signal", "threshold", "ctx", "fires"), [
    (SignalName.LOW_HEALTH_SCORE, 60, _ctx(health_score=Decimal(59)), True),
    (SignalName.LOW_HEALTH_SCORE, 60, _ctx(health_score=Decimal(60)), False),
    (SignalName.LOW_HEALTH_SCORE, 60, _ctx(), False),  # unknown never fires
    (SignalName.OPEN_HIGH_SEVERITY_CASES, 1, _ctx(open_high_severity_cases=1), True),
    (SignalName.OPEN_HIGH_SEVERITY_CASES, 2, _ctx(open_high_severity_cases=1), False),
    (SignalName.OPEN_HIGH_SEVERITY_CASES, 1, _ctx(), False),
    (SignalName.NO_RECENT_ACTIVITY, 60,
     _ctx(last_completed_activity=TODAY - timedelta(days=60)), True),
    (SignalName.NO_RECENT_ACTIVITY, 60,
     _ctx(last_completed_activity=TODAY - timedelta(days=59)), False),
    (SignalName.NO_RECENT_ACTIVITY, 60, _ctx(), False),
    (SignalName.USAGE_DECLINE, Decimal("0.20"), _ctx(usage_change=Decimal("-0.20")), True),
    (SignalName.USAGE_DECLINE, Decimal("0.20"), _ctx(usage_change=Decimal("-0.199")), False),
    (SignalName.USAGE_DECLINE, Decimal("0.20"), _ctx(usage_change=Decimal("0.35")), False),
    (SignalName.CHAMPION_GONE, 0, _ctx(champion_gone=True), True),
    (SignalName.CHAMPION_GONE, 0, _ctx(), False),
    (SignalName.LATE_PREVIOUS_RENEWAL, 1, _ctx(late=3), True),
    (SignalName.LATE_PREVIOUS_RENEWAL, 1, _ctx(late=0), False),
    (SignalName.LATE_PREVIOUS_RENEWAL, 1, _ctx(), False),
    (SignalName.PAYMENT_OVERDUE, 30, _ctx(payment_days_overdue=30), True),
    (SignalName.PAYMENT_OVERDUE, 30, _ctx(payment_days_overdue=29), False),
    (SignalName.PAYMENT_OVERDUE, 0, _ctx(payment_days_overdue=0), False),  # 0 days is paid
    (SignalName.LARGE_UPLIFT, Decimal("0.07"), _ctx(uplift="0.07"), True),
    (SignalName.LARGE_UPLIFT, Decimal("0.07"), _ctx(uplift="0.0699"), False),
])
def test_each_signal(signal: SignalName, threshold: int | Decimal, ctx: RiskContext,
                     fires: bool) -> None:
    reason = SIGNALS[signal](ctx, Decimal(threshold))
    assert (reason is not None) is fires
    if reason is not None:
        assert reason  # a sentence a rep can read


def test_every_signal_has_a_function() -> None:
    assert set(SIGNALS) == set(SignalName)


@pytest.mark.parametrize(("score", "level"), [
    (0, RiskLevel.LOW), (29, RiskLevel.LOW), (30, RiskLevel.MEDIUM), (59, RiskLevel.MEDIUM),
    (60, RiskLevel.HIGH), (100, RiskLevel.HIGH),
])
def test_thresholds(score: int, level: RiskLevel) -> None:
    assert level_for(score, RiskPolicy()) is level


def test_reasons_are_ordered_by_points_then_code() -> None:
    ctx = _ctx(health_score=Decimal(10), champion_gone=True, open_high_severity_cases=3,
               payment_days_overdue=90, uplift="0.09")
    risk = assess_risk(ctx, RiskPolicy())
    assert risk.reason_codes == ("low_health_score", "champion_gone",
                                 "open_high_severity_cases", "large_uplift", "payment_overdue")
    assert risk.score == 20 + 15 + 15 + 10 + 10
    assert risk.level is RiskLevel.HIGH


def test_no_signal_is_low_with_no_reasons() -> None:
    risk = assess_risk(_ctx(), RiskPolicy())
    assert (risk.level, risk.score, risk.reasons) == (RiskLevel.LOW, 0, ())


def test_points_must_add_to_100() -> None:
    RiskPolicy()  # the defaults do
    with pytest.raises(ValueError, match="add up to 60; they must add up to 100"):
        RiskPolicy(signals=(SignalPolicy(SignalName.CHAMPION_GONE, 60),))
    with pytest.raises(ValueError, match="must not be negative"):
        RiskPolicy(signals=(SignalPolicy(SignalName.CHAMPION_GONE, 110),
                            SignalPolicy(SignalName.PAYMENT_OVERDUE, -10)))
    with pytest.raises(ValueError, match="medium"):
        RiskPolicy(medium_at=70, high_at=60)
