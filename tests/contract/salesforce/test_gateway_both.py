"""The gateway's contract on both targets: the ``responses`` double and the local org.

Each case runs twice through one parametrised fixture: once against canned Salesforce
answers (``responses``: real HTTP code, answers in Salesforce's shapes, computed from
the request where the case needs it) and once against the local org over HTTPS. What
the gateway returns, and the calls it spends, must be the same on both: the double
cannot drift from what a Salesforce-compatible server says.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import (
    CallKind,
    ConfigurationError,
    GatewayPort,
    RetryPolicy,
    SalesforceConfig,
    connect,
    format_soql,
)
from tests.contract.salesforce.conftest import API, GatewayFactory

_tags = itertools.count()
REQUIRED = ("Name", "StageName", "CloseDate")  # Opportunity's required fields


@dataclass
class _Double:
    """What the ``responses`` registry answers: inserts checked for required fields,
    queries paged by the requested batch size, one describe, an unknown field."""

    rsps: responses.RequestsMock
    records: list[dict[str, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def install(self) -> None:
        self.rsps.add_callback(responses.POST, f"{API}/composite/sobjects",
                               callback=self._insert)
        self.rsps.add_callback(responses.GET, re.compile(re.escape(f"{API}/query") + r".*"),
                               callback=self._query)
        self.rsps.get(f"{API}/sobjects/Opportunity/describe",
                      json={"name": "Opportunity", "fields": [
                          {"name": n, "type": "string", "relationshipName": None,
                           "referenceTo": []} for n in ("Id", *REQUIRED)]})

    def _insert(self, request: Any) -> tuple[int, dict[str, str], str]:
        results = []
        for record in json.loads(request.body)["records"]:
            missing = [f for f in REQUIRED if not record.get(f)]
            if missing:
                results.append({"success": False, "errors": [{
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": f"Required fields are missing: [{', '.join(missing)}]",
                    "fields": missing}]})
                continue
            sf_id = f"006000000000{next(self.ids):03d}AAA"
            self.records.append({"attributes": {"type": "Opportunity"}, "Id": sf_id,
                                 "Name": record["Name"]})
            results.append({"id": sf_id, "success": True, "errors": []})
        return 200, {}, json.dumps(results)

    def _query(self, request: Any) -> tuple[int, dict[str, str], str]:
        url = urlsplit(request.url)
        soql = parse_qs(url.query).get("q", [""])[0]
        if "Nope__c" in soql:
            return 400, {}, json.dumps([{"errorCode": "INVALID_FIELD", "message":
                                         "No such column 'Nope__c' on entity 'Opportunity'"}])
        if soql.startswith("SELECT COUNT()"):
            return 200, {}, json.dumps({"totalSize": len(self.records), "done": True,
                                        "records": []})
        options = request.headers.get("Sforce-Query-Options", "batchSize=2000")
        size = int(options.split("=")[1])
        start = int(url.path.rsplit("-", 1)[1]) if "-" in url.path.rsplit("/", 1)[1] else 0
        page = self.records[start:start + size]
        done = start + size >= len(self.records)
        body: dict[str, Any] = {"totalSize": len(self.records), "done": done, "records": page}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/v62.0/query/01gQUERY-{start + size}"
        return 200, {}, json.dumps(body)


@dataclass
class Target:
    """A gateway (as the steps see it: a GatewayPort) and the tag of this case's rows."""

    name: str
    gateway: GatewayPort
    tag: str

    def mine(self) -> str:
        """The WHERE clause selecting this case's rows (the double answers only them)."""
        return format_soql("Name LIKE {}", f"{self.tag}%")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """One local org for this module's cases."""
    local = LocalOrg(tmp_path_factory.mktemp("gateway-contract-org"))
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(params=["responses", pytest.param("local org", marks=pytest.mark.integration)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The gateway on each target; each case's rows are tagged apart."""
    tag = f"gc{next(_tags)}x"
    if request.param == "responses":
        make_gateway: GatewayFactory = request.getfixturevalue("make_gateway")
        _Double(request.getfixturevalue("rsps")).install()
        gateway = make_gateway()
        yield Target("responses", gateway, tag)
        gateway.close()
        return
    local: LocalOrg = request.getfixturevalue("org")
    config = SalesforceConfig(target="local", local_data_dir=local.data_dir,
                              bulk_poll_seconds=0)
    with connect(config, retry=RetryPolicy.no_wait(), check_limits=False) as gateway:
        yield Target("local org", gateway, tag)


def _opportunities(tag: str, count: int, *, without: Callable[[int], str | None]
                   ) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        row: dict[str, Any] = {"Name": f"{tag} renewal {i:03d}", "StageName": "Prospecting",
                               "CloseDate": date(2026, 3, 1 + i % 28)}
        missing = without(i)
        if missing:
            del row[missing]
        rows.append(row)
    return rows


def test_insert_gives_one_result_per_row_in_order_with_rejections_as_data(
        target: Target) -> None:
    rows = _opportunities(target.tag, 250, without=lambda i: "StageName" if i == 7 else None)

    results = target.gateway.write("insert", "Opportunity", rows)

    assert [r.index for r in results] == list(range(250))
    assert (results[7].success, results[7].error_code, results[7].fields) == (
        False, "REQUIRED_FIELD_MISSING", ("StageName",))
    assert results[7].id is None
    saved = [r for r in results if r.success]
    assert len(saved) == 249
    assert all(r.created and r.id and r.id.startswith("006") for r in saved)
    assert len({r.id for r in saved}) == 249
    assert target.gateway.calls.get(CallKind.COLLECTIONS) == 2  # ⌈250 / 200⌉


def test_query_pages_by_the_batch_size_and_count_is_one_call(target: Target) -> None:
    rows = _opportunities(target.tag, 450, without=lambda i: None)
    assert all(r.success for r in target.gateway.write("insert", "Opportunity", rows))
    before = target.gateway.calls.get(CallKind.QUERY_PAGE)

    found = list(target.gateway.query(f"SELECT Id, Name FROM Opportunity WHERE "
                                      f"{target.mine()} ORDER BY Name", batch_size=200))
    count = target.gateway.count("Opportunity", target.mine())

    assert [r["Name"] for r in found] == [r["Name"] for r in rows]
    assert all("attributes" not in r for r in found)
    assert count == 450
    assert target.gateway.calls.get(CallKind.QUERY_PAGE) - before == 3 + 1  # ⌈450/200⌉ + 1


def test_describe_is_asked_once_per_object(target: Target) -> None:
    first = target.gateway.describe("Opportunity")
    again = target.gateway.describe("Opportunity")

    assert again is first
    assert {"Id", *REQUIRED} <= {f["name"] for f in first["fields"]}
    assert target.gateway.calls.get(CallKind.DESCRIBE) == 1


def test_an_unknown_field_is_a_configuration_error_with_its_code(target: Target) -> None:
    with pytest.raises(ConfigurationError) as info:
        list(target.gateway.query("SELECT Nope__c FROM Opportunity"))
    assert info.value.error_code == "INVALID_FIELD"
    assert info.value.status == 400

