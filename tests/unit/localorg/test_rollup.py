"""Opportunity.Amount is rolled up from the line items, and API writes to it are ignored
while the opportunity has line items (Salesforce Object Reference, Opportunity.Amount)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.store import OrgStore
from tests.unit.localorg.store_fixtures import open_store

V = "62.0"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[tuple[OrgStore, str, str]]:
    store, user = open_store(tmp_path)
    product = store.create("Product2", {"Name": "Platform"}, user_id=user)
    book = store.create("Pricebook2", {"Name": "Standard", "IsActive": True}, user_id=user)
    entry = store.create("PricebookEntry", {"Pricebook2Id": book, "Product2Id": product,
                                            "UnitPrice": 1000, "IsActive": True},
                         user_id=user)
    yield store, user, entry
    store.close()


def _opp(store: OrgStore, user: str, **extra: Any) -> str:
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    return store.create("Opportunity", {"Name": "R", "StageName": "Prospecting",
                                        "CloseDate": "2024-12-31", "AccountId": account,
                                        **extra}, user_id=user)


def _line(store: OrgStore, user: str, opp: str, entry: str, qty: float, price: float) -> str:
    return store.create("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": entry,
                                                "Quantity": qty, "UnitPrice": price},
                        user_id=user)


def _amount(store: OrgStore, opp: str) -> Any:
    return store.get("Opportunity", opp, ["Amount"], api_version=V)["Amount"]


def test_amount_is_the_sum_of_the_line_totals(org: tuple[OrgStore, str, str]) -> None:
    store, user, entry = org
    opp = _opp(store, user, Amount=500)
    assert _amount(store, opp) == 500  # no lines yet: the written value stands
    first = _line(store, user, opp, entry, 10, 3150.00)  # TotalPrice 31,500.00
    assert _amount(store, opp) == 31500.00
    second = _line(store, user, opp, entry, 3, 333.33)  # TotalPrice 999.99
    assert _amount(store, opp) == 32499.99  # 31,500.00 + 999.99
    store.update("OpportunityLineItem", second, {"Quantity": 4}, user_id=user)
    assert _amount(store, opp) == 32833.32  # 31,500.00 + 4 × 333.33 = 1,333.32
    store.delete("OpportunityLineItem", first, user_id=user)
    assert _amount(store, opp) == 1333.32
    store.delete("OpportunityLineItem", second, user_id=user)
    assert _amount(store, opp) == 0  # the sum of no lines


def test_a_write_to_amount_is_ignored_while_lines_exist(org: tuple[OrgStore, str, str]) -> None:
    store, user, entry = org
    opp = _opp(store, user)
    _line(store, user, opp, entry, 2, 100)
    store.update("Opportunity", opp, {"Amount": 999, "Name": "Renamed"}, user_id=user)
    got = store.get("Opportunity", opp, ["Amount", "Name"], api_version=V)
    assert (got["Amount"], got["Name"]) == (200.00, "Renamed")  # not rejected; Amount kept


def test_a_line_change_stamps_the_opportunity(org: tuple[OrgStore, str, str]) -> None:
    store, user, entry = org
    opp = _opp(store, user)
    before = store.get("Opportunity", opp, ["SystemModstamp"], api_version=V)["SystemModstamp"]
    line = _line(store, user, opp, entry, 1, 100)
    after = store.get("Opportunity", opp, ["SystemModstamp"], api_version=V)["SystemModstamp"]
    assert after > before
    store.update("OpportunityLineItem", line, {"Description": "same total"}, user_id=user)
    unchanged = store.get("Opportunity", opp, ["SystemModstamp"],
                          api_version=V)["SystemModstamp"]
    assert unchanged == after  # the Amount did not change: the opportunity was not touched


def test_seeded_lines_roll_up(org: tuple[OrgStore, str, str]) -> None:
    store, user, entry = org
    opp = _opp(store, user, Amount=1)
    store.insert_many("OpportunityLineItem", [
        {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": 10.5},
        {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 0.25}],
        user_id=user)
    assert _amount(store, opp) == 21.25  # 2 × 10.50 + 0.25
