"""Single-record sObject calls, describe and errors through simple-salesforce."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.ids import normalize_id
from tests.integration.conftest import API_VERSION, SalesforceClient, content

pytestmark = pytest.mark.integration


def _name(prefix: str = "Acme") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_create_get_update_delete(local_org: LocalOrg, sf: SalesforceClient,
                                  http: requests.Session) -> None:
    body = sf.Account.create({"Name": _name(), "Industry": "Banking"})
    assert set(body) == {"id", "success", "errors"}
    assert body["success"] is True
    assert body["errors"] == []
    account_id = body["id"]
    assert len(account_id) == 18
    assert account_id.startswith("001")
    assert normalize_id(account_id) == account_id

    record = sf.Account.get(account_id)
    assert record["attributes"] == {
        "type": "Account", "url": f"/services/data/v{API_VERSION}/sobjects/Account/{account_id}"}
    assert record["Id"] == account_id
    assert record["Industry"] == "Banking"
    assert record["CreatedDate"].endswith("+0000")

    assert sf.Account.update(account_id, {"Industry": "Retail"}) == 204
    assert sf.Account.get(account_id)["Industry"] == "Retail"

    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as failure:
        sf.Account.delete(account_id)
    assert content(failure.value)[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_create_answers_201_with_location(local_org: LocalOrg, sf: SalesforceClient,
                                          http: requests.Session) -> None:
    response = http.post(
        f"{local_org.instance_url}/services/data/v{API_VERSION}/sobjects/Account",
        json={"Name": _name()}, headers={"Authorization": sf.headers["Authorization"]})
    assert response.status_code == 201
    account_id = response.json()["id"]
    assert response.headers["Location"] == (
        f"/services/data/v{API_VERSION}/sobjects/Account/{account_id}")
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_get_with_fields_parameter(sf: SalesforceClient) -> None:
    account_id = sf.Account.create({"Name": _name(), "Industry": "Energy"})["id"]
    record = sf.restful(f"sobjects/Account/{account_id}", params={"fields": "Name,Industry"})
    assert {"attributes", "Name", "Industry"} <= set(record)
    assert "Description" not in record


def test_upsert_creates_then_updates(sf: SalesforceClient) -> None:
    key = f"opp-{uuid.uuid4().hex}"
    account_id = sf.Account.create({"Name": _name()})["id"]
    values: dict[str, Any] = {"Name": "Renewal", "StageName": "Prospecting",
                              "CloseDate": "2027-01-31", "AccountId": account_id}
    created = sf.Opportunity.upsert(f"Sfrenew_Key__c/{key}", values, raw_response=True)
    assert created.status_code == 201
    assert created.json()["created"] is True
    assert created.json()["success"] is True
    opp_id = created.json()["id"]

    updated = sf.Opportunity.upsert(f"Sfrenew_Key__c/{key}", {"StageName": "Qualification"},
                                    raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {"id": opp_id, "success": True, "errors": [], "created": False}
    assert sf.Opportunity.get_by_custom_id("Sfrenew_Key__c", key)["StageName"] == "Qualification"


def test_upsert_on_unknown_or_non_external_field_is_not_found(sf: SalesforceClient) -> None:
    for field in ("Nope__c", "Name"):
        with pytest.raises(SalesforceResourceNotFound) as failure:
            sf.Account.upsert(f"{field}/x", {"Name": "x"})
        assert content(failure.value) == [{
            "message": f"Provided external ID field does not exist or is not accessible: {field}",
            "errorCode": "NOT_FOUND"}]


def test_get_by_unknown_external_id_is_not_found(sf: SalesforceClient) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.Opportunity.get_by_custom_id("Sfrenew_Key__c", "no-such-key")


def test_unknown_sobject_is_not_found(sf: SalesforceClient) -> None:
    with pytest.raises(SalesforceResourceNotFound) as failure:
        sf.PlayingCard__c.create({"Name": "x"})
    assert content(failure.value) == [{"message": "The requested resource does not exist",
                                      "errorCode": "NOT_FOUND"}]


def test_validation_errors_are_malformed_request(sf: SalesforceClient) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Account.create({"Industry": "Banking"})
    assert content(failure.value)[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert content(failure.value)[0]["fields"] == ["Name"]
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Account.create({"Name": "x", "FavoritePet__c": "cat"})
    assert content(failure.value)[0]["errorCode"] == "INVALID_FIELD"


def test_bad_json_is_json_parser_error(local_org: LocalOrg, sf: SalesforceClient,
                                       http: requests.Session) -> None:
    response = http.post(f"{local_org.instance_url}/services/data/v{API_VERSION}/sobjects/Account",
                         data=b"{not json", headers={**sf.headers})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_global_describe_and_object_describe(sf: SalesforceClient) -> None:
    described = sf.describe()
    assert described is not None
    names = {entry["name"] for entry in described["sobjects"]}
    assert {"Account", "Contract", "Opportunity", "SBQQ__Subscription__c"} <= names
    account = sf.Account.describe()
    assert account["name"] == "Account"
    assert account["keyPrefix"] == "001"
    fields = {f["name"]: f for f in account["fields"]}
    assert fields["Name"]["type"] == "string"
    basic = sf.Account.metadata()
    assert basic["objectDescribe"]["name"] == "Account"
    # The user's latest Accounts (recentItems; tests/integration/test_client_gaps.py).
    assert all(item["attributes"]["type"] == "Account" for item in basic["recentItems"])


def test_every_counted_call_carries_the_limit_header(sf: SalesforceClient) -> None:
    account = sf.Account  # each attribute access builds a new SFType with its own usage
    account.describe()
    before = account.api_usage["api-usage"].used
    account.describe()
    after = account.api_usage["api-usage"]
    assert after.used == before + 1
    assert after.total == 100_000
