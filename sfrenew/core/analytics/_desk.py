"""The desk's day-to-day figures: on-time renewal rate, T-minus pipeline, at-risk list.

* **On-time renewal rate** of a cohort (renewals whose contract ends in the period):
  on time = closed won on or before the contract end + ``grace_days``; late = won
  after that, or still open after the contract ended (lapsed: late until closed);
  lost counts against the rate; open renewals not yet due are *pending* and left out.
  rate = on time / (on time + late + lost).
* **T-minus pipeline**: open renewals by days from ``today`` to the contract end:
  overdue (< 0: lapsed), T-30 (0–30), T-60 (31–60), T-90 (61–90), T-120 (91–120),
  later (> 120); each bucket's count and renewal ARR.
* **At-risk list**: open renewals whose risk level is one of ``levels`` (default
  High) or that are overdue, soonest due first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sfrenew.core.analytics._periods import Grain, period_of
from sfrenew.core.analytics._retention import ratio
from sfrenew.core.analytics._values import Outcome, RenewalFact

BUCKETS = ("overdue", "T-30", "T-60", "T-90", "T-120", "later")
# The upper bound (days to the due date, inclusive) of each T-minus bucket; the
# generated Salesforce formula field (sfrenew.mapping) is built from these too.
BUCKET_LIMITS = ((30, "T-30"), (60, "T-60"), (90, "T-90"), (120, "T-120"))


class Timeliness:
    """How a renewal counts in the on-time rate."""

    ON_TIME = "on_time"
    LATE = "late"
    LOST = "lost"
    PENDING = "pending"


def timeliness(fact: RenewalFact, *, today: date, grace_days: int) -> str:
    """``on_time``, ``late``, ``lost`` or ``pending`` (see the module docstring)."""
    if fact.outcome is Outcome.LOST:
        return Timeliness.LOST
    if fact.outcome is Outcome.WON:
        on_time = fact.close_date <= fact.due + timedelta(days=grace_days)
        return Timeliness.ON_TIME if on_time else Timeliness.LATE
    return Timeliness.LATE if today > fact.due else Timeliness.PENDING


@dataclass(frozen=True, slots=True)
class OnTimeRate:
    """One cohort's on-time renewal rate and its counts."""

    on_time: int
    late: int
    lost: int
    pending: int
    rate: Decimal | None


def on_time_by_period(facts: Iterable[RenewalFact], *, today: date, grace_days: int,
                      grain: Grain) -> dict[str, OnTimeRate]:
    """The on-time renewal rate per cohort period, sorted."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for fact in facts:
        counts[period_of(fact.due, grain)][timeliness(fact, today=today,
                                                      grace_days=grace_days)] += 1
    out = {}
    for period in sorted(counts):
        c = counts[period]
        decided = c[Timeliness.ON_TIME] + c[Timeliness.LATE] + c[Timeliness.LOST]
        out[period] = OnTimeRate(c[Timeliness.ON_TIME], c[Timeliness.LATE],
                                 c[Timeliness.LOST], c[Timeliness.PENDING],
                                 ratio(Decimal(c[Timeliness.ON_TIME]), Decimal(decided)))
    return out


def bucket_of(due: date, today: date) -> str:
    """The T-minus bucket of an open renewal whose contract ends ``due``."""
    days = (due - today).days
    if days < 0:
        return "overdue"
    for limit, name in BUCKET_LIMITS:
        if days <= limit:
            return name
    return "later"


@dataclass(frozen=True, slots=True)
class PipelineBucket:
    """Open renewals in one T-minus bucket."""

    bucket: str
    count: int
    arr: Decimal
    at_risk_arr: Decimal


def pipeline(facts: Iterable[RenewalFact], *, today: date,
             levels: Collection[str] = ("High",)) -> list[PipelineBucket]:
    """Every bucket in :data:`BUCKETS` order (empty ones too), with renewal ARR."""
    count: dict[str, int] = defaultdict(int)
    arr: dict[str, Decimal] = defaultdict(Decimal)
    risky: dict[str, Decimal] = defaultdict(Decimal)
    for fact in facts:
        if fact.outcome is not Outcome.OPEN:
            continue
        name = bucket_of(fact.due, today)
        count[name] += 1
        arr[name] += fact.renewal_arr
        if fact.risk_level in levels:
            risky[name] += fact.renewal_arr
    return [PipelineBucket(b, count[b], arr[b], risky[b]) for b in BUCKETS]


@dataclass(frozen=True, slots=True)
class AtRiskRenewal:
    """One row of the at-risk list."""

    renewal_id: str
    account: str
    due: date
    days_to_due: int
    risk_level: str | None
    arr: Decimal
    owner: str | None


def at_risk(facts: Iterable[RenewalFact], *, today: date,
            levels: Collection[str] = ("High",)) -> list[AtRiskRenewal]:
    """Open renewals at risk (a level in ``levels``) or overdue, soonest due first."""
    rows = [AtRiskRenewal(f.renewal_id, f.account, f.due, (f.due - today).days,
                          f.risk_level, f.renewal_arr, f.owner)
            for f in facts
            if f.outcome is Outcome.OPEN and (f.risk_level in levels or f.due < today)]
    return sorted(rows, key=lambda r: (r.due, r.renewal_id))
