"""Several clients at once: paging, writes and composite in parallel threads."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from simple_salesforce.api import Salesforce

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import format_soql
from tests.integration.conftest import API_VERSION, client_credentials_token, new_http_session

pytestmark = pytest.mark.integration

WORKERS = 8


def _client_work(org: LocalOrg, index: int, tag: str) -> dict[str, Any]:
    http = new_http_session(org)
    try:
        sf: Any = Salesforce(instance_url=org.instance_url, session_id=client_credentials_token(
            org, http), session=http, version=API_VERSION)
        rows = sf.query_all(format_soql("SELECT Id FROM Account WHERE AccountNumber = {}", tag))
        records = [{"attributes": {"type": "Account"}, "Name": f"{tag} w{index} {i}"}
                   for i in range(50)]
        saved = sf.restful("composite/sobjects", method="POST",
                           data=json.dumps({"allOrNone": True, "records": records}))
        return {"read": rows["totalSize"], "written": sum(r["success"] for r in saved)}
    finally:
        http.close()


def test_parallel_clients(local_org: LocalOrg) -> None:
    tag = f"Par{uuid.uuid4().hex[:6]}"
    local_org.store.insert_many("Account", ({"Name": f"{tag} {i}", "AccountNumber": tag}
                                            for i in range(5000)),
                                user_id=local_org.integration_user_id)
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda i: _client_work(local_org, i, tag), range(WORKERS)))
    assert all(r["read"] == 5000 for r in results)
    assert sum(r["written"] for r in results) == 50 * WORKERS
