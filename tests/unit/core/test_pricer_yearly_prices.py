"""The pricer's yearly prices are :func:`yearly_prices`', on many inputs.

The pricer used to keep ``yearly_prices``' uplift cases inline (measured to save 6.4 %
of the planning instructions); both now call :func:`uplifted_prices`, the one
definition (docs/rules.md, "Planning speed"). These tests keep the pricer's shortcut to
it and the definition's other path in step.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as P

from hypothesis import given, settings
from hypothesis import strategies as st

from sfrenew.core.domain import ContractLine
from sfrenew.core.policy import PricingMethod, ProrationMethod, UpliftPolicy
from sfrenew.core.pricing import GroupPricer, LineToPrice
from sfrenew.core.rules.uplift import UpliftSource, decide_uplift, yearly_prices

_prices = st.decimals(min_value=P("0.01"), max_value=P(1_000_000), places=2)


@settings(max_examples=300, deadline=None)
@given(prior=st.one_of(st.none(), _prices, st.decimals(min_value=P(0), max_value=P(5000),
                                                       places=4)),
       rate=st.decimals(min_value=P("-0.5"), max_value=P("0.5"), places=4),
       years=st.integers(min_value=1, max_value=6), compound=st.booleans(),
       decimals=st.sampled_from([0, 2, 3]))
def test_the_pricers_uplift_prices_are_yearly_prices(
        prior: P | None, rate: P, years: int, compound: bool, decimals: int) -> None:
    # e.g. 1,000.00 at 5 % for 3 years compounded: 1,050.00, 1,102.50, 1,157.63
    decision = decide_uplift(rate=rate, source=UpliftSource.DEFAULT, contract_cap=None,
                             contract_floor=None, policy=UpliftPolicy(
                                 default_rate=rate, pricing=PricingMethod.UPLIFT))
    assert decision.pricing is PricingMethod.UPLIFT
    made = ContractLine(id="L1", product_id="P1", product_name="Product", quantity=P(3),
                        annual_price=prior)
    pricer = GroupPricer([LineToPrice(made, decision, date(2026, 4, 1), "800A")],
                         method=ProrationMethod.MONTH_DAY, compound=compound, decimals=decimals)

    copied = pricer._yearly(0, years)

    defined, _decision = yearly_prices(prior=prior or P(0), list_price=None, decision=decision,
                                       years=years, compound=compound, decimals=decimals)
    assert copied == defined
    assert [p.as_tuple().exponent for p in copied] == [
        p.as_tuple().exponent for p in defined]  # 1.0 is not 1.00


def test_a_worked_example_through_the_copy() -> None:
    decision = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                             contract_floor=None, policy=UpliftPolicy())
    made = ContractLine(id="L1", product_id="P1", product_name="Product", quantity=P(1),
                        annual_price=P("1000.00"))
    compounded = GroupPricer([LineToPrice(made, decision, date(2026, 4, 1), "800A")],
                             method=ProrationMethod.DAY, compound=True, decimals=2)
    simple = GroupPricer([LineToPrice(made, decision, date(2026, 4, 1), "800A")],
                         method=ProrationMethod.DAY, compound=False, decimals=2)
    # 1,000 × 1.05 = 1,050.00; × 1.05² = 1,102.50; × 1.05³ = 1,157.625 → 1,157.63
    assert compounded._yearly(0, 3) == (P("1050.00"), P("1102.50"), P("1157.63"))
    assert simple._yearly(0, 3) == (P("1050.00"),) * 3
