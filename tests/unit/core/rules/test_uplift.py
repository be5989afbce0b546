"""Uplift: precedence, formula, risk adjustment, bounds, pricing, compounding, rounding."""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.decisions import UpliftTable
from sfrenew.core.domain import Account, Contract, ContractLine, RiskLevel
from sfrenew.core.formula import parse
from sfrenew.core.policy import (
    ContractualUplift,
    PricingMethod,
    RiskAdjustment,
    UpliftPolicy,
    UpliftRule,
)
from sfrenew.core.rules.uplift import (
    UpliftBound,
    UpliftSource,
    decide_uplift,
    line_uplift,
    with_risk,
    yearly_prices,
)

P = Decimal
ACCOUNT = Account("001A", "Acme", segment="Enterprise", region="EMEA")
RULES = (
    UpliftRule("enterprise software", P("0.06"), segment="Enterprise", product_family="Software"),
    UpliftRule("emea", P("0.04"), region="EMEA"),
    UpliftRule("everything else", P("0.03")),
)


def _line(rate: str | None = None, family: str = "Software") -> ContractLine:
    return ContractLine(id="L1", product_id="P1", product_name="Widget", quantity=P(1),
                        annual_price=P(1000), product_family=family,
                        uplift_rate=P(rate) if rate else None)


def _contract(rate: str | None = None, cap: str | None = None,
              floor: str | None = None) -> Contract:
    return Contract(id="800A", account_id="001A", number="1", status="Activated",
                    currency="USD", start_date=None, end_date=None, lines=(),
                    uplift_rate=P(rate) if rate else None, uplift_cap=P(cap) if cap else None,
                    uplift_floor=P(floor) if floor else None)


@pytest.mark.parametrize(("line", "contract", "rules", "rate", "source", "rule"), [
    (_line("0.09"), _contract("0.08"), RULES, "0.09", UpliftSource.LINE, None),
    (_line(), _contract("0.08"), RULES, "0.08", UpliftSource.CONTRACT, None),
    (_line(), _contract(), RULES, "0.06", UpliftSource.RULE, "enterprise software"),
    (_line(family="Hardware"), _contract(), RULES, "0.04", UpliftSource.RULE, "emea"),
    (_line(family="Hardware"), _contract(), RULES[:1] + RULES[2:], "0.03", UpliftSource.RULE,
     "everything else"),
    (_line(family="Hardware"), _contract(), RULES[:1], "0.05", UpliftSource.DEFAULT, None),
    (_line(), _contract(), (), "0.05", UpliftSource.DEFAULT, None),
    (_line("0"), _contract("0.08"), RULES, "0", UpliftSource.LINE, None),  # 0 is a rate
])
def test_precedence(line: ContractLine, contract: Contract, rules: tuple[UpliftRule, ...],
                    rate: str, source: UpliftSource, rule: str | None) -> None:
    d = line_uplift(line=line, contract=contract, account=ACCOUNT,
                    policy=UpliftPolicy(default_rate=P("0.05"), rules=rules))
    assert (d.rate, d.source, d.rule_name) == (P(rate), source, rule)


