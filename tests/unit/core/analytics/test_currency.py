"""Conversion into the reporting currency (CurrencyType and DatedConversionRate)."""

from datetime import date
from decimal import Decimal

import pytest

from sfrenew.core.analytics import (
    ConversionRates,
    DatedRate,
    UnknownCurrencyError,
    convert_facts,
    identity_rates,
)
from tests.unit.core.analytics.book import BOOK, RATES

D = Decimal


@pytest.mark.parametrize(("amount", "source", "target", "on", "expected"), [
    # plain CurrencyType rates: 9,000 EUR / 0.8 × 1 = 11,250.00 USD
    ("9000", "EUR", "USD", date(2026, 4, 1), "11250.00"),
    # the dated rate in force on the close date wins: 9,000 / 0.9 = 10,000.00
    ("9000", "EUR", "USD", date(2025, 11, 20), "10000.00"),
    # NextStartDate is exclusive: on 2026-01-01 the plain rate again
    ("9000", "EUR", "USD", date(2026, 1, 1), "11250.00"),
    # cross rate through the corporate currency: 5,000 GBP / 0.5 × 0.8 = 8,000.00 EUR
    ("5000", "GBP", "EUR", date(2026, 4, 1), "8000.00"),
    # into JPY, 0 decimals: 10.01 USD × 150 = 1,501.5 → 1,502 (half up)
    ("10.01", "USD", "JPY", date(2026, 4, 1), "1502"),
    # 1,000 JPY / 150 = 6.6666… → 6.67 USD
    ("1000", "JPY", "USD", date(2026, 4, 1), "6.67"),
    # same currency: only rounded
    ("10.005", "USD", "USD", date(2026, 4, 1), "10.01"),
])
def test_convert(amount: str, source: str, target: str, on: date, expected: str) -> None:
    assert RATES.convert(D(amount), source=source, target=target, on=on) == D(expected)


def test_unknown_currency_is_reported_and_left_out() -> None:
    rates = ConversionRates(rates={"USD": D(1)})
    with pytest.raises(UnknownCurrencyError):
        rates.convert(D(1), source="CHF", target="USD", on=date(2026, 1, 1))
    facts, problems = convert_facts(BOOK, rates=rates, currency="USD")
    # Only USD renewals remain: 20 − R05, R06, R09, R16 = 16
    assert len(facts) == 16
    assert len(problems) == 4
    assert problems[0].startswith("renewal R05: currency EUR has no conversion rate")


def test_convert_facts_converts_every_amount_at_its_close_date() -> None:
    facts, problems = convert_facts(BOOK, rates=RATES, currency="USD")
    assert problems == []
    by_id = {f.renewal_id: f for f in facts}
    r05 = by_id["R05"]  # EUR, closed 2025-11-20: dated 0.9
    assert (r05.prior_arr, r05.uplift, r05.won_arr) == (D("10000.00"), D("500.00"),
                                                         D("10500.00"))
    r16 = by_id["R16"]  # EUR, closes 2026-04-20: plain 0.8; 8,400 / 0.8 = 10,500.00
    assert (r16.prior_arr, r16.renewal_arr, r16.currency) == (D("10000.00"), D("10500.00"),
                                                               "USD")
    r09 = by_id["R09"]  # JPY 1,575,000 / 150 = 10,500.00
    assert r09.won_arr == D("10500.00")


def test_identity_rates_only_round() -> None:
    rates = identity_rates("EUR")
    assert rates.convert(D("1.005"), source="EUR", target="EUR", on=date(2026, 1, 1)) == D("1.01")
    assert DatedRate("EUR", date(2026, 1, 1), date(2026, 2, 1), D(1)).rate == D(1)
