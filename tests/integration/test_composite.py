"""``POST /composite`` with references, through simple-salesforce's ``restful``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfrenew.salesforce import format_soql
from tests.integration.conftest import API_VERSION, SalesforceClient

pytestmark = pytest.mark.integration

BASE = f"/services/data/v{API_VERSION}"


def _composite(sf: SalesforceClient, requests: list[dict[str, Any]], *,
               all_or_none: bool = False) -> list[dict[str, Any]]:
    result = sf.restful("composite", method="POST", data=json.dumps(
        {"allOrNone": all_or_none, "compositeRequest": requests}))
    assert isinstance(result, dict)
    answers: list[dict[str, Any]] = result["compositeResponse"]
    return answers


def test_references_between_subrequests(sf: SalesforceClient) -> None:
    name = f"Composite {uuid.uuid4().hex[:8]}"
    answers = _composite(sf, [
        {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "NewAccount",
         "body": {"Name": name}},
        {"method": "GET", "url": f"{BASE}/sobjects/Account/@{{NewAccount.id}}",
         "referenceId": "ReadBack"},
        {"method": "POST", "url": f"{BASE}/sobjects/Contact", "referenceId": "NewContact",
         "body": {"LastName": "Bluth", "AccountId": "@{NewAccount.id}"}},
        {"method": "GET", "referenceId": "Query",
         "url": f"{BASE}/query?q=SELECT+Id,Name+FROM+Account+WHERE+Id='@{{NewAccount.id}}'"},
        {"method": "PATCH", "url": f"{BASE}/sobjects/Account/@{{Query.records[0].Id}}",
         "referenceId": "Update", "body": {"Industry": "Media"}},
    ])
    assert [a["referenceId"] for a in answers] == [
        "NewAccount", "ReadBack", "NewContact", "Query", "Update"]
    assert [a["httpStatusCode"] for a in answers] == [201, 200, 201, 200, 204]
    account_id = answers[0]["body"]["id"]
    assert answers[0]["httpHeaders"] == {"Location": f"{BASE}/sobjects/Account/{account_id}"}
    assert answers[1]["body"]["Name"] == name
    assert answers[3]["body"]["records"][0]["Id"] == account_id
    assert answers[4]["body"] is None
    assert sf.Account.get(account_id)["Industry"] == "Media"


def test_failure_without_all_or_none_keeps_other_results(sf: SalesforceClient) -> None:
    answers = _composite(sf, [
        {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "Good",
         "body": {"Name": f"Good {uuid.uuid4().hex[:6]}"}},
        {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "Bad",
         "body": {"Industry": "Media"}},
        {"method": "GET", "url": f"{BASE}/sobjects/Account/@{{Bad.id}}",
         "referenceId": "UsesBad"},
        {"method": "GET", "url": f"{BASE}/sobjects/Nope__c", "referenceId": "Unknown"},
    ])
    assert [a["httpStatusCode"] for a in answers] == [201, 400, 400, 404]
    assert answers[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert answers[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answers[3]["body"] == [{"message": "The requested resource does not exist",
                                   "errorCode": "NOT_FOUND"}]
    sf.Account.get(answers[0]["body"]["id"])  # still there


def test_all_or_none_rolls_back_and_halts(sf: SalesforceClient) -> None:
    name = f"Rolled {uuid.uuid4().hex[:8]}"
    answers = _composite(sf, [
        {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "First",
         "body": {"Name": name}},
        {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "Bad",
         "body": {"Industry": "Media"}},
        {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "After",
         "body": {"Name": name}},
    ], all_or_none=True)
    assert [a["httpStatusCode"] for a in answers] == [400, 400, 400]
    assert answers[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answers[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert answers[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    soql = format_soql("SELECT COUNT() FROM Account WHERE Name = {}", name)
    assert sf.query(soql)["totalSize"] == 0


def test_more_than_25_subrequests_is_refused(sf: SalesforceClient) -> None:
    subrequests = [{"method": "GET", "url": f"{BASE}/limits", "referenceId": f"r{i}"}
                   for i in range(26)]
    with pytest.raises(SalesforceMalformedRequest):
        _composite(sf, subrequests)


def test_composite_is_one_api_call(sf: SalesforceClient) -> None:
    sf.limits()
    before = sf.api_usage["api-usage"].used
    _composite(sf, [{"method": "GET", "url": f"{BASE}/limits", "referenceId": f"r{i}"}
                    for i in range(25)])
    assert sf.api_usage["api-usage"].used == before + 1