@pytest.mark.parametrize(("contract", "policy", "rate", "bound", "overrides"), [
    # A contractual rate: the policy's cap and floor do not bind it (issue 13, item 3)...
    (_contract("0.09"), UpliftPolicy(cap=P("0.07")), "0.09", None, False),
    (_contract("0.01"), UpliftPolicy(floor=P("0.02")), "0.01", None, False),
    # ... the contract's own always do, and win over the policy's
    (_contract("0.09", cap="0.08"), UpliftPolicy(cap=P("0.07")), "0.08", UpliftBound.CAP, False),
    (_contract("0.01", floor="0"), UpliftPolicy(floor=P("0.02")), "0.01", None, False),
    (_contract("0.01", floor="0.015"), UpliftPolicy(), "0.015", UpliftBound.FLOOR, False),
    (_contract("0.05"), UpliftPolicy(cap=P("0.05"), floor=P("0.05")), "0.05", None, False),
    # policy bounds switched on for contractual rates: they bind, and say so
    (_contract("0.09"), UpliftPolicy(cap=P("0.07"), contractual=ContractualUplift(
        policy_bounds=True)), "0.07", UpliftBound.CAP, True),
    (_contract("0.01"), UpliftPolicy(floor=P("0.02"), contractual=ContractualUplift(
        policy_bounds=True)), "0.02", UpliftBound.FLOOR, True),
    # a rule or default rate: the contract's bounds, else the policy's
    (_contract(), UpliftPolicy(cap=P("0.04"), rules=RULES), "0.04", UpliftBound.CAP, False),
    (_contract(cap="0.05"), UpliftPolicy(cap=P("0.04"), rules=RULES), "0.05", UpliftBound.CAP,
     False),
    (_contract(), UpliftPolicy(floor=P("0.07")), "0.07", UpliftBound.FLOOR, False),
])
def test_contractual_bounds(contract: Contract, policy: UpliftPolicy, rate: str,
                            bound: UpliftBound | None, overrides: bool) -> None:
    d = line_uplift(line=_line(), contract=contract, account=ACCOUNT, policy=policy)
    assert (d.rate, d.bound, d.overrides_contract) == (P(rate), bound, overrides)


# config.example.yaml's uplift section: index max(floor, min(rate, cpi + spread)) with
# cpi 3.1% and spread 1% (so at most 4.1%), cap 10%, floor 0%, High risk at most 0%,
# Medium risk -1%.
EXAMPLE = UpliftPolicy(
    default_rate=P("0.05"), cap=P("0.10"), floor=P("0.0"), rules=RULES,
    index_formula=parse("max(floor, min(rate, cpi + spread))"),
    index_values={"cpi": P("0.031"), "spread": P("0.01")},
    risk_adjustments={RiskLevel.HIGH: RiskAdjustment(max_rate=P("0.0")),
                      RiskLevel.MEDIUM: RiskAdjustment(add=P("-0.01"))})
INDEX, BOUNDS, RISK = (ContractualUplift(index=True), ContractualUplift(policy_bounds=True),
                       ContractualUplift(risk=True))


@pytest.mark.parametrize(("line_rate", "contract_rate", "cap", "contractual", "level",
                          "rate", "source", "overrides"), [
    # contractual 7%: a commitment, none of index / policy cap / risk touch it
    (None, "0.07", None, ContractualUplift(), RiskLevel.LOW, "0.07", UpliftSource.CONTRACT,
     False),
    (None, "0.07", None, ContractualUplift(), RiskLevel.HIGH, "0.07", UpliftSource.CONTRACT,
     False),
    (None, "0.07", None, ContractualUplift(), RiskLevel.MEDIUM, "0.07", UpliftSource.CONTRACT,
     False),
    (None, "0.12", None, ContractualUplift(), RiskLevel.LOW, "0.12", UpliftSource.CONTRACT,
     False),  # above the policy cap of 10%: still 12%
    ("0.09", "0.07", "0.08", ContractualUplift(), RiskLevel.LOW, "0.08", UpliftSource.LINE,
     False),  # the line's 9%, the contract's own cap 8%
    # rule 6% (Enterprise software): max(0, min(6%, 3.1% + 1%)) = 4.1%
    (None, None, None, ContractualUplift(), RiskLevel.LOW, "0.041", UpliftSource.RULE, False),
    # ... High risk: at most 0%, floor 0% → 0%; Medium: 4.1% − 1% = 3.1%
    (None, None, None, ContractualUplift(), RiskLevel.HIGH, "0.0", UpliftSource.RULE, False),
    (None, None, None, ContractualUplift(), RiskLevel.MEDIUM, "0.031", UpliftSource.RULE,
     False),
    # the policy switches a step on for contractual rates: it applies, and asks approval
    (None, "0.07", None, INDEX, RiskLevel.LOW, "0.041", UpliftSource.CONTRACT, True),
    (None, "0.07", None, RISK, RiskLevel.HIGH, "0.0", UpliftSource.CONTRACT, True),
    (None, "0.07", None, RISK, RiskLevel.MEDIUM, "0.06", UpliftSource.CONTRACT, True),
    (None, "0.12", None, BOUNDS, RiskLevel.LOW, "0.10", UpliftSource.CONTRACT, True),
    (None, "0.07", None, BOUNDS, RiskLevel.LOW, "0.07", UpliftSource.CONTRACT, False),  # inside
    (None, "0.03", None, INDEX, RiskLevel.LOW, "0.03", UpliftSource.CONTRACT, False),  # min()
])
def test_precedence_with_the_example_config(
        line_rate: str | None, contract_rate: str | None, cap: str | None,
        contractual: ContractualUplift, level: RiskLevel, rate: str, source: UpliftSource,
        overrides: bool) -> None:
    policy = replace(EXAMPLE, contractual=contractual)
    d = line_uplift(line=_line(line_rate), contract=_contract(contract_rate, cap=cap),
                    account=ACCOUNT, policy=policy)
    d = with_risk(d, level=level, adjustments=policy.risk_adjustments)
    assert (d.rate, d.source, d.overrides_contract) == (P(rate), source, overrides)


