"""Concept records as the rules engine's domain values."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.core.domain import PricingMethod
from sfrenew.mapping import Concept, load_mapping
from sfrenew.mapping.domain import (
    RecordProblem,
    account_from,
    contract_from,
    existing_renewal_from,
    existing_task_from,
    line_from,
    renewal_pricing_of,
)
from sfrenew.mapping.translate import lines_by_contract, read_record, read_records

CPQ = load_mapping(Path(__file__).parents[3] / "mappings" / "cpq.yaml").model
STANDARD = load_mapping(Path(__file__).parents[3] / "mappings" / "standard.yaml").model


def test_contract_with_lines_from_cpq_records() -> None:
    contract_rec, _ = read_record(CPQ, Concept.CONTRACT, {
        "Id": "800000000000001AAA", "AccountId": "001000000000001AAA", "Status": "Activated",
        "StartDate": "2024-01-01", "EndDate": "2024-12-31", "SBQQ__RenewalTerm__c": 24,
        "SBQQ__RenewalUpliftRate__c": 3, "ContractNumber": "00000101"})
    lines, _ = read_records(CPQ, Concept.CONTRACT_LINE, [
        {"Id": "a02000000000002AAA", "SBQQ__Contract__c": "800000000000001AAA",
         "SBQQ__Product__c": "01t000000000001AAA", "SBQQ__Quantity__c": 10,
         "SBQQ__NetPrice__c": 1200, "SBQQ__Product__r": {"Family": "Platform"}},
        {"Id": "a02000000000001AAA", "SBQQ__Contract__c": "800000000000001AAA",
         "SBQQ__Product__c": None, "SBQQ__Quantity__c": 1}])
    grouped = lines_by_contract([contract_rec], lines)
    contract, problems = contract_from(contract_rec, grouped["800000000000001AAA"],
                                       default_currency="USD")
    assert [str(p) for p in problems] == ["contract_line a02000000000001AAA: the line has no "
                                          "product"]
    assert contract.currency == "USD"
    assert contract.renewal_term_months == 24
    assert contract.uplift_rate == Decimal("0.03")
    assert contract.end_date == date(2024, 12, 31)
    (line,) = contract.lines
    assert line.annual_price == Decimal(1200)
    assert line.product_name == "01t000000000001AAA"  # no name mapped in the record: the Id
    assert line.product_family == "Platform"


def test_line_without_quantity_is_a_problem() -> None:
    rec, _ = read_record(CPQ, Concept.CONTRACT_LINE, {"Id": "a02x", "SBQQ__Product__c": "01t"})
    assert isinstance(line_from(rec), RecordProblem)


def test_account_renewal_and_task() -> None:
    account, _ = read_record(CPQ, Concept.ACCOUNT, {"Id": "001A", "Name": "Acme",
                                                    "Segment__c": "SMB"})
    assert account_from(account).segment == "SMB"
    opp, _ = read_record(CPQ, Concept.RENEWAL_OPPORTUNITY, {
        "Id": "006A", "Sfrenew_Key__c": "k1", "StageName": "Prospecting", "IsClosed": False,
        "SBQQ__RenewedContract__c": "800000000000001AAA"})
    renewal = existing_renewal_from(opp, contract_ids=["800000000000002AAA"])
    assert renewal.created_by_sfrenew
    assert renewal.contract_ids == ("800000000000001AAA", "800000000000002AAA")
    person_opp, _ = read_record(CPQ, Concept.RENEWAL_OPPORTUNITY, {"Id": "006B"})
    assert not existing_renewal_from(person_opp).created_by_sfrenew
    task, _ = read_record(CPQ, Concept.TASK, {"Id": "00TA", "Sfrenew_Key__c": "t1",
                                               "ActivityDate": "2025-01-02", "IsClosed": True})
    built = existing_task_from(task)
    assert not isinstance(built, RecordProblem)
    assert built.due_date == date(2025, 1, 2)
    assert built.is_closed
    keyless, _ = read_record(CPQ, Concept.TASK, {"Id": "00TB", "ActivityDate": "2025-01-02"})
    assert str(existing_task_from(keyless)) == "task 00TB: the task has no sfrenew key"


@pytest.mark.parametrize(("value", "method", "problem"), [
    ("Same", PricingMethod.SAME, False),
    ("List", PricingMethod.LIST, False),
    ("Uplift", PricingMethod.UPLIFT, False),
    ("uplift ", PricingMethod.UPLIFT, False),
    (None, PricingMethod.SAME, False),  # blank behaves as Same in CPQ
    ("", PricingMethod.SAME, False),
    ("--None--", PricingMethod.SAME, False),
    ("Cost Plus", None, True),  # unknown: reported, the policy's pricing applies
])
def test_cpq_renewal_pricing_method(value: str | None, method: PricingMethod | None,
                                    problem: bool) -> None:
    record, _ = read_record(CPQ, Concept.ACCOUNT, {"Id": "001A", "Name": "Acme",
                                                   "SBQQ__RenewalPricingMethod__c": value})
    assert account_from(record).renewal_pricing is method
    found, message = renewal_pricing_of(record)
    assert found is method
    assert (message is not None) is problem
    if message is not None:
        assert "Same, List or Uplift" in message


def test_standard_mapping_has_no_account_pricing_method() -> None:
    record, _ = read_record(STANDARD, Concept.ACCOUNT, {"Id": "001A", "Name": "Acme"})
    assert account_from(record).renewal_pricing is None
    assert renewal_pricing_of(record) == (None, None)


def test_an_evergreen_subscription_makes_an_evergreen_contract() -> None:
    contract_rec, _ = read_record(CPQ, Concept.CONTRACT, {
        "Id": "800000000000001AAA", "AccountId": "001000000000001AAA", "Status": "Activated",
        "StartDate": "2024-01-01"})
    lines, _ = read_records(CPQ, Concept.CONTRACT_LINE, [
        {"Id": "a02000000000002AAA", "SBQQ__Contract__c": "800000000000001AAA",
         "SBQQ__Product__c": "01t000000000001AAA", "SBQQ__Quantity__c": 1,
         "SBQQ__NetPrice__c": 100, "SBQQ__SubscriptionType__c": kind}
        for kind in ("Evergreen",)])
    evergreen_type = CPQ.values.subscription_type.evergreen
    contract, _ = contract_from(contract_rec, lines, default_currency="USD",
                                evergreen_type=evergreen_type)
    assert [ln.evergreen for ln in contract.lines] == [True]
    assert contract.is_evergreen
    renewable, _ = read_records(CPQ, Concept.CONTRACT_LINE, [
        {"Id": "a02000000000003AAA", "SBQQ__Product__c": "01t000000000001AAA",
         "SBQQ__Quantity__c": 1, "SBQQ__SubscriptionType__c": "Renewable"}])
    line = line_from(renewable[0], evergreen_type=evergreen_type)
    assert not isinstance(line, RecordProblem)
    assert not line.evergreen
