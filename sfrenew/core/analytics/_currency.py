"""Conversion into the reporting currency with the org's rates.

Salesforce stores one ``ConversionRate`` per currency (``CurrencyType``): units of
that currency per one unit of the corporate currency; with advanced currency
management, ``DatedConversionRate`` rows give a rate for ``[StartDate, NextStartDate)``
and an opportunity converts at the rate in force on its ``CloseDate``. So an amount in
currency A is ``amount / rate(A) × rate(B)`` in currency B, rounded half-up to B's
decimals once per renewal. Worked example (corporate USD; EUR 0.9, GBP 0.8): 9,000.00
EUR is 9,000 / 0.9 × 0.8 = 8,000.00 GBP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sfrenew.core.money import round_money


class UnknownCurrencyError(ValueError):
    """An amount's currency has no conversion rate: the caller reports and skips it."""


@dataclass(frozen=True, slots=True)
class DatedRate:
    """One ``DatedConversionRate`` row: ``rate`` from ``start`` until ``next_start``."""

    currency: str
    start: date
    next_start: date
    rate: Decimal


@dataclass(frozen=True)
class ConversionRates:
    """The org's rates: ``rates`` from CurrencyType, ``dated`` from DatedConversionRate."""

    rates: Mapping[str, Decimal]
    dated: Sequence[DatedRate] = ()
    decimals: Mapping[str, int] = field(default_factory=dict)

    def rate(self, currency: str, on: date) -> Decimal:
        """The rate of ``currency`` in force ``on`` (dated first, else the plain rate)."""
        for row in self.dated:
            if row.currency == currency and row.start <= on < row.next_start:
                return row.rate
        try:
            return self.rates[currency]
        except KeyError:
            raise UnknownCurrencyError(currency) from None

    def convert(self, amount: Decimal, *, source: str, target: str, on: date) -> Decimal:
        """``amount`` in ``source`` as ``target``, rounded half-up to target's decimals."""
        decimals = self.decimals.get(target, 2)
        if source == target:
            return round_money(amount, decimals)
        value = amount / self.rate(source, on) * self.rate(target, on)
        return round_money(value, decimals)


def identity_rates(currency: str, decimals: int = 2) -> ConversionRates:
    """Rates for reporting one currency in itself (the per-currency figures)."""
    return ConversionRates(rates={currency: Decimal(1)}, decimals={currency: decimals})
