"""300 Multiple Choices: an external Id that is not unique matches several records.

The shipped schema's external Ids are all unique, so this module starts its own org
with one extra, non-unique external Id field (``Account.Legacy_Id__c``), as many real
orgs have after a migration.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.schema import build_schema
from tests.integration.conftest import (
    API_VERSION,
    SalesforceClient,
    client_credentials_token,
    content,
    new_http_session,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def legacy_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    text = resources.files("sfrenew.localorg").joinpath("data/schema.yaml").read_text("utf-8")
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(text))
    data["objects"]["Account"]["fields"]["Legacy_Id__c"] = {
        "type": "string", "length": 40, "external_id": True}
    org = LocalOrg(Path(tmp_path_factory.mktemp("legacy")), schema=build_schema(data))
    org.start()
    try:
        yield org
    finally:
        org.stop()


@pytest.fixture
def legacy_sf(legacy_org: LocalOrg) -> Iterator[SalesforceClient]:
    http = new_http_session(legacy_org)
    try:
        token = client_credentials_token(legacy_org, http)
        yield Salesforce(instance_url=legacy_org.instance_url, session_id=token, session=http,
                         version=API_VERSION)
    finally:
        http.close()


def test_upsert_with_several_matches_is_300_with_urls(legacy_sf: SalesforceClient) -> None:
    first = legacy_sf.Account.create({"Name": "One", "Legacy_Id__c": "L-1"})["id"]
    second = legacy_sf.Account.create({"Name": "Two", "Legacy_Id__c": "l-1"})["id"]
    with pytest.raises(SalesforceMoreThanOneRecord) as failure:
        legacy_sf.Account.upsert("Legacy_Id__c/L-1", {"Name": "Three"})
    assert failure.value.status == 300
    assert sorted(content(failure.value)) == sorted([
        f"/services/data/v{API_VERSION}/sobjects/Account/{first}",
        f"/services/data/v{API_VERSION}/sobjects/Account/{second}",
    ])
    with pytest.raises(SalesforceMoreThanOneRecord):
        legacy_sf.Account.get_by_custom_id("Legacy_Id__c", "L-1")


def test_collections_upsert_reports_the_ambiguous_row(legacy_sf: SalesforceClient) -> None:
    legacy_sf.Account.create({"Name": "A", "Legacy_Id__c": "L-2"})
    legacy_sf.Account.create({"Name": "B", "Legacy_Id__c": "L-2"})
    records = [{"attributes": {"type": "Account"}, "Legacy_Id__c": "L-2", "Name": "C"},
               {"attributes": {"type": "Account"}, "Legacy_Id__c": "L-3", "Name": "D"}]
    results = legacy_sf.restful("composite/sobjects/Account/Legacy_Id__c", method="PATCH",
                                data=json.dumps({"allOrNone": False, "records": records}))
    assert [r["success"] for r in results] == [False, True]
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert results[1]["created"] is True
