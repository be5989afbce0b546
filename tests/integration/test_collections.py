"""sObject Collections (``/composite/sobjects``) through simple-salesforce's ``restful``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfrenew.salesforce import format_soql
from tests.integration.conftest import SalesforceClient, content

pytestmark = pytest.mark.integration

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
               "using AllOrNone header",
    "fields": [],
}


def _accounts(count: int, *, bad_at: int | None = None) -> list[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    records: list[dict[str, Any]] = []
    for i in range(count):
        record: dict[str, Any] = {"attributes": {"type": "Account"}, "Name": f"Coll {tag} {i}"}
        if i == bad_at:
            del record["Name"]  # REQUIRED_FIELD_MISSING
        records.append(record)
    return records


def _save(sf: SalesforceClient, method: str, records: list[dict[str, Any]], *,
          all_or_none: bool) -> list[dict[str, Any]]:
    result = sf.restful("composite/sobjects", method=method,
                        data=json.dumps({"allOrNone": all_or_none, "records": records}))
    assert isinstance(result, list)
    return result


def _count(sf: SalesforceClient, name_prefix: str) -> int:
    soql = format_soql("SELECT COUNT() FROM Account WHERE Name LIKE '{:like}%'", name_prefix)
    return int(sf.query(soql)["totalSize"])


def test_create_200_records_in_one_call(sf: SalesforceClient) -> None:
    records = _accounts(200)
    results = _save(sf, "POST", records, all_or_none=False)
    assert len(results) == 200
    assert all(r["success"] and r["errors"] == [] and r["id"].startswith("001")
               for r in results)
    assert len({r["id"] for r in results}) == 200


def test_more_than_200_records_is_exceeded_id_limit(sf: SalesforceClient) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        _save(sf, "POST", _accounts(201), all_or_none=False)
    assert content(failure.value)[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_partial_failure_without_all_or_none(sf: SalesforceClient) -> None:
    records = _accounts(3, bad_at=1)
    prefix = records[0]["Name"].rsplit(" ", 1)[0]
    results = _save(sf, "POST", records, all_or_none=False)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["errors"][0]["fields"] == ["Name"]
    assert "id" not in results[1]
    assert _count(sf, prefix) == 2


def test_all_or_none_rolls_back_every_row(sf: SalesforceClient) -> None:
    records = _accounts(3, bad_at=2)
    prefix = records[0]["Name"].rsplit(" ", 1)[0]
    results = _save(sf, "POST", records, all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert results[0]["errors"] == [ROLLED_BACK]
    assert results[1]["errors"] == [ROLLED_BACK]
    assert results[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert _count(sf, prefix) == 0


def test_update_and_delete_collections(sf: SalesforceClient) -> None:
    created = _save(sf, "POST", _accounts(3), all_or_none=True)
    ids = [r["id"] for r in created]
    updates = [{"attributes": {"type": "Account"}, "Id": i, "Industry": "Media"} for i in ids]
    updates.append({"attributes": {"type": "Account"}, "Industry": "Media"})  # no Id
    results = _save(sf, "PATCH", updates, all_or_none=False)
    assert [r["success"] for r in results] == [True, True, True, False]
    assert results[3]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert sf.Account.get(ids[0])["Industry"] == "Media"

    deleted = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": ",".join([*ids, ids[0]]), "allOrNone": "false"})
    assert [r["success"] for r in deleted] == [True, True, True, False]
    assert deleted[3]["id"] == ids[0]
    assert deleted[3]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_upsert_collection_reports_created_per_row(sf: SalesforceClient) -> None:
    account_id = sf.Account.create({"Name": f"Upsert {uuid.uuid4().hex[:6]}"})["id"]
    keys = [f"k-{uuid.uuid4().hex}" for _ in range(3)]

    def records(stage: str) -> list[dict[str, Any]]:
        return [{"attributes": {"type": "Opportunity"}, "Sfrenew_Key__c": key, "Name": key,
                 "StageName": stage, "CloseDate": "2027-03-31", "AccountId": account_id}
                for key in keys]

    first = sf.restful("composite/sobjects/Opportunity/Sfrenew_Key__c", method="PATCH",
                       data=json.dumps({"allOrNone": False, "records": records("Prospecting")}))
    assert [r["created"] for r in first] == [True, True, True]
    second = sf.restful("composite/sobjects/Opportunity/Sfrenew_Key__c", method="PATCH",
                        data=json.dumps({"allOrNone": False,
                                         "records": records("Qualification")}))
    assert [r["created"] for r in second] == [False, False, False]
    assert [r["id"] for r in second] == [r["id"] for r in first]


def test_upsert_collection_with_duplicate_keys_in_request(sf: SalesforceClient) -> None:
    key = f"dup-{uuid.uuid4().hex}"
    record = {"attributes": {"type": "Opportunity"}, "Sfrenew_Key__c": key, "Name": "d",
              "StageName": "Prospecting", "CloseDate": "2027-03-31"}
    results = sf.restful("composite/sobjects/Opportunity/Sfrenew_Key__c", method="PATCH",
                         data=json.dumps({"allOrNone": False, "records": [record, record]}))
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"


def test_collections_count_one_api_call(sf: SalesforceClient) -> None:
    sf.limits()
    before = sf.api_usage["api-usage"].used
    _save(sf, "POST", _accounts(50), all_or_none=False)
    assert sf.api_usage["api-usage"].used == before + 1
