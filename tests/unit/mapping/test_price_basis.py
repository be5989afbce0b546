"""A mapped price's basis: term prices (CPQ's Net and List Price) become annual ones."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.domain import ContractLine
from sfrenew.mapping import Concept, load_mapping
from sfrenew.mapping.domain import line_from
from sfrenew.mapping.price_basis import BasisError, PriceBasis, annual_price
from sfrenew.mapping.translate import read_record

MAPPINGS = Path(__file__).parents[3] / "mappings"
CPQ = load_mapping(MAPPINGS / "cpq.yaml").model
STANDARD = load_mapping(MAPPINGS / "standard.yaml").model
TERM, ANNUAL = PriceBasis.TERM, PriceBasis.ANNUAL
D = Decimal


@pytest.mark.parametrize(("price", "basis", "multiplier", "annual"), [
    ("3600", TERM, "3", "1200"),  # 36 months of 1,200 a year: 3,600 / 3
    ("1800", TERM, "1.5", "1200"),  # 18 months: 1,800 / 1.5
    ("600", TERM, "0.5", "1200"),  # a 6-month amendment: 600 / 0.5
    ("1200", TERM, "1", "1200"),  # one default term: unchanged
    ("1200", TERM, None, "1200"),  # no multiplier counts as one default term
    ("1000", TERM, "0.75", "1333.333333333333333333333333"),  # 1,000 / 0.75, not rounded
    ("3600", ANNUAL, "3", "3600"),  # already annual: the multiplier is not used
    (None, TERM, "3", None),  # no price stays no price
])
def test_annual_price(price: str | None, basis: PriceBasis, multiplier: str | None,
                      annual: str | None) -> None:
    got = annual_price(D(price) if price else None, basis=basis,
                       multiplier=D(multiplier) if multiplier else None)
    assert got == (D(annual) if annual else None)


@pytest.mark.parametrize("multiplier", ["0", "-1"])
def test_a_multiplier_that_cannot_convert_is_an_error(multiplier: str) -> None:
    with pytest.raises(BasisError, match="must be above zero"):
        annual_price(D(3600), basis=TERM, multiplier=D(multiplier))


@given(annual=st.decimals(min_value=D("0.01"), max_value=D(100_000), places=2),
       months=st.integers(min_value=1, max_value=60))
def test_a_term_price_of_whole_months_round_trips(annual: Decimal, months: int) -> None:
    # CPQ's multiplier for a line of whole months: months / 12 (exactly, before CPQ's
    # four places); the term price it stores, divided back, is the annual price.
    multiplier = D(months) / 12
    assert annual_price(annual * multiplier, basis=TERM, multiplier=multiplier) \
        == pytest.approx(annual, abs=D("1e-20"))


def _subscription(**fields: Any) -> dict[str, Any]:
    return {"Id": "a02000000000001AAA", "SBQQ__Contract__c": "800000000000001AAA",
            "SBQQ__Product__c": "01t000000000001AAA", "SBQQ__Quantity__c": 10.0, **fields}


@pytest.mark.parametrize(("fields", "unit", "listed"), [
    # Net Price and List Price cover the 36 months: 3,600 / 3 and 4,500 / 3.
    ({"SBQQ__NetPrice__c": 3600.0, "SBQQ__ListPrice__c": 4500.0,
      "SBQQ__ProrateMultiplier__c": 3.0}, "1200", "1500"),
    # A blank multiplier counts as 1.
    ({"SBQQ__NetPrice__c": 1200.0, "SBQQ__ListPrice__c": 1500.0}, "1200", "1500"),
    # No price: nothing to convert.
    ({"SBQQ__ProrateMultiplier__c": 2.0}, None, None),
])
def test_the_cpq_preset_reads_subscription_prices_per_year(
        fields: dict[str, Any], unit: str | None, listed: str | None) -> None:
    record, problems = read_record(CPQ, Concept.CONTRACT_LINE, _subscription(**fields))
    assert problems == []
    line = line_from(record)
    assert isinstance(line, ContractLine)
    assert line.annual_price == record.values["unit_price"] == (D(unit) if unit else None)
    assert record.values["list_price"] == (D(listed) if listed else None)


def test_a_bad_multiplier_is_reported_by_record_and_field() -> None:
    record, problems = read_record(CPQ, Concept.CONTRACT_LINE, _subscription(
        SBQQ__NetPrice__c=3600.0, SBQQ__ListPrice__c=4500.0, SBQQ__ProrateMultiplier__c=0.0))
    assert record.values["unit_price"] is None  # the rules skip it: line_without_price
    assert [str(p) for p in problems] == [
        "SBQQ__Subscription__c a02000000000001AAA: SBQQ__ProrateMultiplier__c: prorate "
        "multiplier 0.0 must be above zero to turn a term price into an annual one; "
        "unit_price read as empty",
        "SBQQ__Subscription__c a02000000000001AAA: SBQQ__ProrateMultiplier__c: prorate "
        "multiplier 0.0 must be above zero to turn a term price into an annual one; "
        "list_price read as empty"]


def test_the_standard_preset_reads_line_items_as_annual() -> None:
    record, problems = read_record(STANDARD, Concept.CONTRACT_LINE, {
        "Id": "00k000000000001AAA", "OpportunityId": "006000000000001AAA",
        "Product2Id": "01t000000000001AAA", "Quantity": 10.0, "UnitPrice": 1200.0})
    assert problems == []
    assert record.values["unit_price"] == D(1200)
    assert "prorate_multiplier" not in STANDARD.contract_line.fields
