"""values: client JSON / Bulk text -> stored form -> JSON, with Salesforce's errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import FieldSchema, FieldType, default_schema
from sfrenew.localorg.values import (
    format_date,
    format_datetime,
    parse_date,
    parse_datetime,
    to_json,
    to_stored,
)

SCHEMA = default_schema()


def field(obj: str, name: str) -> FieldSchema:
    found = SCHEMA.object(obj)
    assert found is not None
    result = found.field(name)
    assert result is not None
    return result


@pytest.mark.parametrize(("obj", "name", "value", "stored"), [
    ("Account", "Name", "Acme", "Acme"),
    ("Account", "Name", 123, "123"),  # Salesforce accepts a number for a text field
    ("Account", "Name", "", None),  # empty text is null
    ("Account", "Payment_Overdue__c", True, 1),
    ("Account", "Payment_Overdue__c", "false", 0),
    ("Account", "NumberOfEmployees", "10000", 10000),  # recorded: CumulusCI sends strings
    ("Account", "AnnualRevenue", 1.5e6, 1500000.0),
    ("Account", "Health_Score__c", "72.6", 73.0),  # rounded half up to scale 0
    ("Opportunity", "Amount", "10.005", 10.01),
    ("Opportunity", "CloseDate", "2024-05-31", "2024-05-31"),
    ("Opportunity", "CloseDate", "2024-05-31T23:00:00.000+0000", "2024-05-31"),
    ("Contract", "ActivatedDate", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000+0000"),
    ("Contract", "ActivatedDate", "2024-01-02T04:04:05.123456+01:00",
     "2024-01-02T03:04:05.123+0000"),
    ("Contract", "Status", "Activated", "Activated"),
    ("Account", "Industry", "Not In The List", "Not In The List"),  # unrestricted picklist
    ("Contract", "AccountId", "0015g0000000001", "0015g0000000001AAA"),  # 15 -> 18
    ("Contact", "Email", "a.b@example.com", "a.b@example.com"),
    ("Opportunity", "Amount", None, None),
])
def test_to_stored_accepts(obj: str, name: str, value: Any, stored: Any) -> None:
    assert to_stored(field(obj, name), value, object_name=obj) == stored


@pytest.mark.parametrize(("obj", "name", "value", "code", "message", "fields"), [
    ("Account", "Name", "x" * 256, "STRING_TOO_LONG",
     f"Account Name: data value too large: {'x' * 256} (max length=255)", ["Name"]),
    ("Contract", "Status", "Signed", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     "Status: bad value for restricted picklist field: Signed", ["Status"]),
    ("Account", "CurrencyIsoCode", "XYZ", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     "Account Currency: bad value for restricted picklist field: XYZ", ["CurrencyIsoCode"]),
    ("Account", "Health_Score__c", 1000, "NUMBER_OUTSIDE_VALID_RANGE",
     "Health Score: value outside of valid range on numeric field: 1000", ["Health_Score__c"]),
    ("Contract", "ContractTerm", 10000, "NUMBER_OUTSIDE_VALID_RANGE",
     "Contract Term (months): value outside of valid range on numeric field: 10000",
     ["ContractTerm"]),
    ("Contact", "Email", "not-an-email", "INVALID_EMAIL_ADDRESS",
     "Email: invalid email address: not-an-email", ["Email"]),
    ("Contract", "AccountId", "nope", "MALFORMED_ID",
     "Account ID: id value of incorrect type: nope", ["AccountId"]),
    ("Account", "Health_Score__c", "abc", "JSON_PARSER_ERROR",
     "Cannot deserialize instance of double from VALUE_STRING value abc or request may be "
     "missing a required field", None),
    ("Account", "Payment_Overdue__c", 1, "JSON_PARSER_ERROR",
     "Cannot deserialize instance of boolean from VALUE_NUMBER_INT value 1 or request may be "
     "missing a required field", None),
    ("Account", "Type", ["Prospect"], "JSON_PARSER_ERROR",
     "Cannot deserialize instance of picklist from START_ARRAY value [ or request may be "
     "missing a required field", None),
    ("Opportunity", "CloseDate", "31/05/2024", "JSON_PARSER_ERROR",
     "Cannot deserialize instance of date from VALUE_STRING value 31/05/2024 or request may "
     "be missing a required field", None),
    ("Contract", "ContractTerm", 1.5, "JSON_PARSER_ERROR",
     "Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value 1.5 or request may be "
     "missing a required field", None),
])
def test_to_stored_rejects_like_salesforce(obj: str, name: str, value: Any, code: str,
                                           message: str, fields: list[str] | None) -> None:
    with pytest.raises(SalesforceApiError) as caught:
        to_stored(field(obj, name), value, object_name=obj)
    assert caught.value.status == 400
    body = caught.value.rest_json()[0]
    assert body["errorCode"] == code
    assert body["message"] == message
    assert body.get("fields") == fields


@pytest.mark.parametrize(("name", "text", "stored"), [
    ("Payment_Overdue__c", "1", 1),
    ("Payment_Overdue__c", "FALSE", 0),
    ("Health_Score__c", "55", 55.0),
    ("Name", "#N/A", None),  # Bulk API's explicit null
])
def test_to_stored_from_bulk_text(name: str, text: str, stored: Any) -> None:
    assert to_stored(field("Account", name), text, object_name="Account",
                     from_text=True) == stored


def test_bulk_text_type_error_is_invalid_type_on_field_in_record() -> None:
    with pytest.raises(SalesforceApiError) as caught:
        to_stored(field("Account", "Health_Score__c"), "lots", object_name="Account",
                  from_text=True)
    assert caught.value.rest_json() == [{
        "message": "Health Score: value not of required type: lots",
        "errorCode": "INVALID_TYPE_ON_FIELD_IN_RECORD", "fields": ["Health_Score__c"]}]


def test_multipicklist_drops_empty_and_repeated_entries() -> None:
    multi = FieldSchema("Tags__c", type=FieldType.MULTIPICKLIST,
                        label="Tags", length=4099, picklist_values=("a", "b"),
                        restricted_picklist=True)
    assert to_stored(multi, "a;;b;a", object_name="Account") == "a;b"
    with pytest.raises(SalesforceApiError):
        to_stored(multi, "a;c", object_name="Account")


@pytest.mark.parametrize(("obj", "name", "stored", "rendered"), [
    ("Account", "Payment_Overdue__c", 1, True),
    ("Account", "Payment_Overdue__c", 0, False),
    ("Account", "NumberOfEmployees", 12, 12),
    ("Opportunity", "Amount", 12, 12.0),
    ("Opportunity", "CloseDate", "2024-05-31", "2024-05-31"),
    ("Opportunity", "Name", None, None),
])
def test_to_json(obj: str, name: str, stored: Any, rendered: Any) -> None:
    result = to_json(field(obj, name), stored)
    assert result == rendered
    assert type(result) is type(rendered)


def test_datetime_text_round_trips_in_utc_with_milliseconds() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-5)))
    text = format_datetime(moment)
    assert text == "2024-01-02T08:04:05.678+0000"
    assert parse_datetime(text) == datetime(2024, 1, 2, 8, 4, 5, 678000, tzinfo=UTC)
    assert parse_datetime("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="not a datetime"):
        parse_datetime("yesterday")


def test_date_text() -> None:
    assert format_date(date(2024, 2, 29)) == "2024-02-29"
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    with pytest.raises(ValueError, match="day is out of range"):
        parse_date("2023-02-29")
