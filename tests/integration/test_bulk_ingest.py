"""Bulk API 2.0 ingest jobs through simple-salesforce's unmodified ``bulk2`` and raw HTTP."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceOperationError

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import format_soql
from tests.integration.conftest import API_VERSION, SalesforceClient

pytestmark = pytest.mark.integration

WAIT = 0.02  # simple-salesforce sleeps this long before its first poll


def jobs_url(org: LocalOrg, kind: str = "ingest") -> str:
    return f"{org.instance_url}/services/data/v{API_VERSION}/jobs/{kind}"


def auth(sf: SalesforceClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {sf.session_id}"}


def create_job(http: requests.Session, org: LocalOrg, sf: SalesforceClient,
               **body: Any) -> dict[str, Any]:
    response = http.post(jobs_url(org), json={"contentType": "CSV", **body}, headers=auth(sf))
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for(http: requests.Session, url: str, sf: SalesforceClient, *states: str
             ) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info: dict[str, Any] = http.get(url, headers=auth(sf)).json()
        if info["state"] in states:
            return info
        time.sleep(0.01)
    raise AssertionError(f"job never reached {states}")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_with_failed_rows_reports_each_row(sf: SalesforceClient) -> None:
    records = [{"Name": f"Bulk Insert {i}", "NumberOfEmployees": str(i)} for i in range(250)]
    records += [{"Name": "", "NumberOfEmployees": "7"},
                {"Name": "Not a number", "NumberOfEmployees": "many"}]

    [result] = sf.bulk2.Account.insert(records=records, wait=WAIT)

    assert result["numberRecordsProcessed"] == 252
    assert result["numberRecordsFailed"] == 2
    job_id = result["job_id"]
    success = sf.bulk2.Account.get_successful_records(job_id)
    # simple-salesforce orders the columns of a list of dicts as a set does: any order.
    head, _, columns = success.splitlines()[0].partition('"sf__Created",')
    assert head == '"sf__Id",'
    assert sorted(columns.split(",")) == ["Name", "NumberOfEmployees"]
    ok = rows(success)
    assert len(ok) == 250
    assert ok[0]["sf__Created"] == "true"
    assert ok[0]["sf__Id"].startswith("001")
    assert len(ok[0]["sf__Id"]) == 18
    assert sf.Account.get(ok[0]["sf__Id"])["Name"] == ok[0]["Name"]
    failed = sf.bulk2.Account.get_failed_records(job_id)
    assert failed.splitlines()[0] == f'"sf__Id","sf__Error",{columns}'
    errors = {r["NumberOfEmployees"]: r["sf__Error"] for r in rows(failed)}
    assert errors["7"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert errors["many"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")
    assert errors["many"].endswith(":NumberOfEmployees --")
    assert all(r["sf__Id"] == "" for r in rows(failed))
    assert sf.bulk2.Account.get_unprocessed_records(job_id) == f"{columns}\n"


def test_upsert_update_and_delete_round_trip(sf: SalesforceClient) -> None:
    key = "bulk-upsert-1"
    records = [{"Name": "Renewal A", "StageName": "Prospecting", "CloseDate": "2027-01-31",
                "Sfrenew_Key__c": key}]
    [created] = sf.bulk2.Opportunity.upsert(records=records, external_id_field="Sfrenew_Key__c",
                                            wait=WAIT)
    assert created["numberRecordsFailed"] == 0
    [first] = rows(sf.bulk2.Opportunity.get_successful_records(created["job_id"]))
    assert first["sf__Created"] == "true"

    records[0]["Amount"] = "1200.50"
    [updated] = sf.bulk2.Opportunity.upsert(records=records, external_id_field="Sfrenew_Key__c",
                                            wait=WAIT)
    [second] = rows(sf.bulk2.Opportunity.get_successful_records(updated["job_id"]))
    assert second == {**first, "sf__Created": "false", "Amount": "1200.50"}
    assert sf.Opportunity.get(first["sf__Id"])["Amount"] == 1200.5

    [renamed] = sf.bulk2.Opportunity.update(
        records=[{"Id": first["sf__Id"], "Name": "Renewal A (renamed)"},
                 {"Id": "006000000000000AAA", "Name": "nobody"}], wait=WAIT)
    assert renamed["numberRecordsFailed"] == 1
    assert sf.Opportunity.get(first["sf__Id"])["Name"] == "Renewal A (renamed)"

    [deleted] = sf.bulk2.Opportunity.delete(records=[{"Id": first["sf__Id"]}], wait=WAIT)
    assert deleted["numberRecordsFailed"] == 0
    found = sf.query(format_soql("SELECT Id FROM Opportunity WHERE Id = {}", first["sf__Id"]))
    assert found["totalSize"] == 0


def test_crlf_job_and_a_mismatched_line_ending(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session,
        tmp_path: Path) -> None:
    data = tmp_path / "accounts.csv"
    data.write_bytes(b"Name,Industry\r\nCRLF Co,Energy\r\nCRLF Two,Banking\r\n")
    [result] = sf.bulk2.Account.insert(csv_file=str(data), wait=WAIT, line_ending="CRLF")
    assert result["numberRecordsProcessed"] == 2
    assert result["numberRecordsFailed"] == 0

    # simple-salesforce always writes the declared ending, so a mismatch needs raw HTTP.
    job = create_job(http, local_org, sf, object="Account", operation="insert",
                     lineEnding="CRLF")
    url = f"{jobs_url(local_org)}/{job['id']}"
    http.put(f"{url}/batches", data=b"Name\nLF data\n",
             headers={**auth(sf), "Content-Type": "text/csv"})
    http.patch(url, json={"state": "UploadComplete"}, headers=auth(sf))
    info = wait_for(http, url, sf, "Failed", "JobComplete")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == ("ClientInputError : LineEnding is invalid on user data. "
                                    "Current LineEnding setting is CRLF")


def test_a_bad_header_fails_the_job_with_its_error_message(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Account.insert(records=[{"Name": "x", "Nope__c": "y"}], wait=WAIT)
    failed = [j for j in http.get(jobs_url(local_org), headers=auth(sf)).json()["records"]
              if j["state"] == "Failed"]
    assert failed
    info = http.get(f"{jobs_url(local_org)}/{failed[-1]['id']}", headers=auth(sf)).json()
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"


def test_aborted_job_keeps_its_rows_unprocessed(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session) -> None:
    job = create_job(http, local_org, sf, object="Account", operation="insert")
    assert job["state"] == "Open"
    assert job["contentUrl"] == (f"services/data/v{API_VERSION}/jobs/ingest/{job['id']}"
                                 "/batches")
    url = f"{jobs_url(local_org)}/{job['id']}"
    upload = http.put(f"{url}/batches", data=b"Name\nNever saved\n",
                      headers={**auth(sf), "Content-Type": "text/csv"})
    assert upload.status_code == 201
    assert upload.content == b""
    again = http.put(f"{url}/batches", data=b"Name\nx\n",
                     headers={**auth(sf), "Content-Type": "text/csv"})
    assert again.status_code == 400
    assert again.json()[0]["errorCode"] == "BULK_API_ERROR"

    aborted = http.patch(url, json={"state": "Aborted"}, headers=auth(sf))
    assert aborted.status_code == 200
    assert aborted.json()["state"] == "Aborted"
    assert http.get(f"{url}/unprocessedrecords", headers=auth(sf)).text == \
        "Name\nNever saved\n"
    closing = http.patch(url, json={"state": "UploadComplete"}, headers=auth(sf))
    assert closing.status_code == 400
    assert closing.json() == [{"message": "Closing already Aborted Job not allowed",
                               "errorCode": "INVALIDJOBSTATE"}]

    assert http.delete(url, headers=auth(sf)).status_code == 204
    missing = http.get(url, headers=auth(sf))
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "NOT_FOUND"


def test_job_info_has_the_recorded_shape(
        sf: SalesforceClient, local_org: LocalOrg, http: requests.Session) -> None:
    [result] = sf.bulk2.Account.insert(records=[{"Name": "Shape Co"}], wait=WAIT)
    info = http.get(f"{jobs_url(local_org)}/{result['job_id']}", headers=auth(sf)).json()
    recorded = {"id", "operation", "object", "createdById", "createdDate", "systemModstamp",
                "state", "concurrencyMode", "contentType", "apiVersion", "jobType",
                "lineEnding", "columnDelimiter", "numberRecordsProcessed",
                "numberRecordsFailed", "retries", "totalProcessingTime",
                "apiActiveProcessingTime", "apexProcessingTime"}
    assert recorded <= set(info)
    assert info["state"] == "JobComplete"
    assert info["apiVersion"] == float(API_VERSION)
    assert info["jobType"] == "V2Ingest"
    assert info["createdById"] == local_org.integration_user_id
    assert info["createdDate"].endswith("+0000")
    assert "errorMessage" not in info


@pytest.mark.parametrize(("body", "code"), [
    ({"object": "Nope__c", "operation": "insert"}, "INVALIDJOB"),
    ({"object": "Account", "operation": "merge"}, "INVALIDJOB"),
    ({"object": "Opportunity", "operation": "upsert", "externalIdFieldName": "Name"},
     "INVALIDJOB"),
    ({"object": "Account", "operation": "insert", "lineEnding": "CR"}, "INVALIDJOB"),
])
def test_create_refuses_bad_jobs(sf: SalesforceClient, local_org: LocalOrg,
                                 http: requests.Session, body: dict[str, str], code: str) -> None:
    response = http.post(jobs_url(local_org), json=body, headers=auth(sf))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