@pytest.mark.parametrize("contractual", [ContractualUplift(), INDEX, BOUNDS, RISK])
@pytest.mark.parametrize(("line_rate", "contract_rate", "cap", "floor"), [
    (None, "0.07", None, None), ("0.09", "0.07", "0.08", None), (None, "0.12", None, "0.02"),
    (None, None, None, None), (None, None, "0.03", None), (None, "-0.02", None, None),
])
def test_the_planners_table_decides_as_line_uplift(
        contractual: ContractualUplift, line_rate: str | None, contract_rate: str | None,
        cap: str | None, floor: str | None) -> None:
    """The memo table the planner uses gives line_uplift's decision (one rule, not two)."""
    policy = replace(EXAMPLE, contractual=contractual)
    line, contract = _line(line_rate), _contract(contract_rate, cap=cap, floor=floor)
    table = UpliftTable(policy)
    rate, source, rule_name = table.choose(line=line, contract=contract, account=ACCOUNT)
    for pricing in (None, PricingMethod.SAME):
        account = replace(ACCOUNT, renewal_pricing=pricing)
        assert table.decide(rate, source, rule_name, contract.uplift_cap, contract.uplift_floor,
                            pricing) == line_uplift(line=line, contract=contract,
                                                    account=account, policy=policy)


def test_index_formula_replaces_the_rate_then_bounds_apply() -> None:
    policy = UpliftPolicy(index_formula=parse("max(floor, cpi + spread)"),
                          index_values={"cpi": P("0.031"), "spread": P("0.01")},
                          floor=P("0.02"), cap=P("0.04"))
    d = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                      contract_floor=None, policy=policy)
    assert d.index_rate == P("0.041")
    assert (d.rate, d.bound) == (P("0.04"), UpliftBound.CAP)
    assert d.chosen_rate == P("0.05")


@pytest.mark.parametrize(("level", "floor", "rate", "bound"), [
    (RiskLevel.HIGH, None, "0.0", None),  # no uplift when risk is High
    (RiskLevel.HIGH, "0.01", "0.01", UpliftBound.FLOOR),  # the contractual floor still wins
    (RiskLevel.MEDIUM, None, "0.04", None),
    (RiskLevel.LOW, None, "0.05", None),
])
def test_risk_adjustment(level: RiskLevel, floor: str | None, rate: str,
                         bound: UpliftBound | None) -> None:
    adjustments = {RiskLevel.HIGH: RiskAdjustment(max_rate=P("0.0")),
                   RiskLevel.MEDIUM: RiskAdjustment(add=P("-0.01"))}
    d = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                      contract_floor=P(floor) if floor else None, policy=UpliftPolicy())
    adjusted = with_risk(d, level=level, adjustments=adjustments)
    assert (adjusted.rate, adjusted.bound) == (P(rate), bound)
    if level is RiskLevel.LOW:
        assert adjusted == d  # nothing configured for Low: the decision is unchanged


