"""Pricing a co-term group's lines to an end date: yearly prices × prorated periods.

A line's *term unit price* is ``annual unit price × year fraction`` for the line's
period, rounded half-up to the currency; its total is ``quantity × term unit
price`` (rounded again only when the quantity has decimals). That is what
Salesforce stores: an OpportunityLineItem's ``UnitPrice`` is the price for the
line's term and ``TotalPrice = Quantity × UnitPrice``, and the Opportunity's
``Amount`` is the sum of the ``TotalPrice``s, so sfrenew's amount equals what the
org rolls up to the cent (see :func:`term_unit_price` and :func:`line_total`).
A line longer than a year is priced year by year (each 12-month segment from its
start with that year's price) when its yearly prices differ, as they do when
multi-year uplift compounds.

The planner prices every group once per distinct candidate end date (for the
anchor comparison), so :class:`GroupPricer` remembers what does not depend on the
end: each line's yearly prices and, per start date, the lines' annual amounts.

Two module-level memos make the work shared across groups and accounts: periods
by (method, start, end) and yearly prices by the values they are computed from.
Both memoise pure functions of immutable values (dates, Decimals, flags), so they
cannot change an answer; both are bounded (emptied when full).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sfrenew.core.domain import ContractLine
from sfrenew.core.money import quantum_for, round_to
from sfrenew.core.policy import PricingMethod, ProrationMethod
from sfrenew.core.rules.proration import Proration, prorate, prorate_uncached
from sfrenew.core.rules.term import ONE_DAY, term_end
from sfrenew.core.rules.uplift import (
    UpliftDecision,
    as_priced,
    uplifted_prices,
    yearly_prices,
)

_ZERO = Decimal(0)
_ONE = Decimal(1)
_MEMO_MAX = 1 << 16  # entries per memo before it is emptied

Period = tuple[Proration, tuple[Proration, ...]]
_PERIODS: dict[ProrationMethod, dict[tuple[date, date], Period]] = {}
_PriceKey = tuple[Decimal, Decimal | None, Decimal, int, int, bool, int]
_PRICES: dict[_PriceKey, tuple[Decimal, ...]] = {}


# One line priced to an end date: (annual unit price per year of the period, the
# decision as applied — pricing may have fallen back from list —, the period's
# proration, the term unit price, the amount). A plain tuple: a working value made
# once per line, which the planner unpacks straight into the plan.
PricedLine = tuple[tuple[Decimal, ...], UpliftDecision, Proration, Decimal, Decimal]


def term_unit_price(prices: Sequence[Decimal], whole: Proration,
                    segments: Sequence[Proration], quantum: Decimal) -> Decimal:
    """The price of one unit for the whole period, rounded half-up once to ``quantum``.

    ``whole`` is the period's proration, ``segments`` its 12-month segments (just
    ``whole`` for a period of a year or less) and ``prices`` the annual unit price of
    each segment. One price for every year: price × the period's fraction; else
    Σ yearly price × its segment's fraction. Worked examples: 1,050.00 a year for 36
    months is 1,050.00 × 36/12 = 3,150.00; with yearly compounding 1,050.00 +
    1,102.50 + 1,157.63 = 3,310.13; 1,260.00 a year for 11 months and 10 days
    (month_day) is 1,260.00 × (11/12 + 10/365) = 1,189.5205… → 1,189.52.
    """
    if len(segments) == 1 or len(set(prices)) == 1:
        return round_to(prices[0] * whole.numerator / whole.denominator, quantum)
    total = _ZERO
    for p, s in zip(prices, segments, strict=True):
        total += p * s.numerator / s.denominator
    return round_to(total, quantum)


def line_total(quantity: Decimal, unit: Decimal, quantum: Decimal) -> Decimal:
    """A line's total: ``quantity × term unit price``, as Salesforce's TotalPrice.

    Exact for whole quantities; a fractional quantity rounds half-up to ``quantum``
    (10 × 1,189.52 = 11,895.20; 2.5 × 0.33 = 0.825 → 0.83).
    """
    return round_to(quantity * unit, quantum)


@dataclass(slots=True)
class LineToPrice:
    """A line, the uplift decided for it and the day its renewal starts (working value)."""

    line: ContractLine
    decision: UpliftDecision
    start: date
    contract_id: str


def yearly_segments(start: date, end: date) -> list[tuple[date, date]]:
    """The period cut into 12-month segments from its start (the last may be short)."""
    segments = []
    begin, year = start, 1
    while True:
        year_end = term_end(start, 12 * year)
        if year_end >= end:
            segments.append((begin, end))
            return segments
        segments.append((begin, year_end))
        begin, year = year_end + ONE_DAY, year + 1


def _new_period(start: date, end: date, method: ProrationMethod) -> Period:
    # The period memo is the cache for whole periods; a long period's yearly segments
    # recur (every end shares the first years from one start), so they go through
    # prorate's own memo.
    whole = prorate_uncached(start, end, method)
    if whole.days <= 366:  # at most 12 months: the period is its only segment
        return whole, (whole,)
    return whole, tuple([prorate(a, b, method=method) for a, b in yearly_segments(start, end)])


def _periods_for(method: ProrationMethod) -> dict[tuple[date, date], Period]:
    found = _PERIODS.get(method)
    if found is None or len(found) > _MEMO_MAX:
        found = _PERIODS[method] = {}
    return found


class GroupPricer:
    """Prices one group's lines to any end date, reusing end-independent work."""

    __slots__ = ("_applied", "_compound", "_decimals", "_items", "_method", "_periods",
                 "_prices", "_quantum", "_starts", "_sums")

    def __init__(self, items: Sequence[LineToPrice], *, method: ProrationMethod,
                 compound: bool, decimals: int) -> None:
        """Price ``items`` by ``method``, rounded to ``decimals`` places."""
        self._items = items
        self._method = method
        self._compound = compound
        self._decimals = decimals
        self._quantum = quantum_for(decimals)  # round_money's, looked up once
        self._periods = _periods_for(method)
        self._applied: list[UpliftDecision] = []  # the decisions as pricing applies them
        self._prices: list[tuple[Decimal, ...]] = [()] * len(items)  # longest so far
        self._starts: dict[date, list[int]] = {}  # line indices by start, first seen first
        for index, item in enumerate(items):
            self._starts.setdefault(item.start, []).append(index)
            self._applied.append(as_priced(item.decision, item.line.list_price))
        self._sums: dict[date, list[Decimal]] = {}  # annual amounts by year, by start

    def period(self, start: date, end: date) -> Period:
        """The period's proration and its yearly segments' prorations."""
        found = self._periods.get((start, end))
        if found is None:
            if len(self._periods) > _MEMO_MAX:
                self._periods.clear()
            found = self._periods[(start, end)] = _new_period(start, end, self._method)
        return found

    def _yearly(self, index: int, years: int) -> tuple[Decimal, ...]:
        """The line's first ``years`` yearly prices (year y's price ignores later years)."""
        prices = self._prices[index]
        if len(prices) < years:
            item = self._items[index]
            decision = self._applied[index]
            prior = item.line.annual_price or _ZERO
            list_price = item.line.list_price
            method = decision.pricing
            if method is PricingMethod.UPLIFT:
                prices = uplifted_prices(prior, _ONE + decision.rate, years, self._compound,
                                         self._quantum)
                self._prices[index] = prices
                return prices
            tag = 0 if method is PricingMethod.SAME else 1 if method is PricingMethod.LIST else 2
            key = (prior, list_price, decision.rate, tag, years, self._compound, self._decimals)
            found = _PRICES.get(key)
            if found is None:
                found = yearly_prices(prior=prior, list_price=list_price, decision=decision,
                                      years=years, compound=self._compound,
                                      decimals=self._decimals)[0]
                if len(_PRICES) > _MEMO_MAX:
                    _PRICES.clear()
                _PRICES[key] = found
            self._prices[index] = prices = found
        return prices if len(prices) == years else prices[:years]

    def price(self, end: date) -> list[PricedLine]:
        """Every line priced from its own start to ``end``."""
        out = []
        periods = self._periods
        applied = self._applied
        quantum = self._quantum
        last_start = None
        whole: Proration  # set by the first line (lines of one start follow each other)
        segments: tuple[Proration, ...]
        years = 0
        for index, item in enumerate(self._items):
            start = item.start
            if start != last_start:  # a contract's lines are together and share their start
                whole, segments = periods.get((start, end)) or self.period(start, end)
                years = len(segments)
                last_start = start
            prices = self._yearly(index, years)
            unit = term_unit_price(prices, whole, segments, quantum)
            out.append((prices, applied[index], whole, unit,
                        line_total(item.line.quantity, unit, quantum)))
        return out

    def _annual_by_year(self, start: date, years: int) -> list[Decimal]:
        """Σ quantity × yearly price over the lines starting on ``start``, per year."""
        sums = self._sums.get(start)
        if sums is None or len(sums) < years:
            sums = [_ZERO] * years
            items, all_prices = self._items, self._prices
            for index in self._starts[start]:
                quantity = items[index].line.quantity
                prices = all_prices[index]
                if len(prices) != years:
                    prices = self._yearly(index, years)
                if years == 1:  # the common case, without the inner loop
                    sums[0] += quantity * prices[0]
                else:
                    for year, price in enumerate(prices):
                        sums[year] += quantity * price
            self._sums[start] = sums
        return sums

    def estimate(self, end: date) -> Decimal:
        """The group's amount to ``end``, rounded per contract rather than per line.

        Used for the anchor comparison's alternatives: pricing each contract as one
        (its lines' annual amounts summed, year by year) costs a fraction of pricing
        every line, and differs from the line-by-line total (each line's term unit
        price rounded, then × quantity) by at most half a cent per unit.
        """
        total = _ZERO
        periods, quantum = self._periods, self._quantum
        for start in self._starts:
            whole, segments = periods.get((start, end)) or self.period(start, end)
            years = len(segments)
            yearly = self._annual_by_year(start, years)
            if years == 1:
                amount = yearly[0] * whole.numerator / whole.denominator
            else:
                amount = _ZERO
                for a, s in zip(yearly, segments, strict=False):
                    amount += a * s.numerator / s.denominator
            total += round_to(amount, quantum)
        return total
