"""Eligibility and the renewal term, including the month-end rule.

The month-end rule
------------------
A term of N months that starts on day D ends the day before day D of the month
N months later. When that month is too short to have a day D (a term starting on
the 29th, 30th or 31st), the term ends on the last day of that month instead, and
the next term starts on the 1st of the month after:

* Jan 15 + 1 month → Feb 14;  Jan 1 + 12 months → Dec 31
* Jan 31 + 1 month → Feb 28 (Feb 29 in a leap year); the next term starts Mar 1
* Jan 30 + 1 month → Feb 28 (Feb 29 in a leap year); Jan 29 + 1 month → Feb 28
* Mar 31 + 1 month → Apr 30;  Feb 29, 2024 + 12 months → Feb 28, 2025

So ``end = start + N months − 1 day`` where "+ N months" keeps the day of month,
except that a day the target month lacks clamps the *end* (not the anniversary)
to that month's last day. Clamping the anniversary first (Jan 31 + 1 month =
Feb 28, minus a day = Feb 27) would silently drop a day and move every later
renewal of the contract from the 31st to the 28th; this rule never drops a day,
and consecutive terms always join without a gap or an overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sfrenew.core.domain import Contract, ExistingRenewal
from sfrenew.core.frozen import fast_init
from sfrenew.core.policy import EligibilityPolicy

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
ONE_DAY = timedelta(days=1)


_ISO: dict[date, str] = {}
_ISO_MAX = 1 << 16


def iso(day: date) -> str:
    """``day.isoformat()``, memoised: explanations write the same few hundred dates over and
    over, and ``isoformat`` goes through printf-style formatting each time."""
    text = _ISO.get(day)
    if text is None:
        if len(_ISO) > _ISO_MAX:
            _ISO.clear()
        text = _ISO[day] = day.isoformat()
    return text


def days_in_month(year: int, month: int) -> int:
    """The number of days of ``month`` (1–12) in ``year``."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS[month - 1]


def is_month_end(day: date) -> bool:
    """True on the last day of a month."""
    return day.day == days_in_month(day.year, day.month)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (may be negative), clamped to the target month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, days_in_month(year, month)))


def term_end(start: date, months: int) -> date:
    """The last day of a term of ``months`` months starting on ``start`` (see module doc)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = days_in_month(year, month)
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - ONE_DAY


def months_and_days(start: date, end: date) -> tuple[int, int]:
    """The period ``start``..``end`` (both included) as whole months from ``start`` plus
    leftover days, by the month-end rule: 2027-03-03 → 2028-02-11 is (11, 9), a full
    12-month term is (12, 0), an empty period (end the day before start) is (0, 0)."""
    months = max((end.year - start.year) * 12 + end.month - start.month - 1, 0)
    while term_end(start, months + 1) <= end:
        months += 1
    while months > 0 and term_end(start, months) > end:
        months -= 1
    return months, (end - term_end(start, months)).days


def describe_length(months: int, days: int) -> str:
    """``11 months and 9 days``, ``12 months``, ``1 month``, ``20 days``."""
    parts = []
    if months:
        parts.append(f"{months} month{'s' if months != 1 else ''}")
    if days or not months:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    return " and ".join(parts)


def renewal_term_months(contract: Contract, *, default_months: int) -> int:
    """The renewal's term: the renewal-term field, else the contract term, else the default."""
    if contract.renewal_term_months is not None:
        return contract.renewal_term_months
    if contract.term_months is not None:
        return contract.term_months
    return default_months


@fast_init
@dataclass(frozen=True, slots=True)
class RenewalTerm:
    """The natural renewal of one contract, before co-terming."""

    start: date
    end: date
    months: int


def natural_renewal(contract_end: date, months: int) -> RenewalTerm:
    """The renewal term that follows a contract ending on ``contract_end``."""
    start = contract_end + ONE_DAY
    return RenewalTerm(start, term_end(start, months), months)


class Ineligibility(StrEnum):
    """Why a contract is not renewed now (also a skip reason code)."""

    STATUS_NOT_ELIGIBLE = "status_not_eligible"
    MISSING_END_DATE = "missing_end_date"
    ALREADY_ENDED = "already_ended"
    BEYOND_HORIZON = "beyond_horizon"
    DO_NOT_RENEW = "do_not_renew"
    ALREADY_RENEWED_BY_PERSON = "already_renewed_by_person"
    RENEWAL_CLOSED = "renewal_closed"
    EVERGREEN = "evergreen"
    BELOW_MIN_TERM = "below_min_term"


def holds_open_renewal(renewals: tuple[ExistingRenewal, ...]) -> bool:
    """True when one of ``renewals`` is an open renewal sfrenew made or adopted (it stays
    sfrenew's)."""
    return any(r.maintained_by_sfrenew for r in renewals)


def eligibility(
    contract: Contract,
    *,
    today: date,
    policy: EligibilityPolicy,
    renewals: tuple[ExistingRenewal, ...] = (),
    default_term_months: int = 12,
) -> Ineligibility | None:
    """Why ``contract`` is not renewed now, or None when it is eligible.

    ``renewals`` are the existing renewal opportunities that name this contract.
    Checks run in a fixed order so a contract always reports the same reason.
    Evergreen and month-to-month contracts are told before the end-date checks: an
    evergreen contract often has no end date, and either kind should be reported as
    what it is, whenever it ends. A term of zero or less is not "short" but invalid
    (the planner reports it as ``invalid_term``). A contract whose open renewal sfrenew
    made or adopted (``holds_open_renewal``) is never ``already_ended`` nor ``beyond_horizon``.
    """
    if contract.status not in policy.statuses:
        return Ineligibility.STATUS_NOT_ELIGIBLE
    if contract.do_not_renew:
        return Ineligibility.DO_NOT_RENEW
    for renewal in renewals:
        # A person's renewal is theirs, unless it is open and sfrenew adopted it earlier.
        if not renewal.created_by_sfrenew and not renewal.maintained_by_sfrenew:
            return Ineligibility.ALREADY_RENEWED_BY_PERSON
    for renewal in renewals:
        if renewal.is_closed:
            return Ineligibility.RENEWAL_CLOSED
    if not policy.renew_evergreen and contract.is_evergreen:
        return Ineligibility.EVERGREEN
    if 0 < renewal_term_months(contract, default_months=default_term_months) \
            < policy.min_term_months:
        return Ineligibility.BELOW_MIN_TERM
    if contract.end_date is None:
        return Ineligibility.MISSING_END_DATE
    if holds_open_renewal(renewals):
        # The horizon decides what to create, never what to abandon: an open renewal
        # sfrenew made stays its to maintain until it closes, lapsed or far ahead.
        return None
    if contract.end_date < today:
        return Ineligibility.ALREADY_ENDED
    if (contract.end_date - today).days > policy.horizon_days:
        return Ineligibility.BEYOND_HORIZON
    return None
