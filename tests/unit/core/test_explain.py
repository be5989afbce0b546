"""Explanation fragments: plain words, deterministic, within Salesforce field limits."""

from datetime import date
from decimal import Decimal

import pytest

from sfrenew.core.explain import (
    LINE_MAX,
    describe_proration,
    describe_uplift,
    explain_line,
    truncate,
)
from sfrenew.core.formula import parse
from sfrenew.core.policy import PricingMethod, ProrationMethod, UpliftPolicy
from sfrenew.core.rules.proration import prorate
from sfrenew.core.rules.uplift import UpliftSource, decide_uplift

P = Decimal


def test_truncate_says_it_cut() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 500, 100)
    assert len(cut) == 100
    assert "cut to fit" in cut


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"rate": P("0.05"), "source": UpliftSource.DEFAULT}, "5% from the default uplift"),
    ({"rate": P("0.09"), "source": UpliftSource.LINE, "contract_cap": P("0.07")},
     "9% from the line's uplift field (contractual), capped at 7% (contractual cap)"),
    ({"rate": P("0.01"), "source": UpliftSource.CONTRACT, "contract_floor": P("0.02")},
     "1% from the contract's uplift field (contractual), raised to 2% (contractual floor)"),
    ({"rate": P("0.09"), "source": UpliftSource.RULE, "rule_name": "EMEA",
      "policy": UpliftPolicy(cap=P("0.07"))},
     'from uplift rule "EMEA", capped at 7% (policy cap)'),
    ({"rate": P("0.06"), "source": UpliftSource.RULE, "rule_name": "EMEA"},
     'from uplift rule "EMEA"'),
])
def test_describe_uplift(kwargs: dict[str, object], text: str) -> None:
    values: dict[str, object] = {"contract_cap": None, "contract_floor": None,
                                 "rule_name": None, "policy": UpliftPolicy(), **kwargs}
    decision = decide_uplift(**values)  # type: ignore[arg-type]
    assert text in describe_uplift(decision)


def test_describe_uplift_with_formula() -> None:
    policy = UpliftPolicy(index_formula=parse("rate - 0.01"))
    decision = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                             contract_floor=None,
                             policy=policy)
    assert describe_uplift(decision) == ("5% from the default uplift, index formula gives 4%; "
                                         "4% applied")


@pytest.mark.parametrize(("method", "text"), [
    (ProrationMethod.DAY, "260 days, priced as 260/365 of a year"),
    (ProrationMethod.MONTH, "8 months and 17 days, priced as 9/12 of a year"),
    (ProrationMethod.ACTUAL_PERIOD, "priced as (8 + 17/31)/12 of a year (actual_period"),
])
def test_describe_proration(method: ProrationMethod, text: str) -> None:
    described = describe_proration(prorate(date(2023, 10, 15), date(2024, 6, 30), method=method))
    assert described.startswith("2023-10-15 to 2024-06-30 is ")
    assert text in described


@pytest.mark.parametrize(("pricing", "text"), [
    (PricingMethod.UPLIFT, "1,000.00 USD → 1,050.00 USD a year per unit: uplift 5%"),
    (PricingMethod.SAME, "price kept at 1,000.00 USD a year per unit"),
    (PricingMethod.LIST, "price book price 1,100.00 USD a year per unit (was 1,000.00 USD)"),
])
def test_explain_line(pricing: PricingMethod, text: str) -> None:
    decision = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                             contract_floor=None,
                             policy=UpliftPolicy(pricing=pricing))
    proration = prorate(date(2024, 1, 1), date(2024, 12, 31), method=ProrationMethod.MONTH_DAY)
    price = {PricingMethod.UPLIFT: "1050.00", PricingMethod.SAME: "1000.00",
             PricingMethod.LIST: "1100.00"}[pricing]
    out = explain_line(product_name="Widget", quantity=P(2), prior=P(1000), prices=(P(price),),
                       decision=decision, proration=proration, term_unit_price=P(price),
                       amount=P(price) * 2, currency="USD", decimals=2)
    assert out.startswith("Widget × 2: ")
    assert text in out
    assert out.endswith(f"UnitPrice {P(price):,} USD for the 12-month term ({P(price):,} USD a "
                        f"year) × 2 = {P(price) * 2:,} USD.")
    assert len(out) <= LINE_MAX


@pytest.mark.parametrize(("end", "prices", "unit", "words"), [
    # 1,050.00 a year × 36/12 = 3,150.00 per unit for the term; × 10 = 31,500.00.
    (date(2026, 12, 31), ("1050.00",), "3150.00",
     "UnitPrice 3,150.00 USD for the 36-month term (1,050.00 USD a year) × 10 = "
     "31,500.00 USD."),
    # Compounded: 1,050.00 + 1,102.50 + 1,157.63 = 3,310.13; × 10 = 33,101.30.
    (date(2026, 12, 31), ("1050.00", "1102.50", "1157.63"), "3310.13",
     "UnitPrice 3,310.13 USD for the 36-month term (1,050.00 USD a year in year one) × 10 "
     "= 33,101.30 USD."),
    # 2024-01-01 → 2024-12-10: 11 months counted back from Dec 11 and a 10-day stub.
    # 1,050.00 × (11/12 + 10/365) = 962.50 + 28.767… = 991.27; × 10 = 9,912.70.
    (date(2024, 12, 10), ("1050.00",), "991.27",
     "UnitPrice 991.27 USD for the term of 11 months and 10 days (1,050.00 USD a year) × 10 "
     "= 9,912.70 USD."),
])
def test_explain_line_says_which_unit_price_is_which(end: date, prices: tuple[str, ...],
                                                     unit: str, words: str) -> None:
    decision = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                             contract_floor=None,
                             policy=UpliftPolicy())
    proration = prorate(date(2024, 1, 1), end, method=ProrationMethod.MONTH_DAY)
    out = explain_line(product_name="Widget", quantity=P(10), prior=P(1000),
                       prices=tuple(P(x) for x in prices), decision=decision,
                       proration=proration, term_unit_price=P(unit), amount=P(unit) * 10,
                       currency="USD", decimals=2)
    assert out.endswith(words)
