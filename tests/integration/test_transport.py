"""HTTPS transport, versions, unknown paths, limits and the admin paths."""

from __future__ import annotations

import http.client
import json
import ssl

import pytest
import requests
from simple_salesforce.exceptions import SalesforceResourceNotFound

from sfrenew.localorg.app import LocalOrg
from tests.integration.conftest import API_VERSION, SalesforceClient

pytestmark = pytest.mark.integration


def test_version_list_needs_no_session(local_org: LocalOrg, http: requests.Session) -> None:
    response = http.get(f"{local_org.instance_url}/services/data/")
    assert response.status_code == 200
    versions = response.json()
    assert versions[0] == {"label": "Winter '21", "url": "/services/data/v50.0",
                           "version": "50.0"}
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions


@pytest.mark.parametrize("version", ["v49.0", "v20.0", "v59.5", "v67.0"])
def test_unsupported_version_is_400(local_org: LocalOrg, sf: SalesforceClient,
                                    http: requests.Session, version: str) -> None:
    response = http.get(f"{local_org.instance_url}/services/data/{version}/limits",
                        headers=sf.headers)
    assert response.status_code == 400
    assert response.json() == [{"message": "Invalid Api version specified on URL",
                                "errorCode": "UNSUPPORTED_API_VERSION"}]


@pytest.mark.parametrize("version", ["vx", "viAmABadVersion", "latest"])
def test_a_segment_that_is_no_version_is_404(local_org: LocalOrg, sf: SalesforceClient,
                                             http: requests.Session, version: str) -> None:
    response = http.get(f"{local_org.instance_url}/services/data/{version}/limits",
                        headers=sf.headers)
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist",
                                "errorCode": "NOT_FOUND"}]


@pytest.mark.parametrize("version", ["50.0", "59.0", "62.0"])
def test_every_version_from_50_serves(local_org: LocalOrg, sf: SalesforceClient,
                                      http: requests.Session, version: str) -> None:
    response = http.get(f"{local_org.instance_url}/services/data/v{version}/limits",
                        headers=sf.headers)
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/nope", "/services/data/v59.0/nope",
                                  "/services/data/v59.0/sobjects/Account/describe/extra/x"])
def test_unknown_paths_are_not_found(local_org: LocalOrg, sf: SalesforceClient,
                                     http: requests.Session, path: str) -> None:
    response = http.get(local_org.instance_url + path, headers=sf.headers)
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist",
                                "errorCode": "NOT_FOUND"}]


def test_wrong_method_is_405(local_org: LocalOrg, sf: SalesforceClient,
                             http: requests.Session) -> None:
    response = http.put(f"{local_org.instance_url}/services/data/v{API_VERSION}/limits",
                        headers=sf.headers)
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_keep_alive_and_content_length(local_org: LocalOrg, sf: SalesforceClient) -> None:
    context = ssl.create_default_context(cafile=local_org.connection_info["ca_file"])
    conn = http.client.HTTPSConnection("127.0.0.1", local_org.port, context=context, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", f"/services/data/v{API_VERSION}/limits", headers=sf.headers)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == len(body)
            assert response.headers.get("Connection") != "close"
        conn.request("PATCH", f"/services/data/v{API_VERSION}/sobjects/Account/001000000000000",
                     body=b"", headers=sf.headers)
        response = conn.getresponse()
        response.read()
        assert response.headers["Content-Length"]
    finally:
        conn.close()


def test_localhost_name_is_in_the_certificate(local_org: LocalOrg) -> None:
    context = ssl.create_default_context(cafile=local_org.connection_info["ca_file"])
    conn = http.client.HTTPSConnection("localhost", local_org.port, context=context, timeout=10)
    try:
        conn.request("GET", "/services/data/")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_limits_shape(sf: SalesforceClient) -> None:
    limits = sf.limits()
    daily = limits["DailyApiRequests"]
    assert set(daily) == {"Max", "Remaining"}
    assert daily["Max"] == 100_000
    assert 0 < daily["Remaining"] <= daily["Max"]
    assert "DailyBulkV2QueryJobs" in limits
    usage = sf.api_usage["api-usage"]
    assert usage.total == daily["Max"]


def test_admin_stats_count_calls_by_kind(local_org: LocalOrg, sf: SalesforceClient,
                                         http: requests.Session) -> None:
    info = local_org.connection_info
    auth = (info["client_id"], info["client_secret"])
    url = f"{local_org.instance_url}/_localorg/stats"
    assert http.get(url).status_code == 401
    http.post(f"{url}/reset", auth=auth).raise_for_status()
    sf.limits()
    sf.query("SELECT Id FROM User LIMIT 1")
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nope__c.describe()
    stats = http.get(url, auth=auth).json()
    assert stats["calls"]["limits"] == 1
    assert stats["calls"]["query_page"] == 1
    assert stats["errors"] == {"NOT_FOUND": 1}
    assert stats["api_usage"]["used"] == 3
    assert stats["records"]["User"] >= 1
    assert json.dumps(stats)