def _prices(method: PricingMethod, *, years: int = 1, compound: bool = True,
            list_price: str | None = None, decimals: int = 2,
            prior: str = "1000") -> tuple[tuple[Decimal, ...], str | None, PricingMethod]:
    d = decide_uplift(rate=P("0.05"), source=UpliftSource.DEFAULT, contract_cap=None,
                      contract_floor=None,
                      policy=UpliftPolicy(pricing=method))
    prices, applied = yearly_prices(prior=P(prior), list_price=P(list_price) if list_price
                                    else None, decision=d, years=years, compound=compound,
                                    decimals=decimals)
    return prices, applied.pricing_note, applied.pricing


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"method": PricingMethod.SAME}, ("1000.00",)),
    ({"method": PricingMethod.UPLIFT}, ("1050.00",)),
    ({"method": PricingMethod.LIST, "list_price": "1100"}, ("1100.00",)),
    ({"method": PricingMethod.UPLIFT, "years": 3}, ("1050.00", "1102.50", "1157.63")),
    ({"method": PricingMethod.UPLIFT, "years": 3, "compound": False},
     ("1050.00", "1050.00", "1050.00")),
    ({"method": PricingMethod.LIST, "list_price": "1100", "years": 2}, ("1100.00", "1155.00")),
    ({"method": PricingMethod.SAME, "years": 2}, ("1000.00", "1000.00")),
    ({"method": PricingMethod.UPLIFT, "decimals": 0, "prior": "123457"}, ("129630",)),
    ({"method": PricingMethod.UPLIFT, "prior": "0.10"}, ("0.11",)),  # 0.105 rounds half up
])
def test_pricing_methods(kwargs: dict[str, object], expected: tuple[str, ...]) -> None:
    method = kwargs.pop("method")
    assert isinstance(method, PricingMethod)
    prices, _note, _applied = _prices(method, **kwargs)  # type: ignore[arg-type]
    assert prices == tuple(P(e) for e in expected)


def test_list_without_price_book_entry_falls_back_to_uplift_and_says_so() -> None:
    prices, note, applied = _prices(PricingMethod.LIST)
    assert prices == (P("1050.00"),)
    assert applied is PricingMethod.UPLIFT
    assert note is not None
    assert "no price book entry" in note


rates = st.decimals(min_value=-1, max_value=2, places=4)


@given(rate=rates, bounds=st.tuples(rates, rates), level=st.sampled_from(list(RiskLevel)),
       add=st.decimals(min_value=-1, max_value=1, places=3),
       max_rate=st.none() | rates)
def test_uplift_stays_within_floor_and_cap(rate: Decimal, bounds: tuple[Decimal, Decimal],
                                           level: RiskLevel, add: Decimal,
                                           max_rate: Decimal | None) -> None:
    floor, cap = sorted(bounds)
    policy = UpliftPolicy(index_formula=parse("max(floor, rate * 2 - 0.01)"), floor=floor,
                          cap=cap)
    d = decide_uplift(rate=rate, source=UpliftSource.DEFAULT, contract_cap=cap,
                      contract_floor=floor, policy=policy)
    assert floor <= d.rate <= cap
    adjusted = with_risk(d, level=level, adjustments={level: RiskAdjustment(add, max_rate)})
    assert floor <= adjusted.rate <= cap


@given(prior=st.decimals(min_value=0, max_value=10**7, places=4),
       rate=st.decimals(min_value=-1, max_value=1, places=4),
       decimals=st.sampled_from([0, 2, 3]), years=st.integers(min_value=1, max_value=5))
def test_prices_have_the_currency_decimals(prior: Decimal, rate: Decimal, decimals: int,
                                           years: int) -> None:
    d = decide_uplift(rate=rate, source=UpliftSource.DEFAULT, contract_cap=None,
                      contract_floor=None,
                      policy=UpliftPolicy())
    prices, _ = yearly_prices(prior=prior, list_price=None, decision=d, years=years,
                              compound=True, decimals=decimals)
    assert all(p.as_tuple().exponent == -decimals for p in prices)
