"""Bulk API 2.0 query jobs through simple-salesforce's ``bulk2`` and raw HTTP."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import format_soql
from tests.integration.conftest import API_VERSION, SalesforceClient

pytestmark = pytest.mark.integration

WAIT = 0.02
PREFIX = "BulkQuery "


def query_url(org: LocalOrg) -> str:
    return f"{org.instance_url}/services/data/v{API_VERSION}/jobs/query"


def auth(sf: SalesforceClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {sf.session_id}"}


@pytest.fixture(scope="module")
def accounts(local_org: LocalOrg) -> list[str]:
    """120 accounts named ``BulkQuery NNN``, one with a quote, a comma and a line break."""
    user = local_org.integration_user_id
    rows: list[dict[str, Any]] = [{"Name": f"{PREFIX}{i:03d}"} for i in range(119)]
    rows.append({"Name": f'{PREFIX}"odd", name', "Description": "line one\nline two"})
    return local_org.store.insert_many("Account", rows, user_id=user)


def finished_job(http: requests.Session, org: LocalOrg, sf: SalesforceClient,
                 soql: str, operation: str = "query") -> str:
    response = http.post(query_url(org), json={"operation": operation, "query": soql},
                         headers=auth(sf))
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["state"] == "UploadComplete"
    assert job["jobType"] == "V2Query"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = http.get(f"{query_url(org)}/{job['id']}", headers=auth(sf)).json()
        if info["state"] == "JobComplete":
            return str(job["id"])
        time.sleep(0.01)
    raise AssertionError("query job did not complete")


def test_simple_salesforce_pages_through_every_record(
        sf: SalesforceClient, accounts: list[str]) -> None:
    soql = format_soql("SELECT Id, Name, Description FROM Account WHERE Name LIKE '{:like}%' "
                       "ORDER BY Name", PREFIX)
    pages = list(sf.bulk2.Account.query(soql, max_records=50, wait=WAIT))

    assert len(pages) == 3
    records = [r for page in pages for r in csv.DictReader(io.StringIO(page))]
    assert sorted(r["Id"] for r in records) == sorted(accounts)
    odd = next(r for r in records if "odd" in r["Name"])
    assert odd["Name"] == f'{PREFIX}"odd", name'
    assert odd["Description"] == "line one\nline two"
    for page in pages:
        assert page.startswith('"Id","Name","Description"\n')
    assert pages[0].splitlines()[1].startswith('"001')


def test_results_headers_locator_and_quoting(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session,
        accounts: list[str]) -> None:
    assert accounts
    job_id = finished_job(http, local_org, sf,
                          format_soql("SELECT Name, Owner.Name, Phone FROM Account "
                                      "WHERE Name LIKE '{:like}0%' ORDER BY Name", PREFIX))
    url = f"{query_url(local_org)}/{job_id}/results"
    first = http.get(url, params={"maxRecords": 60}, headers=auth(sf))
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("text/csv")
    assert first.headers["Sforce-NumberOfRecords"] == "60"
    assert first.headers["Sforce-Limit-Info"].startswith("api-usage=")
    lines = first.text.splitlines()
    assert lines[0] == '"Name","Owner.Name","Phone"'
    assert lines[1] == f'"{PREFIX}000","sfrenew Integration",""'
    locator = first.headers["Sforce-Locator"]
    assert locator != "null"

    last = http.get(url, params={"maxRecords": "60", "locator": locator}, headers=auth(sf))
    assert last.headers["Sforce-Locator"] == "null"
    assert last.headers["Sforce-NumberOfRecords"] == "40"
    assert last.text.splitlines()[0] == lines[0]

    bad = http.get(url, params={"locator": "bm9wZQ"}, headers=auth(sf))
    assert bad.status_code == 400
    info = http.get(f"{query_url(local_org)}/{job_id}", headers=auth(sf)).json()
    assert info["numberRecordsProcessed"] == 100
    assert info["operation"] == "query"
    assert info["object"] == "Account"


def test_query_all_includes_deleted_rows(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session) -> None:
    record_id = sf.Account.create({"Name": "BulkQueryAll gone"})["id"]
    sf.Account.delete(record_id)
    soql = "SELECT Id, IsDeleted FROM Account WHERE Name = 'BulkQueryAll gone'"
    live = finished_job(http, local_org, sf, soql)
    everything = finished_job(http, local_org, sf, soql, operation="queryAll")
    base = query_url(local_org)
    assert http.get(f"{base}/{live}/results", headers=auth(sf)).text == '"Id","IsDeleted"\n'
    assert http.get(f"{base}/{everything}/results", headers=auth(sf)).text == \
        f'"Id","IsDeleted"\n"{record_id}","true"\n'


@pytest.mark.parametrize("soql", [
    "SELECT COUNT() FROM Account",
    "SELECT Name FROM Account LIMIT 5 OFFSET 2",
    "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
    "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
])
def test_bulk_restrictions_are_salesforce_errors(sf: SalesforceClient, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        list(sf.bulk2.Account.query(soql, wait=WAIT))
    content: Any = caught.value.content  # simple-salesforce types the parsed body as bytes
    assert content[0]["errorCode"] == "API_ERROR"


def test_a_malformed_query_is_refused_at_create(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session) -> None:
    response = http.post(query_url(local_org), json={"operation": "query",
                                                     "query": "SELECT FROM Account"},
                         headers=auth(sf))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_list_abort_and_delete(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session) -> None:
    job_id = finished_job(http, local_org, sf, "SELECT Id FROM User")
    listed = http.get(query_url(local_org), headers=auth(sf)).json()
    assert listed["done"] is True
    assert job_id in {j["id"] for j in listed["records"]}
    url = f"{query_url(local_org)}/{job_id}"
    refused = http.patch(url, json={"state": "Aborted"}, headers=auth(sf))
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert http.delete(url, headers=auth(sf)).status_code == 204
    assert http.get(url, headers=auth(sf)).status_code == 404
