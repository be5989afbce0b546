"""query / queryAll and paging across several 2,000-row pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import format_soql
from tests.integration.conftest import API_VERSION, SalesforceClient, content

pytestmark = pytest.mark.integration

BIG = 4_500  # three pages at 2,000


@pytest.fixture(scope="module")
def big_tag(local_org: LocalOrg) -> str:
    """A tag on BIG accounts inserted through the store's fast path."""
    tag = f"Big{uuid.uuid4().hex[:6]}"
    rows = ({"Name": f"{tag} {i:05d}", "AccountNumber": tag} for i in range(BIG))
    local_org.store.insert_many("Account", rows, user_id=local_org.integration_user_id)
    return tag


def _soql(tag: str) -> str:
    return format_soql("SELECT Id, Name FROM Account WHERE AccountNumber = {} ORDER BY Name", tag)


def test_first_page_shape(sf: SalesforceClient, big_tag: str) -> None:
    page = sf.query(_soql(big_tag))
    assert page["totalSize"] == BIG
    assert page["done"] is False
    assert len(page["records"]) == 2000
    locator, offset = page["nextRecordsUrl"].rsplit("/", 1)[1].split("-")
    assert page["nextRecordsUrl"].startswith(f"/services/data/v{API_VERSION}/query/01g")
    assert len(locator) == 18
    assert offset == "2000"
    assert list(page) == ["totalSize", "done", "nextRecordsUrl", "records"]
    first = page["records"][0]
    assert first["attributes"]["type"] == "Account"
    assert first["attributes"]["url"] == (
        f"/services/data/v{API_VERSION}/sobjects/Account/{first['Id']}")


def test_query_all_reads_every_page_in_order(sf: SalesforceClient, big_tag: str) -> None:
    result = sf.query_all(_soql(big_tag))
    assert result["totalSize"] == BIG
    assert result["done"] is True
    names = [r["Name"] for r in result["records"]]
    assert names == [f"{big_tag} {i:05d}" for i in range(BIG)]


def test_query_all_iter_streams_pages(sf: SalesforceClient, big_tag: str) -> None:
    sf.limits()
    before = sf.api_usage["api-usage"].used
    records: Iterator[dict[str, object]] = sf.query_all_iter(_soql(big_tag))
    assert sum(1 for _ in records) == BIG
    assert sf.api_usage["api-usage"].used == before + 3  # 2,000 + 2,000 + 500


def test_batch_size_header(sf: SalesforceClient, big_tag: str) -> None:
    page = sf.query(_soql(big_tag), headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500
    assert page["nextRecordsUrl"].endswith("-500")
    more = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True,
                         headers={"Sforce-Query-Options": "batchSize=250"})
    assert len(more["records"]) == 250  # below 200 would be raised to 200; 250 is honoured
    tiny = sf.query(_soql(big_tag), headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200
    huge = sf.query(_soql(big_tag), headers={"Sforce-Query-Options": "batchSize=5000"})
    assert len(huge["records"]) == 2000


def test_retrying_a_page_gives_the_same_rows(sf: SalesforceClient, big_tag: str) -> None:
    page = sf.query(_soql(big_tag))
    second = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    again = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Id"] for r in again["records"]] == [r["Id"] for r in second["records"]]


def test_exhausted_and_unknown_locators(local_org: LocalOrg, sf: SalesforceClient,
                                        big_tag: str) -> None:
    page = sf.query(_soql(big_tag))
    url = page["nextRecordsUrl"]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    for bad in (url, f"/services/data/v{API_VERSION}/query/01g5g00000000ZZZZZ-2000",
                f"/services/data/v{API_VERSION}/query/garbage"):
        with pytest.raises(SalesforceMalformedRequest) as failure:
            sf.query_more(bad, identifier_is_url=True)
        assert content(failure.value) == [{"message": "invalid query locator",
                                          "errorCode": "INVALID_QUERY_LOCATOR"}]


def test_small_query_is_done_without_next_url(sf: SalesforceClient, big_tag: str) -> None:
    page = sf.query(_soql(big_tag) + " LIMIT 5")
    assert page == {"totalSize": 5, "done": True, "records": page["records"]}
    assert len(page["records"]) == 5


def test_count_query(sf: SalesforceClient, big_tag: str) -> None:
    page = sf.query(format_soql("SELECT COUNT() FROM Account WHERE AccountNumber = {}", big_tag))
    assert page == {"totalSize": BIG, "done": True, "records": []}


def test_query_all_includes_deleted_rows(sf: SalesforceClient) -> None:
    name = f"Deleted {uuid.uuid4().hex[:8]}"
    account_id = sf.Account.create({"Name": name})["id"]
    sf.Account.delete(account_id)
    soql = format_soql("SELECT Id, IsDeleted FROM Account WHERE Name = {}", name)
    assert sf.query(soql)["totalSize"] == 0
    deleted = sf.query(soql, include_deleted=True)
    assert deleted["records"][0]["IsDeleted"] is True


def test_malformed_query_and_missing_q(local_org: LocalOrg, sf: SalesforceClient,
                                       http: requests.Session) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query("SELEKT Name FROM Account")
    assert content(failure.value)[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query("SELECT Bacon__c FROM Account")
    assert content(failure.value)[0]["errorCode"] == "INVALID_FIELD"
    response = http.get(f"{local_org.instance_url}/services/data/v{API_VERSION}/query",
                        headers=sf.headers)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_cursor_count_is_capped_per_user(local_org: LocalOrg, sf: SalesforceClient,
                                         big_tag: str) -> None:
    first = sf.query(_soql(big_tag))
    for _ in range(10):
        sf.query(_soql(big_tag))
    # Opening the eleventh cursor released the user's oldest, as Salesforce does.
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)


def test_aggregate_beyond_one_page_is_refused(sf: SalesforceClient, big_tag: str) -> None:
    soql = format_soql("SELECT Name, COUNT(Id) FROM Account WHERE AccountNumber = {} "
                       "GROUP BY Name", big_tag)
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query(soql)
    assert content(failure.value)[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    small = sf.query(soql + " LIMIT 3")
    assert small["done"] is True
    assert small["records"][0]["attributes"] == {"type": "AggregateResult"}
    assert small["records"][0]["expr0"] == 1
