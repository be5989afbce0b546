"""Proration: what part of an annual price a period from start to end (inclusive) costs.

Every method reduces to a fraction of a year, kept exactly as ``numerator /
denominator`` so the amount can be rounded once, at the line total. A period is
split into *whole months* and a *stub* of leftover days:

1. If the period is exactly N months by the term rule (``term_end(start, N) ==
   end``), it is N whole months and no stub — so a full renewal term is always
   priced as exactly its months, month-end clamping included.
2. Otherwise whole months are counted back from the day after the end, and the
   days before them, at the start of the period, are the (leading) stub.

=====================  ======================================================
``day``                days / 365
``month``              whole months / 12, a stub counts as a whole month
``month_day``          whole months / 12 + stub days / 365
``actual_period``      (whole months + stub days / days of the stub's month) / 12
``30_360``             (whole months + stub days / 30) / 12
``cpq_monthly_daily``  whole months counted *forward from the start* / 12 +
                       the days left at the end / 365 (CPQ's "Monthly + Daily")
=====================  ======================================================

"The stub's month" is the month-long span that ends where the whole months begin
(Oct 1 → Oct 31 for a stub Oct 15 → Oct 31), so a stub is always less than one.

``cpq_monthly_daily`` differs from ``month_day`` only in where the whole months are
counted from: CPQ counts the effective subscription term's whole months from its
start (as it computes end dates), so the leftover days sit at the end, and a month
of 31 days before or after changes their count (2023-10-15 → 2024-06-30: 8 months
from Oct 15 to Jun 14 and 16 days, against ``month_day``'s 17-day October stub).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from sfrenew.core.money import round_money
from sfrenew.core.policy import ProrationMethod
from sfrenew.core.rules.term import ONE_DAY, add_months, term_end


class Proration(NamedTuple):
    """How a period was prorated: the method, its parts and the exact year fraction."""

    method: ProrationMethod
    start: date
    end: date
    days: int
    whole_months: int
    stub_days: int  # leftover days (at the start; at the end for cpq_monthly_daily)
    stub_basis: int  # what the stub is divided by: 365, 30 or the stub month's days
    numerator: int
    denominator: int

    @property
    def fraction(self) -> Fraction:
        """The part of a year this period is priced as."""
        return Fraction(self.numerator, self.denominator)

    @property
    def fraction_text(self) -> str:
        """The fraction as an admin checks it, e.g. ``260/365`` or ``(8 + 17/31)/12``."""
        return _fraction_text(self)

    @property
    def decimal_fraction(self) -> Decimal:
        """The year fraction to 6 decimals, for a number field on the line."""
        return round_money(Decimal(self.numerator) / Decimal(self.denominator), 6)


def _fraction_text(p: Proration) -> str:
    if p.method is ProrationMethod.DAY:
        return f"{p.days}/365"
    if p.method is ProrationMethod.MONTH:
        return f"{p.numerator}/12"
    if p.method is ProrationMethod.MONTH_DAY or p.method is ProrationMethod.CPQ_MONTHLY_DAILY:
        return f"{p.whole_months}/12 + {p.stub_days}/365" if p.stub_days else \
            f"{p.whole_months}/12"
    if not p.stub_days:
        return f"{p.whole_months}/12"
    return f"({p.whole_months} + {p.stub_days}/{p.stub_basis})/12"


def split_months(start: date, end: date) -> tuple[int, int, int]:
    """``(whole months, leading stub days, days of the stub's month)`` of a period.

    See the module docstring for the rule; ``end`` must not be before ``start``.
    """
    after = end + ONE_DAY
    months = (after.year - start.year) * 12 + after.month - start.month
    # Exact terms first (see term_end): either the day after the end falls on the
    # start's day of month, or the end was clamped to a month end the start's day
    # does not exist in.
    if after.day == start.day and months > 0:
        return months, 0, 0
    if after.day == 1 and start.day > end.day:
        clamped = months - 1
        if clamped > 0:
            return clamped, 0, 0
    begins = add_months(after, -months)
    if begins < start:
        months -= 1
        begins = add_months(after, -months)
    stub = (begins - start).days
    month_days = (begins - add_months(begins, -1)).days if stub else 0
    return months, stub, month_days


def months_from_start(start: date, end: date) -> tuple[int, int]:
    """``(whole months counted from the start, days left after them)`` of a period.

    The whole months end where a term of that many months would (the term rule,
    month ends clamped); ``end`` must not be before ``start``.
    """
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    while months > 0 and term_end(start, months) > end:
        months -= 1
    covered = term_end(start, months) if months else start - ONE_DAY
    return months, (end - covered).days


@lru_cache(maxsize=1 << 16)
def prorate(start: date, end: date, *, method: ProrationMethod) -> Proration:
    """Prorate the inclusive period ``start``–``end`` by ``method``.

    Raises ValueError when ``end`` is before ``start``. Memoised: it is a pure function
    of three values and a run prorates the same few thousand periods again and again;
    the cache holds immutable results only, so it cannot change an answer.
    """
    return prorate_uncached(start, end, method)


def prorate_uncached(start: date, end: date, method: ProrationMethod) -> Proration:
    """:func:`prorate` without its memo, for callers that memoise periods themselves."""
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    days = (end - start).days + 1
    if method is ProrationMethod.DAY:
        return Proration(method, start, end, days, 0, 0, 365, days, 365)
    if method is ProrationMethod.CPQ_MONTHLY_DAILY:
        months, left = months_from_start(start, end)
        return Proration(method, start, end, days, months, left, 365,
                         months * 365 + left * 12, 12 * 365)
    months, stub, month_days = split_months(start, end)
    if method is ProrationMethod.MONTH:
        whole = months + (1 if stub else 0)
        return Proration(method, start, end, days, months, stub, 0, whole, 12)
    if method is ProrationMethod.MONTH_DAY:
        return Proration(method, start, end, days, months, stub, 365,
                         months * 365 + stub * 12, 12 * 365)
    if method is ProrationMethod.ACTUAL_PERIOD:
        if not stub:
            return Proration(method, start, end, days, months, 0, 0, months, 12)
        return Proration(method, start, end, days, months, stub, month_days,
                         months * month_days + stub, 12 * month_days)
    return Proration(method, start, end, days, months, stub, 30, months * 30 + stub, 360)


def prorated_amount(annual: Decimal, proration: Proration, *, decimals: int) -> Decimal:
    """``annual × fraction``, rounded half-up to ``decimals`` places."""
    return round_money(annual * proration.numerator / proration.denominator, decimals)
