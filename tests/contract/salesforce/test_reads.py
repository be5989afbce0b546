"""read(): REST or Bulk by COUNT(), identical typed records; URL-length chunking."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from sfrenew.salesforce import CallKind, Thresholds, format_soql
from sfrenew.salesforce.soql import MAX_URL_BYTES, in_chunks
from tests.contract.salesforce.conftest import (
    API,
    TOKEN_URL,
    GatewayFactory,
    describe,
    field,
    token_body,
)
from tests.contract.salesforce.test_writes import csv_text

CONTRACT = describe("Contract", [
    field("Id", "id"), field("EndDate", "date"), field("ContractTerm", "int"),
    field("Uplift__c", "percent"), field("Auto_Renew__c", "boolean"),
    field("LastModifiedDate", "datetime"), field("Description", "textarea"),
    field("AccountId", "reference", rel="Account", to=["Account"]),
])
ACCOUNT = describe("Account", [field("Id", "id"), field("Name", "string"),
                               field("AnnualRevenue", "currency")])
FIELDS = ["Id", "EndDate", "ContractTerm", "Uplift__c", "Auto_Renew__c", "LastModifiedDate",
          "Description", "Account.Name", "Account.AnnualRevenue"]
WHERE = format_soql("Status = {}", "Activated")
SOQL = ("SELECT Id, EndDate, ContractTerm, Uplift__c, Auto_Renew__c, LastModifiedDate, "
        "Description, Account.Name, Account.AnnualRevenue FROM Contract WHERE Status = 'Activated'")

REST_RECORDS: list[dict[str, Any]] = [
    {"attributes": {"type": "Contract"}, "Id": "800A", "EndDate": "2026-06-30", "ContractTerm": 12,
     "Uplift__c": 5.5, "Auto_Renew__c": True, "LastModifiedDate": "2026-01-17T14:20:03.000+0000",
     "Description": "Multi\nline, \"quoted\"",
     "Account": {"attributes": {"type": "Account"}, "Name": "Acme", "AnnualRevenue": 12000.0}},
    {"attributes": {"type": "Contract"}, "Id": "800B", "EndDate": None, "ContractTerm": None,
     "Uplift__c": None, "Auto_Renew__c": False, "LastModifiedDate": "2026-02-01T00:00:00.000+0000",
     "Description": None, "Account": None},
]
BULK_ROWS = [
    ["800A", "2026-06-30", "12", "5.5", "true", "2026-01-17T14:20:03.000Z",
     "Multi\nline, \"quoted\"", "Acme", "12000"],
    ["800B", "", "", "", "false", "2026-02-01T00:00:00.000Z", "", "", ""],
]
EXPECTED = [
    {"Id": "800A", "EndDate": date(2026, 6, 30), "ContractTerm": 12, "Uplift__c": Decimal("5.5"),
     "Auto_Renew__c": True, "LastModifiedDate": datetime(2026, 1, 17, 14, 20, 3, tzinfo=UTC),
     "Description": "Multi\nline, \"quoted\"", "Account.Name": "Acme",
     "Account.AnnualRevenue": Decimal("12000")},
    {"Id": "800B", "EndDate": None, "ContractTerm": None, "Uplift__c": None,
     "Auto_Renew__c": False, "LastModifiedDate": datetime(2026, 2, 1, tzinfo=UTC),
     "Description": None, "Account.Name": None, "Account.AnnualRevenue": None},
]


def register_describes(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/sobjects/Contract/describe", json=CONTRACT)
    rsps.get(f"{API}/sobjects/Account/describe", json=ACCOUNT)


def register_count(rsps: responses.RequestsMock, total: int) -> None:
    rsps.get(f"{API}/query", json={"totalSize": total, "done": True, "records": []},
             match=[matchers.query_param_matcher(
                 {"q": "SELECT COUNT() FROM Contract WHERE Status = 'Activated'"})])


def test_rest_path_below_threshold(rsps: responses.RequestsMock,
                                   make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(read_bulk_rows=3))
    register_describes(rsps)
    register_count(rsps, 2)
    rsps.get(f"{API}/query", match=[matchers.query_param_matcher({"q": SOQL})],
             json={"totalSize": 2, "done": True, "records": REST_RECORDS})

    assert list(gateway.read("Contract", FIELDS, WHERE)) == EXPECTED
    assert gateway.calls.get(CallKind.BULK_JOB) == 0


def test_bulk_path_at_threshold_gives_identical_records(rsps: responses.RequestsMock,
                                                        make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(read_bulk_rows=2))
    register_describes(rsps)
    register_count(rsps, 2)
    job = "750R0000000zlh9IAA"
    rsps.post(f"{API}/jobs/query", json={"id": job, "state": "UploadComplete"},
              match=[matchers.json_params_matcher({
                  "operation": "query", "query": SOQL, "contentType": "CSV",
                  "lineEnding": "LF", "columnDelimiter": "COMMA"})])
    rsps.get(f"{API}/jobs/query/{job}", json={"id": job, "state": "InProgress"})
    rsps.get(f"{API}/jobs/query/{job}", json={"id": job, "state": "JobComplete"})
    header = ["Id", *FIELDS[1:]]
    rsps.get(f"{API}/jobs/query/{job}/results", body=csv_text(header, BULK_ROWS[:1]),
             headers={"Sforce-Locator": "MjAwMDA", "Sforce-NumberOfRecords": "1"})
    rsps.get(f"{API}/jobs/query/{job}/results", body=csv_text(header, BULK_ROWS[1:]),
             headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
             match=[matchers.query_param_matcher({"locator": "MjAwMDA"})])

    assert list(gateway.read("Contract", FIELDS, WHERE)) == EXPECTED
    assert gateway.calls.as_dict() == {"auth": 1, "bulk_job": 1, "bulk_poll": 2,
                                       "bulk_results": 2, "describe": 2, "query_page": 1}


def test_expired_session_during_bulk_results_download(rsps: responses.RequestsMock,
                                                      make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(thresholds=Thresholds(read_bulk_rows=1))
    register_describes(rsps)
    register_count(rsps, 1)
    job = "750R0000000zlh9IAA"
    rsps.post(f"{API}/jobs/query", json={"id": job, "state": "UploadComplete"})
    rsps.get(f"{API}/jobs/query/{job}", json={"id": job, "state": "JobComplete"})
    rsps.get(f"{API}/jobs/query/{job}/results", status=401,
             json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    rsps.post(TOKEN_URL, json=token_body("00Dxx!second"))
    rsps.get(f"{API}/jobs/query/{job}/results", body=csv_text(["Id", *FIELDS[1:]], BULK_ROWS[:1]),
             headers={"Sforce-Locator": "null"})

    assert list(gateway.read("Contract", FIELDS, WHERE)) == EXPECTED[:1]
    assert gateway.calls.get(CallKind.AUTH) == 2


def test_in_chunks_keeps_every_url_under_the_limit(rsps: responses.RequestsMock,
                                                   make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    ids = [f"001{i:012d}AAA" for i in range(3000)] + ["O'Brien & Sons / 100% ü"]
    template = "SELECT Id, Name FROM Account WHERE Id IN {values} AND Name != {name}"
    chunks = gateway.in_chunks(template, ids, name="x y")
    assert len(chunks) > 1

    received: list[str] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        assert len(request.url.encode()) <= MAX_URL_BYTES
        received.append(request.url)
        return 200, {}, '{"totalSize": 0, "done": true, "records": []}'

    rsps.add_callback(responses.GET, f"{API}/queryAll", callback=answer)
    for soql in chunks:
        list(gateway.query(soql, include_deleted=True))

    sent_values: list[str] = []
    for url in received:
        soql = parse_qs(urlsplit(url).query)["q"][0]
        assert soql.endswith(" AND Name != 'x y'")
        inside = soql.split(" IN (", 1)[1].rsplit(") AND", 1)[0]
        sent_values.extend(inside.split("','"))
    cleaned = [v.strip("'") for v in sent_values]
    assert cleaned[:-1] == ids[:-1]
    assert cleaned[-1] == "O\\'Brien & Sons / 100% ü"  # escaped by format_soql
    assert max(len(u.encode()) for u in received) > MAX_URL_BYTES - 200  # chunks are full


def test_in_chunks_exact_limit_against_requests_encoding() -> None:
    prefix = "https://acme.my.salesforce.com/services/data/v62.0/queryAll"
    values = [f"val-{i}-ü'%" for i in range(2000)]
    chunks = in_chunks("SELECT Id FROM X__c WHERE K__c IN {values}", values, url_prefix=prefix,
                       limit=4000)
    for soql in chunks:
        url = requests.Request("GET", prefix, params={"q": soql}).prepare().url
        assert url is not None
        assert len(url.encode()) <= 4000
    assert sum(c.count("'val-") for c in chunks) == 2000


def test_in_chunks_rejects_a_value_that_cannot_fit() -> None:
    with pytest.raises(ValueError, match="one value alone"):
        in_chunks("SELECT Id FROM X WHERE K IN {values}", ["x" * 500], url_prefix="https://h/q",
                  limit=300)


@pytest.mark.parametrize(("method", "step"), [
    ("POST", ""), ("GET", "/750R0000000zlh9IAA"), ("GET", "/750R0000000zlh9IAA/results")])
def test_expired_session_at_every_bulk_query_step(rsps: responses.RequestsMock,
                                                  make_gateway: GatewayFactory, method: str,
                                                  step: str) -> None:
    gateway = make_gateway(thresholds=Thresholds(read_bulk_rows=1))
    register_describes(rsps)
    register_count(rsps, 1)
    job = "750R0000000zlh9IAA"
    rsps.add(method, f"{API}/jobs/query{step}", status=401,
             json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    rsps.post(TOKEN_URL, json=token_body("00Dxx!second"))
    rsps.post(f"{API}/jobs/query", json={"id": job, "state": "UploadComplete"})
    rsps.get(f"{API}/jobs/query/{job}", json={"id": job, "state": "JobComplete"})
    rsps.get(f"{API}/jobs/query/{job}/results", body=csv_text(["Id", *FIELDS[1:]], BULK_ROWS[:1]),
             headers={"Sforce-Locator": "null"})

    assert list(gateway.read("Contract", FIELDS, WHERE)) == EXPECTED[:1]
    assert gateway.calls.get(CallKind.AUTH) == 2
