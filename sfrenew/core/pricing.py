"""Pricing a co-term group's lines to an end date: yearly prices × prorated periods.

A line's total is ``quantity × annual unit price × year fraction``, rounded once
at the total. A line longer than a year is priced year by year (each 12-month
segment from its start with that year's price) when its yearly prices differ, as
they do when multi-year uplift compounds.

The planner prices every group once per distinct candidate end date (for the
anchor comparison), so :class:`GroupPricer` remembers what does not depend on the
end: periods by (start, end) and each line's yearly prices by number of years.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sfrenew.core.domain import ContractLine
from sfrenew.core.money import round_money
from sfrenew.core.policy import ProrationMethod
from sfrenew.core.rules.proration import Proration, prorate
from sfrenew.core.rules.term import ONE_DAY, term_end
from sfrenew.core.rules.uplift import UpliftDecision, yearly_prices


@dataclass(slots=True)
class PricedLine:
    """One line priced to an end date (working value: the planner copies it into the plan)."""

    prices: tuple[Decimal, ...]  # annual unit price per year of the period
    decision: UpliftDecision  # as applied (pricing may have fallen back from list)
    proration: Proration
    amount: Decimal


@dataclass(slots=True)
class LineToPrice:
    """A line, the uplift decided for it and the day its renewal starts (working value)."""

    line: ContractLine
    decision: UpliftDecision
    start: date


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


@dataclass
class GroupPricer:
    """Prices one group's lines to any end date, reusing end-independent work."""

    items: Sequence[LineToPrice]
    method: ProrationMethod
    compound: bool
    decimals: int
    _periods: dict[tuple[date, date], tuple[Proration, tuple[Proration, ...]]] = field(
        default_factory=dict)
    _prices: dict[int, tuple[tuple[Decimal, ...], UpliftDecision]] = field(
        default_factory=dict)  # longest yearly prices so far, by line index
    _starts: dict[date, list[int]] = field(default_factory=dict)  # line indices by start
    _sums: dict[date, list[Decimal]] = field(default_factory=dict)  # annual by year, by start

    def period(self, start: date, end: date) -> tuple[Proration, tuple[Proration, ...]]:
        """The period's proration and its yearly segments' prorations."""
        found = self._periods.get((start, end))
        if found is None:
            whole = prorate(start, end, method=self.method)
            if whole.days <= 366:  # at most 12 months: the period is its only segment
                found = (whole, (whole,))
            else:
                found = (whole, tuple(prorate(a, b, method=self.method)
                                      for a, b in yearly_segments(start, end)))
            self._periods[(start, end)] = found
        return found

    def _yearly(self, index: int, years: int) -> tuple[tuple[Decimal, ...], UpliftDecision]:
        """The line's first ``years`` yearly prices.

        Year y's price does not depend on how many years follow it, so the longest
        list computed so far serves every shorter request.
        """
        cached = self._prices.get(index)
        if cached is None or len(cached[0]) < years:
            item = self.items[index]
            cached = yearly_prices(
                prior=item.line.annual_price or Decimal(0), list_price=item.line.list_price,
                decision=item.decision, years=years, compound=self.compound,
                decimals=self.decimals)
            self._prices[index] = cached
        prices, decision = cached
        return (prices if len(prices) == years else prices[:years]), decision

    def price(self, end: date) -> list[PricedLine]:
        """Every line priced from its own start to ``end``."""
        out = []
        for index, item in enumerate(self.items):
            whole, segments = self.period(item.start, end)
            prices, decision = self._yearly(index, len(segments))
            quantity = item.line.quantity
            if len(segments) == 1 or len(set(prices)) == 1:
                total = quantity * prices[0] * whole.numerator / whole.denominator
            else:
                total = sum((quantity * p * s.numerator / s.denominator
                             for p, s in zip(prices, segments, strict=True)), Decimal(0))
            out.append(PricedLine(prices, decision, whole, round_money(total, self.decimals)))
        return out

    def _annual_by_year(self, start: date, years: int) -> list[Decimal]:
        """Σ quantity × yearly price over the lines starting on ``start``, per year."""
        sums = self._sums.get(start)
        if sums is None or len(sums) < years:
            sums = [Decimal(0)] * years
            for index in self._starts[start]:
                quantity = self.items[index].line.quantity
                for year, price in enumerate(self._yearly(index, years)[0]):
                    sums[year] += quantity * price
            self._sums[start] = sums
        return sums

    def estimate(self, end: date) -> Decimal:
        """The group's amount to ``end``, rounded per contract rather than per line.

        Used for the anchor comparison's alternatives: pricing each contract as one
        (its lines' annual amounts summed, year by year) costs a fraction of pricing
        every line, and differs from the line-by-line total by rounding cents at most.
        """
        if not self._starts:
            for index, item in enumerate(self.items):
                self._starts.setdefault(item.start, []).append(index)
        total = Decimal(0)
        for start in self._starts:
            whole, segments = self.period(start, end)
            yearly = self._annual_by_year(start, len(segments))
            if len(segments) == 1:
                amount = yearly[0] * whole.numerator / whole.denominator
            else:
                amount = sum((a * s.numerator / s.denominator
                              for a, s in zip(yearly, segments, strict=False)), Decimal(0))
            total += round_money(amount, self.decimals)
        return total
