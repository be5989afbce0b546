"""OrgStore create/update/get: validation exactly as Salesforce answers a save."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import normalize_id
from sfrenew.localorg.store import OrgStore
from tests.unit.localorg.store_fixtures import open_store

NOT_WRITABLE = ("Please check the security settings of this field and verify that it is "
                "read/write for your profile or permission set.")


@pytest.fixture
def org(tmp_path: Path) -> Iterator[tuple[OrgStore, str]]:
    store, user = open_store(tmp_path)
    yield store, user
    store.close()


def _opp(account: str, **extra: Any) -> dict[str, Any]:
    return {"Name": "Renewal", "StageName": "Prospecting", "CloseDate": "2024-12-31",
            "AccountId": account, **extra}


def test_create_returns_18_char_id_with_prefix_and_get_renders_json(
        org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme", "Payment_Overdue__c": True,
                                       "AnnualRevenue": "1000000"}, user_id=user)
    assert len(account) == 18
    assert account.startswith("001")
    assert normalize_id(account[:15]) == account
    got = store.get("account", account[:15], ["Name", "payment_overdue__c", "AnnualRevenue",
                                              "OwnerId", "CurrencyIsoCode"], api_version="59.0")
    assert got == {
        "attributes": {"type": "Account",
                       "url": f"/services/data/v59.0/sobjects/Account/{account}"},
        "Name": "Acme", "Payment_Overdue__c": True, "AnnualRevenue": 1000000.0,
        "OwnerId": user, "CurrencyIsoCode": "USD",
    }


def test_get_all_fields_lists_every_field_in_schema_order(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    got = store.get("Account", account, api_version="59.0")
    obj = store.schema.object("Account")
    assert obj is not None
    assert list(got)[1:] == [f.name for f in obj.fields.values()]
    assert got["IsDeleted"] is False
    assert got["CreatedById"] == user


def test_derived_fields_are_computed_on_write(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    opp = store.create("Opportunity", _opp(account, StageName="Negotiation/Review"), user_id=user)
    fields = ["IsClosed", "IsWon", "Probability", "ForecastCategoryName"]
    assert store.get("Opportunity", opp, fields, api_version="59.0") | {"attributes": None} == {
        "attributes": None, "IsClosed": False, "IsWon": False, "Probability": 90.0,
        "ForecastCategoryName": "Commit"}
    store.update("Opportunity", opp, {"StageName": "Closed Lost"}, user_id=user)
    got = store.get("Opportunity", opp, fields, api_version="59.0")
    assert (got["IsClosed"], got["IsWon"], got["Probability"], got["ForecastCategoryName"]) == (
        True, False, 0.0, "Omitted")
    # A value the client sets wins over the stage default.
    store.update("Opportunity", opp, {"StageName": "Closed Won", "Probability": 95},
                 user_id=user)
    assert store.get("Opportunity", opp, ["Probability", "IsWon"], api_version="59.0")[
        "Probability"] == 95.0

    contract = store.create("Contract", {"AccountId": account, "StartDate": "2024-01-15",
                                         "ContractTerm": 12}, user_id=user)
    got = store.get("Contract", contract, ["ContractNumber", "EndDate", "Status", "StatusCode"],
                    api_version="59.0")
    assert got["ContractNumber"] == "00000001"
    assert (got["EndDate"], got["Status"], got["StatusCode"]) == ("2025-01-14", "Draft", "Draft")

    task = store.create("Task", {"Subject": "Call", "WhatId": opp}, user_id=user)
    got = store.get("Task", task, ["IsClosed", "Priority", "CompletedDateTime"],
                    api_version="59.0")
    assert (got["IsClosed"], got["Priority"], got["CompletedDateTime"]) == (
        False, "Normal", None)
    store.update("Task", task, {"Status": "Completed"}, user_id=user)
    got = store.get("Task", task, ["IsClosed", "CompletedDateTime", "LastModifiedDate"],
                    api_version="59.0")
    assert got["IsClosed"] is True
    assert got["CompletedDateTime"] == got["LastModifiedDate"]
    store.update("Task", task, {"Subject": "Call back"}, user_id=user)  # stays completed
    assert store.get("Task", task, ["CompletedDateTime"],
                     api_version="59.0")["CompletedDateTime"] == got["CompletedDateTime"]
    store.update("Task", task, {"Status": "In Progress"}, user_id=user)  # reopened
    assert store.get("Task", task, ["CompletedDateTime"],
                     api_version="59.0")["CompletedDateTime"] is None


def test_line_item_total_and_values_from_price_book_entry(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    opp = store.create("Opportunity", _opp(account, CurrencyIsoCode="EUR"), user_id=user)
    book = store.create("Pricebook2", {"Name": "Standard"}, user_id=user)
    product = store.create("Product2", {"Name": "Seats", "ProductCode": "SEAT"}, user_id=user)
    entry = store.create("PricebookEntry", {"Pricebook2Id": book, "Product2Id": product,
                                            "UnitPrice": 120}, user_id=user)
    line = store.create("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": entry,
                                                "Quantity": 3, "UnitPrice": 99.99}, user_id=user)
    got = store.get("OpportunityLineItem", line, ["TotalPrice", "ListPrice", "Product2Id",
                                                  "Name", "ProductCode", "CurrencyIsoCode"],
                    api_version="59.0")
    assert got["TotalPrice"] == 299.97
    assert (got["ListPrice"], got["Product2Id"], got["Name"]) == (120.0, product, "Seats")
    assert (got["ProductCode"], got["CurrencyIsoCode"]) == ("SEAT", "EUR")


CREATE_ERRORS = [
    ("unknown field", "Account", {"Name": "A", "Foo__c": 1}, 400, "INVALID_FIELD",
     "No such column 'Foo__c' on sobject of type Account", None),
    ("read-only fields", "Opportunity", {"IsClosed": True, "IsWon": True}, 400,
     "INVALID_FIELD_FOR_INSERT_UPDATE",
     f"Unable to create/update fields: IsClosed, IsWon. {NOT_WRITABLE}", ["IsClosed", "IsWon"]),
    ("Id on insert", "Account", {"Name": "A", "Id": "0015g0000000001AAA"}, 400,
     "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]),
    ("required missing", "Opportunity", {"Amount": 5}, 400, "REQUIRED_FIELD_MISSING",
     "Required fields are missing: [Name, StageName, CloseDate]",
     ["Name", "StageName", "CloseDate"]),
    ("string too long", "Account", {"Name": "x" * 300}, 400, "STRING_TOO_LONG",
     f"Account Name: data value too large: {'x' * 300} (max length=255)", ["Name"]),
    ("restricted picklist", "Contract", {"AccountId": "$account", "Status": "Signed"}, 400,
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     "Status: bad value for restricted picklist field: Signed", ["Status"]),
    ("lookup to missing record", "Contact", {"LastName": "X", "AccountId": "0015g00000000ZZ"},
     400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []),
    ("lookup to wrong object", "Contact", {"LastName": "X", "AccountId": "$user"}, 400,
     "FIELD_INTEGRITY_EXCEPTION", "Account ID: id value of incorrect type: $user",
     ["AccountId"]),
    ("lookup not an id", "Contact", {"LastName": "X", "AccountId": "Acme"}, 400,
     "MALFORMED_ID", "Account ID: id value of incorrect type: Acme", ["AccountId"]),
    ("validation rule", "Opportunity", {"Name": "O", "StageName": "Prospecting",
                                        "CloseDate": "2024-01-01", "Amount": -1}, 400,
     "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount cannot be negative", ["Amount"]),
    ("bad email", "Contact", {"LastName": "X", "Email": "nobody"}, 400,
     "INVALID_EMAIL_ADDRESS", "Email: invalid email address: nobody", ["Email"]),
    ("number out of range", "Account", {"Name": "A", "Health_Score__c": 12345}, 400,
     "NUMBER_OUTSIDE_VALID_RANGE",
     "Health Score: value outside of valid range on numeric field: 12345", ["Health_Score__c"]),
    ("unknown object", "Nope__c", {"Name": "A"}, 404, "NOT_FOUND",
     "The requested resource does not exist", None),
]


@pytest.mark.parametrize(("case", "sobject", "values", "status", "code", "message", "fields"),
                         CREATE_ERRORS, ids=[c[0] for c in CREATE_ERRORS])
def test_create_errors(org: tuple[OrgStore, str], case: str, sobject: str,
                       values: dict[str, Any], status: int, code: str, message: str,
                       fields: list[str] | None) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Parent"}, user_id=user)
    resolved = {k: {"$account": account, "$user": user}.get(v, v) if isinstance(v, str) else v
                for k, v in values.items()}
    message = message.replace("$user", user)
    before = store.counts()
    with pytest.raises(SalesforceApiError) as caught:
        store.create(sobject, resolved, user_id=user)
    assert caught.value.status == status
    assert caught.value.rest_json() == [
        {"message": message, "errorCode": code} | ({} if fields is None else {"fields": fields})]
    assert store.counts() == before  # nothing half-written


def test_duplicate_unique_value_names_the_existing_record(org: tuple[OrgStore, str]) -> None:
    store, user = org
    first = store.create("Product2", {"Name": "a", "External_Id__c": "k-1"}, user_id=user)
    with pytest.raises(SalesforceApiError) as caught:
        store.create("Product2", {"Name": "b", "External_Id__c": "K-1"}, user_id=user)
    assert caught.value.rest_json() == [{
        "message": f"duplicate value found: External_Id__c duplicates value on record with id: "
                   f"{first}", "errorCode": "DUPLICATE_VALUE", "fields": []}]
    other = store.create("Product2", {"Name": "b", "External_Id__c": "k-2"}, user_id=user)
    with pytest.raises(SalesforceApiError, match="DUPLICATE_VALUE"):
        store.update("Product2", other, {"External_Id__c": "k-1"}, user_id=user)
    store.update("Product2", first, {"External_Id__c": "k-1"}, user_id=user)  # itself: fine


UPDATE_ERRORS = [
    ("not updateable", {"OpportunityId": "$opp"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE",
     f"Unable to create/update fields: OpportunityId. {NOT_WRITABLE}", ["OpportunityId"]),
    ("required set to null", {"Quantity": None}, 400, "REQUIRED_FIELD_MISSING",
     "Required fields are missing: [Quantity]", ["Quantity"]),
    ("unknown field", {"Bogus": 1}, 400, "INVALID_FIELD",
     "No such column 'Bogus' on sobject of type OpportunityLineItem", None),
]


@pytest.mark.parametrize(("case", "values", "status", "code", "message", "fields"),
                         UPDATE_ERRORS, ids=[c[0] for c in UPDATE_ERRORS])
def test_update_errors(org: tuple[OrgStore, str], case: str, values: dict[str, Any],
                       status: int, code: str, message: str, fields: list[str] | None) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    opp = store.create("Opportunity", _opp(account), user_id=user)
    line = store.create("OpportunityLineItem", {"OpportunityId": opp, "Quantity": 1,
                                                "UnitPrice": 10}, user_id=user)
    resolved = {k: opp if v == "$opp" else v for k, v in values.items()}
    with pytest.raises(SalesforceApiError) as caught:
        store.update("OpportunityLineItem", line, resolved, user_id=user)
    assert caught.value.status == status
    assert caught.value.rest_json() == [
        {"message": message, "errorCode": code} | ({} if fields is None else {"fields": fields})]


@pytest.mark.parametrize(("raw_id", "status", "code"), [
    ("0015g0000000999AAA", 404, "NOT_FOUND"),
    ("not-an-id", 400, "MALFORMED_ID"),
    ("0035g0000000001AAA", 400, "MALFORMED_ID"),  # an Id of another object
])
def test_record_addressing_errors(org: tuple[OrgStore, str], raw_id: str, status: int,
                                  code: str) -> None:
    store, user = org
    for call in (lambda: store.get("Account", raw_id, api_version="59.0"),
                 lambda: store.update("Account", raw_id, {"Name": "x"}, user_id=user),
                 lambda: store.delete("Account", raw_id, user_id=user)):
        with pytest.raises(SalesforceApiError) as caught:
            call()
        assert (caught.value.status, caught.value.errors[0].error_code) == (status, code)


def test_get_unknown_field_is_invalid_field(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    with pytest.raises(SalesforceApiError) as caught:
        store.get("Account", account, ["Name", "Bacon__c"], api_version="59.0")
    assert caught.value.errors[0].error_code == "INVALID_FIELD"
    assert caught.value.errors[0].message.startswith("No such column 'Bacon__c' on entity")


def test_parent_by_external_id(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = store.create("Account", {"Name": "Acme"}, user_id=user)
    opp = store.create("Opportunity", _opp(account, Sfrenew_Key__c="renewal:1"), user_id=user)
    line = store.create("OpportunityLineItem", {
        "Opportunity": {"attributes": {"type": "Opportunity"}, "Sfrenew_Key__c": "renewal:1"},
        "Quantity": 1, "UnitPrice": 5}, user_id=user)
    assert store.get("OpportunityLineItem", line, ["OpportunityId"],
                     api_version="59.0")["OpportunityId"] == opp
    with pytest.raises(SalesforceApiError, match="Foreign key external ID: nope not found"):
        store.create("OpportunityLineItem", {"Opportunity": {"Sfrenew_Key__c": "nope"},
                                             "Quantity": 1}, user_id=user)
