"""What other Salesforce clients (jsforce 3, the Salesforce CLI) need beyond simple-salesforce.

Each case closes a gap issue 20 found with those clients, checked here over HTTPS with
the unmodified simple-salesforce client or raw requests; the third-party clients
themselves run in tests/thirdparty.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.ids import case_safe_suffix
from sfrenew.localorg.values import format_datetime
from tests.clock import now
from tests.integration.conftest import API_VERSION, SalesforceClient, content

pytestmark = pytest.mark.integration


def base(org: LocalOrg) -> str:
    return f"{org.instance_url}/services/data/v{API_VERSION}"


def auth(sf: SalesforceClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {sf.session_id}"}


# --- query?columns=true, query?explain= ---------------------------------------------------


def test_columns_true_answers_column_metadata_with_joins(sf: SalesforceClient) -> None:
    account = sf.Account.create({"Name": "Columns Co"})["id"]
    sf.Contact.create({"LastName": "Col", "AccountId": account})
    soql = ("SELECT Id, Name, Owner.Name, (SELECT LastName FROM Contacts) FROM Account "
            f"WHERE Id = '{account}'")

    body = sf.restful("query", params={"q": soql, "columns": "true"})

    assert body["entityName"] == "Account"
    assert body["keyPrefix"] == "001"
    assert body["idSelected"] is True
    columns = body["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "Name", "Owner", "Contacts"]
    assert columns[1]["textType"] is True
    assert columns[1]["aggregate"] is False
    owner, contacts = columns[2], columns[3]
    assert owner["aggregate"] is False
    assert [c["columnName"] for c in owner["joinColumns"]] == ["Name"]
    # A child subquery is an aggregate column whose joinColumns are the child's fields.
    assert contacts["aggregate"] is True
    assert [c["columnName"] for c in contacts["joinColumns"]] == ["LastName"]


def test_columns_true_names_unaliased_aggregates_expr_n(sf: SalesforceClient) -> None:
    body = sf.restful("query", params={
        "q": "SELECT Industry, COUNT(Id), MAX(AnnualRevenue) total FROM Account GROUP BY Industry",
        "columns": "true"})

    columns = [(c["columnName"], c["displayName"], c["aggregate"])
               for c in body["columnMetadata"]]
    assert columns == [("Industry", "Industry", False), ("expr0", "COUNT(Id)", True),
                       ("total", "MAX(AnnualRevenue)", True)]
    assert body["groupBy"] is True


def test_explain_answers_a_table_scan_plan(sf: SalesforceClient) -> None:
    for i in range(3):
        sf.Account.create({"Name": f"Explain {i}", "Site": "explain-site"})
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]

    body = sf.restful("query", params={"explain": "SELECT Id FROM Account WHERE Site = "
                                                  "'explain-site'"})

    [plan] = body["plans"]
    assert plan["leadingOperationType"] == "TableScan"
    assert plan["sobjectType"] == "Account"
    assert plan["cardinality"] == 3
    assert plan["sobjectCardinality"] == total
    assert plan["relativeCost"] == round(3 / total, 4)


# --- resources of a version, identity ------------------------------------------------------


def test_version_resources_list_identity(local_org: LocalOrg, sf: SalesforceClient,
                                         http: requests.Session) -> None:
    body = http.get(f"{base(local_org)}/", headers=auth(sf)).json()

    for name in ("sobjects", "query", "queryAll", "search", "recent", "composite", "limits"):
        assert body[name] == f"/services/data/v{API_VERSION}/{name}"
    user_id = local_org.integration_user_id
    assert body["identity"] == (f"{local_org.instance_url}/id/{local_org.identity.org_id}/"
                                f"{user_id}")
    identity = http.get(body["identity"], params={"format": "json"}, headers=auth(sf)).json()
    assert identity["user_id"] == user_id


# --- updated / deleted -----------------------------------------------------------------


def test_updated_and_deleted_list_records_of_the_window(local_org: LocalOrg,
                                                        sf: SalesforceClient,
                                                        http: requests.Session) -> None:
    kept = sf.Account.create({"Name": "Replicated kept"})["id"]
    gone = sf.Account.create({"Name": "Replicated gone"})["id"]
    sf.Account.delete(gone)
    moment = now()
    window = {"start": format_datetime(moment - timedelta(hours=1)),
              "end": format_datetime(moment + timedelta(hours=1))}

    updated = http.get(f"{base(local_org)}/sobjects/Account/updated/", params=window,
                       headers=auth(sf)).json()
    deleted = http.get(f"{base(local_org)}/sobjects/Account/deleted/", params=window,
                       headers=auth(sf)).json()

    assert kept in updated["ids"]
    assert gone not in updated["ids"]
    assert gone in [r["id"] for r in deleted["deletedRecords"]]
    assert kept not in [r["id"] for r in deleted["deletedRecords"]]
    # The window ends now (to the minute) when its end lies in the future.
    assert updated["latestDateCovered"] <= window["end"]
    assert deleted["earliestDateAvailable"] <= deleted["latestDateCovered"]


@pytest.mark.parametrize(("start", "end", "code"), [
    (timedelta(days=-31), timedelta(0), "INVALID_REPLICATION_DATE"),  # older than 30 days
    (timedelta(hours=1), timedelta(0), "INVALID_REPLICATION_DATE"),  # end before start
])
def test_updated_refuses_a_bad_window(local_org: LocalOrg, sf: SalesforceClient,
                                      http: requests.Session, start: timedelta,
                                      end: timedelta, code: str) -> None:
    moment = now()
    response = http.get(f"{base(local_org)}/sobjects/Account/updated/", headers=auth(sf),
                        params={"start": format_datetime(moment + start),
                                "end": format_datetime(moment + end)})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


# --- Ids, upsert -----------------------------------------------------------------------


def test_wrong_case_safe_suffix_is_malformed_id(sf: SalesforceClient) -> None:
    record_id = sf.Account.create({"Name": "Suffix"})["id"]
    wrong = "ZZZ" if record_id[15:] != "ZZZ" else "AAB"
    assert case_safe_suffix(record_id[:15]) != wrong

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.get(record_id[:15] + wrong)

    assert content(raised.value)[0]["errorCode"] == "MALFORMED_ID"


def test_single_record_upsert_on_an_id_lookup_field(sf: SalesforceClient) -> None:
    created = sf.Contact.upsert("Email/lookup.upsert@example.com", {"LastName": "First"})
    updated = sf.Contact.upsert("Email/lookup.upsert@example.com", {"LastName": "Second"})

    assert (created, updated) == (201, 200)  # API v46+: 200 with "created": false
    [row] = sf.query("SELECT LastName FROM Contact WHERE Email = "
                     "'lookup.upsert@example.com'")["records"]
    assert row["LastName"] == "Second"


def test_collections_upsert_failure_carries_created_false(sf: SalesforceClient) -> None:
    results = sf.restful("composite/sobjects/Account/Id", method="PATCH", json={
        "allOrNone": False,
        "records": [{"attributes": {"type": "Account"}, "Name": "Upserted"},
                    {"attributes": {"type": "Account"}, "Site": "no name"}]})

    assert results[0]["success"] is True
    assert results[0]["created"] is True
    assert results[1]["success"] is False
    assert results[1]["created"] is False
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


# --- logout and revoke -----------------------------------------------------------------


def test_revoke_ends_the_session(local_org: LocalOrg, http: requests.Session) -> None:
    token = local_org.issue_session()
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get(f"{base(local_org)}/limits", headers=headers).status_code == 200

    revoked = http.post(f"{local_org.instance_url}/services/oauth2/revoke",
                        data={"token": token})
    again = http.post(f"{local_org.instance_url}/services/oauth2/revoke", data={"token": token})

    assert revoked.status_code == 200
    assert http.get(f"{base(local_org)}/limits", headers=headers).status_code == 401
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"


def test_soap_logout_ends_the_session_and_is_not_a_login(local_org: LocalOrg,
                                                         http: requests.Session) -> None:
    token = local_org.issue_session()
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Header><SessionHeader>'
        f"<sessionId>{token}</sessionId></SessionHeader></soapenv:Header>"
        "<soapenv:Body><logout/></soapenv:Body></soapenv:Envelope>")
    url = f"{local_org.instance_url}/services/Soap/u/{API_VERSION}"
    headers = {"Content-Type": "text/xml", "SOAPAction": '""'}

    first = http.post(url, data=envelope, headers=headers)
    second = http.post(url, data=envelope, headers=headers)

    assert first.status_code == 200
    assert "logoutResponse" in first.text
    assert http.get(f"{base(local_org)}/limits",
                    headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert second.status_code == 500
    assert "INVALID_SESSION_ID" in second.text


# --- recent, search ----------------------------------------------------------------------


def test_recent_lists_the_users_latest_records(local_org: LocalOrg,
                                               http: requests.Session) -> None:
    client: SalesforceClient = Salesforce(instance_url=local_org.instance_url,
                        session_id=local_org.issue_session(), session=http,
                        version=API_VERSION)
    record_id = client.Account.create({"Name": "Most recent"})["id"]

    body: Any = client.restful("recent", params={"limit": 2})

    assert len(body) <= 2
    assert body[0]["Id"] == record_id
    assert body[0]["Name"] == "Most recent"
    assert body[0]["attributes"]["type"] == "Account"
    basic = client.restful("sobjects/Account")
    assert basic["recentItems"][0]["Id"] == record_id


def test_sosl_search_finds_words_in_the_returned_objects(sf: SalesforceClient) -> None:
    account = sf.Account.create({"Name": "Zanzibar Quokka Ltd"})["id"]
    contact = sf.Contact.create({"LastName": "Quokka", "Email": "q@zanzibar.example"})["id"]
    sf.Account.create({"Name": "Zanzibar Only"})

    found = sf.search("FIND {Zanzibar Quokka} IN ALL FIELDS RETURNING "
                      "Account(Id, Name WHERE Name LIKE 'Zan%'), Contact(Id, Email)")
    by_name = sf.search("FIND {quok*} IN NAME FIELDS RETURNING Contact(Id)")
    bare = sf.search("FIND {Zanzibar Quokka}")

    assert [(r["attributes"]["type"], r["Id"]) for r in found["searchRecords"]] == [
        ("Account", account), ("Contact", contact)]
    assert found["searchRecords"][0]["Name"] == "Zanzibar Quokka Ltd"
    assert [r["Id"] for r in by_name["searchRecords"]] == [contact]
    # All fields: the contact matches "Zanzibar" in its Email and "Quokka" in its name.
    assert {r["Id"] for r in bare["searchRecords"]} == {account, contact}


def test_sosl_operators_are_refused_clearly(sf: SalesforceClient) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.search("FIND {Acme OR Globex}")

    assert content(raised.value)[0]["errorCode"] == "MALFORMED_SEARCH"


# --- composite/tree ------------------------------------------------------------------------


def test_tree_creates_parents_with_children(sf: SalesforceClient) -> None:
    body = sf.restful("composite/tree/Account", method="POST", json={"records": [
        {"attributes": {"type": "Account", "referenceId": "acc1"}, "Name": "Tree Parent",
         "Contacts": {"records": [
             {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "Leaf"}]}},
    ]})

    assert body["hasErrors"] is False
    ids = {r["referenceId"]: r["id"] for r in body["results"]}
    [contact] = sf.query(f"SELECT AccountId FROM Contact WHERE Id = '{ids['c1']}'")["records"]
    assert contact["AccountId"] == ids["acc1"]


def test_tree_is_all_or_none(local_org: LocalOrg, sf: SalesforceClient,
                             http: requests.Session) -> None:
    before = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    response = http.post(f"{base(local_org)}/composite/tree/Account", headers=auth(sf), json={
        "records": [
            {"attributes": {"type": "Account", "referenceId": "ok"}, "Name": "Tree ok"},
            {"attributes": {"type": "Account", "referenceId": "bad"}, "Site": "no name"}]})

    assert response.status_code == 400
    body = response.json()
    assert body["hasErrors"] is True
    assert [r["referenceId"] for r in body["results"]] == ["bad"]
    assert body["results"][0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == before


# --- schema: Organization, standard Account fields ---------------------------------------


def test_organization_is_the_org(local_org: LocalOrg, sf: SalesforceClient) -> None:
    [org] = sf.query("SELECT Id, Name, InstanceName, IsSandbox, TrialExpirationDate, "
                     "NamespacePrefix, OrganizationType FROM Organization")["records"]

    assert org["Id"] == local_org.identity.org_id
    assert org["IsSandbox"] is False
    assert org["OrganizationType"] == "Developer Edition"


def test_account_has_common_standard_fields(sf: SalesforceClient) -> None:
    record_id = sf.Account.create({"Name": "Std", "ShippingCity": "Lyon", "Fax": "+33 1",
                                   "Rating": "Hot", "AccountSource": "Web",
                                   "ShippingLatitude": 45.76})["id"]

    record = sf.Account.get(record_id)

    assert (record["ShippingCity"], record["Fax"], record["Rating"],
            record["AccountSource"]) == ("Lyon", "+33 1", "Hot", "Web")
    assert record["ShippingLatitude"] == 45.76


# --- describe layouts, list views ---------------------------------------------------------


def test_layouts_and_list_views(sf: SalesforceClient) -> None:
    sf.Account.create({"Name": "!!! Listed"})  # sorts before every other name

    layouts = sf.restful("sobjects/Account/describe/layouts")
    views = sf.restful("sobjects/Account/listviews")
    [view] = views["listviews"]
    described = sf.restful(f"sobjects/Account/listviews/{view['id']}/describe")
    results = sf.restful(f"sobjects/Account/listviews/{view['id']}/results",
                         params={"limit": 5})

    items = [item["layoutComponents"][0]["value"]
             for row in layouts["layouts"][0]["detailLayoutSections"][0]["layoutRows"]
             for item in row["layoutItems"]]
    assert "Name" in items
    assert "ShippingCity" in items
    assert described["query"].startswith("SELECT Name, Id FROM Account ORDER BY Name")
    names = [r["columns"][0]["value"] for r in results["records"]]
    assert names[0] == "!!! Listed"
    assert results["size"] == len(names)


# --- long requests ---------------------------------------------------------------------


def test_too_long_uri_is_answered_414(local_org: LocalOrg, sf: SalesforceClient,
                                      http: requests.Session) -> None:
    soql = "SELECT Id FROM Account WHERE Name = '" + "x" * 100_000 + "'"

    response = http.get(f"{base(local_org)}/query", params={"q": soql}, headers=auth(sf))
    after = http.get(f"{base(local_org)}/limits", headers=auth(sf))

    assert response.status_code == 414
    assert response.json()[0]["errorCode"] == "URI_TOO_LONG"
    assert after.status_code == 200  # the session and the server are fine


def test_too_long_soql_is_malformed_query(sf: SalesforceClient) -> None:
    soql = "SELECT Id FROM Account WHERE Name IN (" + ",".join(["'abcdefgh'"] * 10_000) + ")"

    body = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "GET", "referenceId": "q",
         "url": f"/services/data/v{API_VERSION}/query?q={soql}"}]})

    [answer] = body["compositeResponse"]
    assert answer["httpStatusCode"] == 400
    assert answer["body"][0]["errorCode"] == "MALFORMED_QUERY"
    assert "100,000" in answer["body"][0]["message"]


# --- Bulk API 2.0 ------------------------------------------------------------------------


def _run_job(http: requests.Session, org: LocalOrg, sf: SalesforceClient, *, data: bytes,
             **job: Any) -> dict[str, Any]:
    url = f"{base(org)}/jobs/ingest"
    info = http.post(url, json={"contentType": "CSV", "lineEnding": "LF", **job},
                     headers=auth(sf)).json()
    put = http.put(f"{url}/{info['id']}/batches", data=data,
                   headers={**auth(sf), "Content-Type": "text/csv"})
    assert put.status_code == 201
    http.patch(f"{url}/{info['id']}", json={"state": "UploadComplete"}, headers=auth(sf))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state: dict[str, Any] = http.get(f"{url}/{info['id']}", headers=auth(sf)).json()
        if state["state"] in ("JobComplete", "Failed"):
            return state
        time.sleep(0.01)
    raise AssertionError("the job never finished")


def test_bulk_empty_upload_completes_with_no_records(local_org: LocalOrg,
                                                     sf: SalesforceClient,
                                                     http: requests.Session) -> None:
    state = _run_job(http, local_org, sf, data=b"", object="Account", operation="insert")

    assert state["state"] == "JobComplete"
    assert state["numberRecordsProcessed"] == 0


def test_bulk_upsert_on_id_without_an_id_column_creates(local_org: LocalOrg,
                                                        sf: SalesforceClient,
                                                        http: requests.Session) -> None:
    state = _run_job(http, local_org, sf, data=b"Name\nBulk no id 1\nBulk no id 2\n",
                     object="Account", operation="upsert", externalIdFieldName="Id")

    assert state["state"] == "JobComplete"
    assert (state["numberRecordsProcessed"], state["numberRecordsFailed"]) == (2, 0)
    url = f"{base(local_org)}/jobs/ingest/{state['id']}/successfulResults"
    created = list(csv.DictReader(io.StringIO(http.get(url, headers=auth(sf)).text)))
    assert [row["sf__Created"] for row in created] == ["true", "true"]


# --- Files: a multipart ContentVersion ---------------------------------------------------


def test_multipart_content_version_creates_its_document(local_org: LocalOrg,
                                                        sf: SalesforceClient,
                                                        http: requests.Session) -> None:
    parent = sf.Account.create({"Name": "Has a file"})["id"]
    files: dict[str, tuple[str | None, bytes, str]] = {
        "entity_content": (None, b'{"PathOnClient": "notes/hello.txt"}', "application/json"),
        "VersionData": ("hello.txt", b"hello, org\n", "application/octet-stream"),
    }

    created = http.post(f"{base(local_org)}/sobjects/ContentVersion", files=files,
                        headers=auth(sf))
    version_id = created.json()["id"]
    [version] = sf.query("SELECT ContentDocumentId, Title, FileExtension, FileType, "
                         f"ContentSize, VersionData FROM ContentVersion WHERE Id = "
                         f"'{version_id}'")["records"]
    link = sf.ContentDocumentLink.create({"ContentDocumentId": version["ContentDocumentId"],
                                          "LinkedEntityId": parent})

    assert created.status_code == 201
    assert (version["Title"], version["FileExtension"], version["FileType"]) == (
        "hello", "txt", "TEXT")
    assert version["ContentSize"] == len(b"hello, org\n")  # 11 bytes
    assert version["VersionData"] == "aGVsbG8sIG9yZwo="  # base64 of the bytes
    assert version["ContentDocumentId"].startswith("069")
    assert link["success"] is True


def test_blob_field_answers_the_bytes(local_org: LocalOrg, sf: SalesforceClient,
                                      http: requests.Session) -> None:
    created = sf.ContentVersion.create({"PathOnClient": "logo.png", "Title": "Logo",
                                        "VersionData": "iVBORw0K"})  # base64 of a PNG header

    response = http.get(f"{base(local_org)}/sobjects/ContentVersion/{created['id']}/VersionData",
                        headers=auth(sf))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octetstream"
    assert response.content == b"\x89PNG\r\n"


def test_too_long_soql_in_a_bulk_query_job_is_malformed_query(local_org: LocalOrg,
                                                            sf: SalesforceClient,
                                                            http: requests.Session) -> None:
    soql = "SELECT Id FROM Account WHERE Name IN (" + ",".join(["'abcdefgh'"] * 10_000) + ")"

    response = http.post(f"{base(local_org)}/jobs/query", json={"operation": "query",
                                                                "query": soql},
                         headers=auth(sf))

    assert len(soql) > 100_000
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"
