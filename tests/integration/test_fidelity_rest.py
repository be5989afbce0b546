"""The server's answers have the shapes Salesforce recorded (``../shared/salesforce-corpus``).

Same keys, nesting, types, status codes and the headers clients read; values that
are org-specific (Ids, dates, usage counts) are compared by pattern.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from sfrenew.localorg.app import LocalOrg
from tests.integration.conftest import API_VERSION, SalesforceClient

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "salesforce-corpus" / "shapes"
BASE = f"/services/data/v{API_VERSION}"
_LIMIT_INFO = re.compile(r"^api-usage=\d+/\d+$")


def _shape(name: str) -> dict[str, Any]:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus not found at {path}")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _keys(value: dict[str, Any]) -> set[str]:
    return {k for k in value if not k.startswith("_")}


def _url(org: LocalOrg, path: str) -> str:
    return f"{org.instance_url}{path}"


def _auth(sf: SalesforceClient) -> dict[str, str]:
    return {"Authorization": sf.headers["Authorization"]}


def test_token_answer_has_the_documented_keys(local_org: LocalOrg,
                                             http: requests.Session) -> None:
    documented = _shape("10_oauth2_token.json")["docs_example_username_password"]["body"]
    info = local_org.connection_info
    response = http.post(_url(local_org, "/services/oauth2/token"), data={
        "grant_type": "password", "client_id": info["client_id"],
        "client_secret": info["client_secret"], "username": info["username"],
        "password": info["password"]})
    body = response.json()
    assert _keys(documented) <= set(body)
    assert all(isinstance(body[k], str) for k in documented)
    assert re.match(r"^https://[^/]+/id/00D\w{15}/005\w{15}$", body["id"])


def test_expired_session_answer(local_org: LocalOrg, http: requests.Session) -> None:
    recorded = _shape("03_error_list_examples.json")["INVALID_SESSION_ID_401"]
    response = http.post(_url(local_org, f"{BASE}/sobjects/Account"), json={"Name": "x"},
                         headers={"Authorization": "Bearer 00Dxx!expired"})
    assert response.status_code == recorded["status"]
    assert response.json() == recorded["body"]
    assert response.headers["WWW-Authenticate"] == recorded["headers"]["WWW-Authenticate"]
    assert response.headers["Content-Type"] == recorded["headers"]["Content-Type"]
    assert "Sforce-Limit-Info" not in response.headers


def test_unknown_object_answer(local_org: LocalOrg, sf: SalesforceClient,
                               http: requests.Session) -> None:
    recorded = _shape("03_error_list_examples.json")["NOT_FOUND_unknown_sobject_404"]
    response = http.post(_url(local_org, f"{BASE}/sobjects/PlayingCard__c"), json={"Name": "x"},
                         headers=_auth(sf))
    assert response.status_code == recorded["status"]
    assert response.json() == recorded["body"]
    assert response.headers["Content-Type"] == recorded["headers"]["Content-Type"]
    assert _LIMIT_INFO.match(response.headers["Sforce-Limit-Info"])


def test_create_update_delete_statuses(local_org: LocalOrg, sf: SalesforceClient,
                                       http: requests.Session) -> None:
    shapes = _shape("05_sobject_create_update_upsert.json")
    created = http.post(_url(local_org, f"{BASE}/sobjects/Account"),
                        json={"Name": f"F {uuid.uuid4().hex[:6]}"}, headers=_auth(sf))
    recorded = shapes["create_201_recorded"]
    assert created.status_code == recorded["status"]
    assert set(created.json()) == _keys(recorded["body"])
    account_id = created.json()["id"]
    assert created.headers["Location"] == f"{BASE}/sobjects/Account/{account_id}"
    assert _LIMIT_INFO.match(created.headers["Sforce-Limit-Info"])

    updated = http.patch(_url(local_org, f"{BASE}/sobjects/Account/{account_id}"),
                         json={"Industry": "Media"}, headers=_auth(sf))
    assert updated.status_code == shapes["update_204_recorded"]["status"]
    assert updated.content == b""

    deleted = http.delete(_url(local_org, f"{BASE}/sobjects/Account/{account_id}"),
                          headers=_auth(sf))
    assert deleted.status_code == shapes["delete_204_recorded"]["status"]
    again = http.delete(_url(local_org, f"{BASE}/sobjects/Account/{account_id}"),
                        headers=_auth(sf))
    recorded_again = _shape("03_error_list_examples.json")["ENTITY_IS_DELETED_404"]
    assert again.status_code == recorded_again["status"]
    assert again.json() == recorded_again["body"]


def test_query_page_shape(local_org: LocalOrg, sf: SalesforceClient) -> None:
    recorded = _shape("01_query_page_nextRecordsUrl.json")
    local_org.store.insert_many("Contact", ({"LastName": f"Page {i}"} for i in range(2001)),
                                user_id=local_org.integration_user_id)
    page = sf.query("SELECT Id, LastName FROM Contact")
    first = recorded["first_page"]["body"]
    assert list(page) == [k for k in first if not k.startswith("_")]
    assert re.match(r"^/services/data/v\d+\.0/query/01g\w{15}-2000$", page["nextRecordsUrl"])
    assert set(page["records"][0]) >= {"attributes", "Id", "LastName"}
    assert set(page["records"][0]["attributes"]) == set(first["records"][0]["attributes"])
    last = sf.query("SELECT Id FROM Contact LIMIT 1")
    assert list(last) == [k for k in recorded["simple_done_true"]["body"]
                          if not k.startswith("_")]


def test_collections_results_shape(sf: SalesforceClient) -> None:
    shapes = _shape("04_composite_sobjects_save_results.json")
    ok_shape = shapes["create_POST_composite_sobjects"][0]["body"][0]
    failure_false = shapes["failure_entries_docs_example"]["allOrNone_false"][0]
    rolled_back = shapes["failure_entries_docs_example"]["allOrNone_true"][1]
    records = [{"attributes": {"type": "Account"}, "Name": f"F {uuid.uuid4().hex[:6]}"},
               {"attributes": {"type": "Account"}}]
    partial = sf.restful("composite/sobjects", method="POST",
                         data=json.dumps({"allOrNone": False, "records": records}))
    assert set(partial[0]) == set(ok_shape)
    assert set(partial[1]) == set(failure_false)
    assert set(partial[1]["errors"][0]) == set(failure_false["errors"][0])
    whole = sf.restful("composite/sobjects", method="POST",
                       data=json.dumps({"allOrNone": True, "records": records}))
    assert whole[0] == rolled_back


def test_composite_subrequest_errors_shape(sf: SalesforceClient) -> None:
    recorded = _shape("04_composite_sobjects_save_results.json")[
        "composite_compositeResponse_error_body_is_list_with_errorCode"][0]["body"]
    result = sf.restful("composite", method="POST", data=json.dumps({"compositeRequest": [
        {"referenceId": "CCI__RefId__0__", "method": "GET", "url": f"{BASE}/sobjects/Foo"}]}))
    assert result == recorded
    invalid_type = _shape("03_error_list_examples.json")["INVALID_TYPE_inside_composite"]["body"]
    result = sf.restful("composite", method="POST", data=json.dumps({"compositeRequest": [
        {"referenceId": "refXYZZY", "method": "GET",
         "url": f"{BASE}/query/?q=select count() from XYZZY"}]}))
    answer = result["compositeResponse"][0]
    expected = invalid_type["compositeResponse"][1]
    assert answer["httpStatusCode"] == expected["httpStatusCode"]
    assert answer["body"][0]["errorCode"] == expected["body"][0]["errorCode"]
    assert set(answer) == set(expected)
