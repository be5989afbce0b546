"""CPQ's List renewal pricing reads the price book through the local org (issue 13, 4).

CPQ prices a renewal line of an account whose Renewal Pricing Method is *List* at the
price book entry of the contract's Renewal Price Book (``SBQQ__RenewalPricebookId__c``)
when set, else of the contract's price book (help article 000382486). Every contract
below runs 12 months and renews 12 months from the day after it ends (no proration), on
the fixed clock of test_run_pricing (today 2026-03-15), so a line's amount is
quantity × its annual price:

* the subscription was sold at 1,000 a year, list 1,200 (its own ``SBQQ__ListPrice__c``);
* the contract's price book "Catalogue" lists Platform at 1,250 USD (and 1,150 EUR);
* the "Renewals 2026" price book lists it at 1,300 USD, and an inactive 1,400 EUR.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfrenew.core.domain import PricingMethod
from tests.integration.test_run_pricing import Org, _contract, _lines_of, _open, _subscription
from tests.integration.test_run_support import insert

pytestmark = pytest.mark.integration


def _books(org: Org) -> tuple[str, str, dict[str, str]]:
    """The two price books and their entries (``"<book> <currency>"`` → entry Id)."""
    catalogue, renewals = insert(org.gateway, "Pricebook2", [
        {"Name": "Catalogue", "IsActive": True}, {"Name": "Renewals 2026", "IsActive": True}])
    rows = [(catalogue, "USD", 1250, True), (catalogue, "EUR", 1150, True),
            (renewals, "USD", 1300, True), (renewals, "EUR", 1400, False)]
    ids = insert(org.gateway, "PricebookEntry", [
        {"Pricebook2Id": book, "Product2Id": org.product, "UnitPrice": price,
         "CurrencyIsoCode": currency, "IsActive": active}
        for book, currency, price, active in rows])
    names = {catalogue: "catalogue", renewals: "renewals"}
    return catalogue, renewals, {f"{names[b]} {c}": i for (b, c, _, _), i in zip(rows, ids,
                                                                                   strict=True)}


@pytest.fixture
def cpq(tmp_path: Path) -> Iterator[Org]:
    yield from _open(tmp_path, "mappings/cpq.yaml")


@pytest.fixture
def standard(tmp_path: Path) -> Iterator[Org]:
    yield from _open(tmp_path, "mappings/standard.yaml")


def _list_account(org: Org, name: str, *, currency: str = "USD", method: str = "List",
                  **contract: Any) -> str:
    account = org.account(name, SBQQ__RenewalPricingMethod__c=method)
    made = _contract(org, account, start="2025-05-01", **{"CurrencyIsoCode": currency,
                                                          **contract})
    _subscription(org, account, made, CurrencyIsoCode=currency)
    return account


def test_cpq_list_renews_at_the_renewal_price_book_else_the_contracts(cpq: Org) -> None:
    org = cpq
    catalogue, renewals, entries = _books(org)
    renewal_book = _list_account(org, "Renewal Book Co", Pricebook2Id=catalogue,
                                 SBQQ__RenewalPricebookId__c=renewals)
    contract_book = _list_account(org, "Contract Book Co", Pricebook2Id=catalogue)
    in_euros = _list_account(org, "Euro Co", currency="EUR", Pricebook2Id=catalogue)
    inactive = _list_account(org, "Inactive Entry Co", currency="EUR", Pricebook2Id=catalogue,
                             SBQQ__RenewalPricebookId__c=renewals)
    same = _list_account(org, "Same Co", method="Same", Pricebook2Id=catalogue,
                         SBQQ__RenewalPricebookId__c=renewals)
    org_dump = org.run()

    def line(account: str) -> dict[str, Any]:
        (found,) = _lines_of(org_dump, account)
        return found

    # the Renewal Price Book's entry: 10 × 1,300 = 13,000 (was 10 × 1,200 = 12,000, the
    # subscription's old list price)
    got = line(renewal_book)
    assert float(got["Sfrenew_Annual_Unit_Price__c"]) == 1300.00
    assert float(got["UnitPrice"]) * 10 == pytest.approx(13_000.00)
    assert (f"List price: 1,300.00 USD a year from the contract's Renewal Price Book {renewals} "
            f"(entry {entries['renewals USD']})") in got["Sfrenew_Explanation__c"]
    # no Renewal Price Book: the contract's price book, 10 × 1,250 = 12,500
    got = line(contract_book)
    assert float(got["UnitPrice"]) * 10 == pytest.approx(12_500.00)
    assert f"from the contract's price book {catalogue} (entry {entries['catalogue USD']})" \
        in got["Sfrenew_Explanation__c"]
    # the contract's currency picks the entry: 10 × 1,150 EUR = 11,500
    got = line(in_euros)
    assert float(got["UnitPrice"]) * 10 == pytest.approx(11_500.00)
    assert "1,150.00 EUR a year" in got["Sfrenew_Explanation__c"]
    # the Renewal Price Book's EUR entry is inactive: the subscription's own list price,
    # 10 × 1,200 = 12,000, and the line says why
    got = line(inactive)
    assert float(got["UnitPrice"]) * 10 == pytest.approx(12_000.00)
    assert (f"the price book entry of Platform in EUR in the contract's Renewal Price Book "
            f"{renewals} is inactive; the line's own list price 1,200.00 EUR a year is used"
            ) in got["Sfrenew_Explanation__c"]
    # Same keeps the prior price: 10 × 1,000, and reads no price book
    got = line(same)
    assert float(got["UnitPrice"]) * 10 == pytest.approx(10_000.00)
    assert "List price:" not in got["Sfrenew_Explanation__c"]


def test_standard_preset_keeps_the_lines_list_price(standard: Org) -> None:
    """The standard preset maps no price book entries: ``uplift.pricing: list`` renews at
    the line's ListPrice (the entry it was sold from, 1,250), not at the contract's
    price book (1,300)."""
    org = standard
    catalogue, renewals, entries = _books(org)
    account = org.account("Standard List Co")
    contract = _contract(org, account, start="2025-05-01", Pricebook2Id=renewals,
                         SBQQ__RenewalPricebookId__c=renewals)
    won = insert(org.gateway, "Opportunity", [{
        "AccountId": account, "Name": "Won deal", "StageName": "Closed Won",
        "CloseDate": "2025-04-20", "ContractId": contract, "Pricebook2Id": catalogue}])[0]
    insert(org.gateway, "OpportunityLineItem", [{
        "OpportunityId": won, "PricebookEntryId": entries["catalogue USD"], "Quantity": 10,
        "UnitPrice": 1000}])
    org_dump = org.run(pricing=PricingMethod.LIST)
    (line,) = _lines_of(org_dump, account)
    assert float(line["UnitPrice"]) * 10 == pytest.approx(12_500.00)  # 10 × 1,250
    assert "price book price 1,250.00 USD a year" in line["Sfrenew_Explanation__c"]
    assert "List price:" not in line["Sfrenew_Explanation__c"]
