"""The numbers a desk forecasts with, Amount as Salesforce's rollup, and rates as
fractions, through the local org with both presets.

Hand-built books on a fixed day (the org and the run share a clock that starts on
2026-03-15 and runs in real time), so nothing depends on today's date. Each account
has one contract ending 40 days later (2026-04-24), 10 units at 1,000.00 a year and a
contract uplift of 7 % (stored as Salesforce stores a Percent: 7). The index formula
is switched off and compounding too, so the contract's rate applies as it is:

* 36-month term: 1,000.00 × 1.07 = 1,070.00 a year; UnitPrice for the term
  1,070.00 × 36/12 = 3,210.00; Amount 10 × 3,210.00 = 32,100.00; prior ARR
  10 × 1,000.00 = 10,000.00; renewal ARR 10 × 1,070.00 = 10,700.00; uplift 700.00.
* 12-month term: UnitPrice 1,070.00; Amount 10,700.00; the same ARR figures.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.schema import build_schema
from sfrenew.runner import RunOutcome, RunRequest, execute
from sfrenew.salesforce import Gateway
from tests.integration.test_run_support import ALL_STEPS, ROOT, Book, insert, make_config

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
ENDS = date(2026, 4, 24)  # 40 days after DAY
PRESETS = ("mappings/standard.yaml", "mappings/cpq.yaml")


def fixed_day_clock() -> Callable[[], datetime]:
    """DAY, running on in real time from the first call (stamps stay ordered)."""
    started = time.monotonic()
    return lambda: DAY + timedelta(seconds=time.monotonic() - started)


def _renewal_book(gw: Gateway, *, cpq: bool, months: int, rate: float = 7,
                  name: str) -> str:
    """An account with one contract of ``months`` ending on ENDS; its Id."""
    # Under CPQ the account's Renewal Pricing Method decides: Uplift (blank is Same).
    account = insert(gw, "Account", [{"Name": name, "Health_Score__c": 90,
                                       "SBQQ__RenewalPricingMethod__c": "Uplift"}])[0]
    product = insert(gw, "Product2", [{"Name": "Platform", "Family": "Software",
                                        "IsActive": True}])[0]
    start = date(ENDS.year - months // 12, ENDS.month, ENDS.day) + timedelta(days=1)
    contract = insert(gw, "Contract", [{
        "AccountId": account, "StartDate": start.isoformat(), "ContractTerm": months,
        "Status": "Activated", "CurrencyIsoCode": "USD", "Uplift_Rate__c": rate,
        "SBQQ__RenewalUpliftRate__c": rate}])[0]
    if cpq:
        # CPQ stores Net Price for the subscription's term, with the prorate multiplier
        # (terms of 12 months): 1,000 a year over 36 months is 3,000 with multiplier 3.
        multiplier = months / 12
        insert(gw, "SBQQ__Subscription__c", [{
            "SBQQ__Contract__c": contract, "SBQQ__Account__c": account,
            "SBQQ__Product__c": product, "SBQQ__ProductName__c": "Platform",
            "SBQQ__Quantity__c": 10, "SBQQ__NetPrice__c": 1000 * multiplier,
            "SBQQ__ProrateMultiplier__c": multiplier, "CurrencyIsoCode": "USD"}])
        return account
    book = insert(gw, "Pricebook2", [{"Name": f"Standard {name}", "IsActive": True}])[0]
    entry = insert(gw, "PricebookEntry", [{"Pricebook2Id": book, "Product2Id": product,
                                            "UnitPrice": 1000, "IsActive": True}])[0]
    won = insert(gw, "Opportunity", [{
        "AccountId": account, "Name": f"{name} new business", "StageName": "Closed Won",
        "CloseDate": start.isoformat(), "ContractId": contract, "Pricebook2Id": book}])[0]
    insert(gw, "OpportunityLineItem", [{"OpportunityId": won, "PricebookEntryId": entry,
                                         "Quantity": 10, "UnitPrice": 1000}])
    return account


@dataclasses.dataclass
class FixedBook:
    """A hand-built book on the fixed day; runs use the same clock as the org."""

    book: Book
    clock: Callable[[], datetime]

    def run(self) -> RunOutcome:
        return execute(self.book.config, RunRequest(job="main", steps=ALL_STEPS),
                       clock=self.clock)


def _open(tmp_path: Path, mapping: str, *, schema_yaml: dict[str, Any] | None = None,
          ) -> FixedBook:
    clock = fixed_day_clock()
    org = LocalOrg(tmp_path / "org", clock=clock,
                   schema=build_schema(schema_yaml) if schema_yaml else None)
    org.start()
    config = make_config(tmp_path, tmp_path / "org", mapping=mapping)
    uplift = dataclasses.replace(config.rules.uplift, index_formula=None,
                                 compound_multi_year=False)
    config = dataclasses.replace(config, rules=dataclasses.replace(config.rules, uplift=uplift))
    return FixedBook(Book(org=org, config=config, seed=None, base=tmp_path),  # type: ignore[arg-type]
                     clock)


@pytest.fixture(params=PRESETS, ids=lambda p: Path(p).stem)
def fixed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FixedBook]:
    made = _open(tmp_path, request.param)
    try:
        yield made
    finally:
        made.book.org.stop()


def _opportunity(gw: Gateway, account: str) -> dict[str, Any]:
    (opp,) = gw.read("Opportunity", [
        "Id", "Amount", "Sfrenew_Prior_ARR__c", "Sfrenew_Renewal_ARR__c",
        "Sfrenew_Uplift_Amount__c", "Sfrenew_Term_Months__c", "Sfrenew_Explanation__c",
        "Sfrenew_Derivation__c"],
        f"AccountId = '{account}' AND Sfrenew_Key__c != null")
    return dict(opp)


def _lines(gw: Gateway, opp: str) -> list[dict[str, Any]]:
    return [dict(r) for r in gw.read("OpportunityLineItem", [
        "Id", "Quantity", "UnitPrice", "TotalPrice", "Sfrenew_Annual_Unit_Price__c",
        "Sfrenew_Uplift_Rate__c", "Sfrenew_Explanation__c"], f"OpportunityId = '{opp}'")]


def test_forecast_figures_amount_rollup_and_rates(fixed: FixedBook) -> None:
    gw = fixed.book.gateway()
    cpq = "cpq" in str(fixed.book.config.mapping_path)
    three = _renewal_book(gw, cpq=cpq, months=36, name="Three Year Co")
    one = _renewal_book(gw, cpq=cpq, months=12, name="One Year Co")
    outcome = fixed.run()
    assert outcome.status == "succeeded", outcome.message

    for account, months, unit, amount in ((three, 36, 3210.00, 32100.00),
                                          (one, 12, 1070.00, 10700.00)):
        opp = _opportunity(gw, account)
        # 10 × 1,000.00 before; 10 × 1,070.00 in the first year; +700.00; the term.
        assert (float(opp["Sfrenew_Prior_ARR__c"]), float(opp["Sfrenew_Renewal_ARR__c"]),
                float(opp["Sfrenew_Uplift_Amount__c"]), int(opp["Sfrenew_Term_Months__c"])) \
            == (10000.00, 10700.00, 700.00, months)
        (line,) = _lines(gw, opp["Id"])
        # UnitPrice is the price for the line's term; the annual price has its own field.
        assert (float(line["UnitPrice"]), float(line["Sfrenew_Annual_Unit_Price__c"])) == \
            (unit, 1070.00)
        assert float(line["TotalPrice"]) == amount  # 10 × UnitPrice
        # Amount is the org's rollup of the lines, and equals sfrenew's total.
        assert float(opp["Amount"]) == amount
        assert f"{amount:,.2f} USD for the term" in opp["Sfrenew_Derivation__c"]
        # The talk track: last term 10 × 1,000.00 × months/12; this renewal's total; +7%.
        assert (f"Last term: {10000 * months // 12:,.2f} USD total" in
                opp["Sfrenew_Explanation__c"])
        assert f"This renewal: {amount:,.2f} USD total" in opp["Sfrenew_Explanation__c"]
        assert "Uplift: +7% (+700.00 USD a year)" in opp["Sfrenew_Explanation__c"]
        # The contract's 7 (a Percent field) was read as 0.07 and written back as 7.
        assert float(line["Sfrenew_Uplift_Rate__c"]) == 7.0
        assert "7% from the contract's uplift field" in line["Sfrenew_Explanation__c"]
        assert (f"UnitPrice {unit:,.2f} USD for the {months}-month term (1,070.00 USD a "
                f"year) × 10" in line["Sfrenew_Explanation__c"])  # quantity 10 or 10.0

    # The rollup changed Amount and stamped the opportunities; sfrenew neither writes
    # Amount nor reads that as a person's edit: the next run has nothing to do.
    again = fixed.run()
    assert again.status == "succeeded", again.message
    assert again.stats["written"] == {}


def test_a_rate_in_a_number_field_is_read_as_the_fraction_it_holds(tmp_path: Path) -> None:
    """The conversion follows the org's describe: Uplift_Rate__c as a Number holding 0.07."""
    data = yaml.safe_load((ROOT / "sfrenew/localorg/data/schema.yaml").read_text("utf-8"))
    data["objects"]["Contract"]["fields"]["Uplift_Rate__c"] = {
        "type": "double", "precision": 6, "scale": 4, "label": "Uplift Rate"}
    made = _open(tmp_path, "mappings/standard.yaml", schema_yaml=data)
    try:
        gw = made.book.gateway()
        account = _renewal_book(gw, cpq=False, months=12, rate=0.07, name="Fraction Co")
        outcome = made.run()
        assert outcome.status == "succeeded", outcome.message
        (line,) = _lines(gw, _opportunity(gw, account)["Id"])
        assert float(line["Sfrenew_Uplift_Rate__c"]) == 7.0  # a Percent field: 7
        assert float(line["UnitPrice"]) == 1070.00  # 1,000.00 × 1.07
    finally:
        made.book.org.stop()
