"""Risk: configured signals add points; the score sets Low, Medium or High.

Each signal is a small pure function of the account's :class:`RiskSignals` (plus
``today`` and the renewal's uplift rate) and its configured threshold, returning a
plain-language reason when it fires and None when it does not. An unknown value
(``None``) never fires: sfrenew does not guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from sfrenew.core.domain import RiskLevel, RiskSignals
from sfrenew.core.frozen import fast_init
from sfrenew.core.money import format_rate
from sfrenew.core.policy import RiskPolicy, SignalName


@fast_init
@dataclass(frozen=True, slots=True)
class RiskContext:
    """Everything a signal may read for one renewal."""

    signals: RiskSignals
    today: date
    uplift_rate: Decimal  # the largest line uplift of the renewal, before risk adjustment
    late_previous_renewal_days: int | None


Signal = Callable[[RiskContext, Decimal], str | None]


def low_health_score(ctx: RiskContext, below: Decimal) -> str | None:
    """Fires when the health score is below the threshold."""
    score = ctx.signals.health_score
    if score is not None and score < below:
        return f"health score {score} is below {below}"
    return None


def open_high_severity_cases(ctx: RiskContext, at_least: Decimal) -> str | None:
    """Fires when at least the threshold's number of high-severity cases are open."""
    count = ctx.signals.open_high_severity_cases
    if count >= max(at_least, Decimal(1)):
        return f"{count} high-severity case{'s' if count != 1 else ''} open"
    return None


def quiet_from(last: date, days: Decimal) -> date:
    """The first day :func:`no_recent_activity` fires after an activity completed on
    ``last``: the threshold's days later (rounded up to a whole day)."""
    return last + timedelta(days=math.ceil(days))


def no_recent_activity(ctx: RiskContext, days: Decimal) -> str | None:
    """Fires when the last completed activity is at least the threshold's days ago."""
    last = ctx.signals.last_completed_activity
    if last is None:
        return None
    if ctx.today >= quiet_from(last, days):
        since = (ctx.today - last).days
        return f"no completed activity for {since} days (since {last.isoformat()})"
    return None


def no_recent_activity_changes_on(signals: RiskSignals, today: date,
                                  days: Decimal) -> date | None:
    """The first day after ``today`` :func:`no_recent_activity` may answer otherwise: the
    day it fires, then every day (its reason counts the days)."""
    last = signals.last_completed_activity
    if last is None:
        return None
    fires = quiet_from(last, days)
    return fires if today < fires else today + timedelta(days=1)


def usage_decline(ctx: RiskContext, decline: Decimal) -> str | None:
    """Fires when usage fell by at least ``decline`` (a fraction: 0.20 is 20%)."""
    change = ctx.signals.usage_change
    if change is not None and -change >= decline:
        return f"usage fell {format_rate(-change)}"
    return None


def champion_gone(ctx: RiskContext, _threshold: Decimal) -> str | None:
    """Fires when the champion contact has left."""
    return "the champion contact has left" if ctx.signals.champion_gone else None


def late_previous_renewal(ctx: RiskContext, days: Decimal) -> str | None:
    """Fires when the previous renewal was signed at least the threshold's days late."""
    late = ctx.late_previous_renewal_days
    if late is not None and late >= max(days, Decimal(1)):
        return f"the previous renewal was signed {late} days late"
    return None


def payment_overdue(ctx: RiskContext, days: Decimal) -> str | None:
    """Fires when a payment is at least the threshold's days overdue."""
    overdue = ctx.signals.payment_days_overdue
    if overdue is not None and overdue >= max(days, Decimal(1)):
        return f"a payment is {overdue} days overdue"
    return None


def large_uplift(ctx: RiskContext, rate: Decimal) -> str | None:
    """Fires when the renewal's uplift is at least the threshold rate."""
    if ctx.uplift_rate >= rate:
        return f"uplift of {format_rate(ctx.uplift_rate)} is at least {format_rate(rate)}"
    return None


SIGNALS: dict[SignalName, Signal] = {
    SignalName.LOW_HEALTH_SCORE: low_health_score,
    SignalName.OPEN_HIGH_SEVERITY_CASES: open_high_severity_cases,
    SignalName.NO_RECENT_ACTIVITY: no_recent_activity,
    SignalName.USAGE_DECLINE: usage_decline,
    SignalName.CHAMPION_GONE: champion_gone,
    SignalName.LATE_PREVIOUS_RENEWAL: late_previous_renewal,
    SignalName.PAYMENT_OVERDUE: payment_overdue,
    SignalName.LARGE_UPLIFT: large_uplift,
}


SignalChange = Callable[[RiskSignals, date, Decimal], date | None]

# The signals whose answer moves with the date alone (the others read values the org
# keeps: a payment's days overdue is a number on the account, updated by the org, so a
# change of it is a change of the account's records).
SIGNAL_CHANGES: dict[SignalName, SignalChange] = {
    SignalName.NO_RECENT_ACTIVITY: no_recent_activity_changes_on,
}


def risk_changes_on(signals: RiskSignals, today: date, policy: RiskPolicy) -> date | None:
    """The first day after ``today`` on which :func:`assess_risk` may answer otherwise for
    the same signals (any renewal of the account), or None: the soonest of the configured
    signals' changes (``SIGNAL_CHANGES``)."""
    soonest: date | None = None
    for signal in policy.signals:
        changes = SIGNAL_CHANGES.get(signal.name)
        day = changes(signals, today, signal.threshold) if changes is not None else None
        if day is not None and (soonest is None or day < soonest):
            soonest = day
    return soonest


class RiskReason(NamedTuple):
    """One signal that fired: its reason code, points and a sentence for the rep."""

    code: SignalName
    points: int
    text: str


class RiskAssessment(NamedTuple):
    """The renewal's risk: level, score out of 100, reasons by points (largest first)."""

    level: RiskLevel
    score: int
    reasons: tuple[RiskReason, ...]

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes, largest points first (ties by code)."""
        return tuple(r.code.value for r in self.reasons)


def level_for(score: int, policy: RiskPolicy) -> RiskLevel:
    """The level a score falls in: High at ``high_at``, Medium at ``medium_at``."""
    if score >= policy.high_at:
        return RiskLevel.HIGH
    if score >= policy.medium_at:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def assess_risk(ctx: RiskContext, policy: RiskPolicy) -> RiskAssessment:
    """Evaluate every configured signal and score the renewal."""
    reasons: list[RiskReason] = []
    for signal in policy.signals:
        text = SIGNALS[signal.name](ctx, signal.threshold)
        if text is not None:
            reasons.append(RiskReason(signal.name, signal.points, text))
    reasons.sort(key=lambda r: (-r.points, r.code))  # a StrEnum member sorts as its value
    score = 0
    for reason in reasons:  # a loop: a generator is a call
        score += reason.points
    return RiskAssessment(level_for(score, policy), score, tuple(reasons))
