"""The forecast figures' definitions and the pricer's line totals against them."""

from datetime import date
from decimal import Decimal as P

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfrenew.core.figures import term_months
from sfrenew.core.policy import ProrationMethod, UpliftPolicy
from sfrenew.core.pricing import GroupPricer, LineToPrice, line_total, term_unit_price
from sfrenew.core.rules.proration import prorate
from sfrenew.core.rules.uplift import UpliftSource, decide_uplift
from tests.unit.core.builders import line


@pytest.mark.parametrize(("start", "end", "months"), [
    (date(2024, 4, 1), date(2027, 3, 31), 36),  # exactly 36 months
    (date(2024, 4, 21), date(2025, 3, 31), 12),  # 11 months and a 10-day stub → 12
    (date(2017, 1, 1), date(2018, 1, 10), 13),  # CPQ's "Month" example: rounds up
    (date(2024, 1, 31), date(2024, 2, 28), 1),  # month-end clamped: one month
    (date(2024, 3, 1), date(2024, 3, 10), 1),  # 10 days → 1
])
def test_term_months(start: date, end: date, months: int) -> None:
    assert term_months(start, end) == months


@pytest.mark.parametrize(("quantity", "unit", "total"), [
    ("10", "1189.52", "11895.20"),  # 10 × 1,189.52
    ("2.5", "0.33", "0.83"),  # 0.825 rounds half-up
    ("3", "333.33", "999.99"),
])
def test_line_total(quantity: str, unit: str, total: str) -> None:
    assert line_total(P(quantity), P(unit), P("0.01")) == P(total)


def test_term_unit_price_year_by_year() -> None:
    whole = prorate(date(2024, 4, 1), date(2027, 3, 31), method=ProrationMethod.MONTH_DAY)
    years = [prorate(date(y, 4, 1), date(y + 1, 3, 31), method=ProrationMethod.MONTH_DAY)
             for y in (2024, 2025, 2026)]
    q = P("0.01")
    # 1,050.00 × 36/12 = 3,150.00; compounded 1,050.00 + 1,102.50 + 1,157.63 = 3,310.13
    assert term_unit_price((P("1050.00"),) * 3, whole, years, q) == P("3150.00")
    assert term_unit_price((P("1050.00"), P("1102.50"), P("1157.63")), whole, years, q) == \
        P("3310.13")


@settings(max_examples=80, deadline=None)
@given(price=st.decimals(min_value=P("0.01"), max_value=P(100_000), places=2),
       qty=st.decimals(min_value=P("0.25"), max_value=P(500), places=2),
       days=st.integers(min_value=0, max_value=1200), compound=st.booleans(),
       method=st.sampled_from(list(ProrationMethod)))
def test_pricer_lines_are_quantity_times_the_definitions_unit_price(
        price: P, qty: P, days: int, compound: bool, method: ProrationMethod) -> None:
    """The pricer's inline copy and the definitions agree, for every period and method."""
    start = date(2024, 4, 1)
    end = date.fromordinal(start.toordinal() + days)
    decision = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                             contract_floor=None, policy=UpliftPolicy())
    made = line(1, price=str(price), qty=str(qty))
    pricer = GroupPricer([LineToPrice(made, decision, start, "800A")], method=method,
                         compound=compound, decimals=2)
    ((prices, _d, whole, unit, amount),) = pricer.price(end)
    whole2, segments = pricer.period(start, end)
    assert whole2 == whole
    assert unit == term_unit_price(prices, whole, segments, P("0.01"))
    assert amount == line_total(qty, unit, P("0.01"))
