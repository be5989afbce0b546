"""jsforce 3 (npm, unmodified) against the local org: ``jsforce_suite.mjs``, one test per check.

Every call the issue lists runs: the login flows (SOAP username/password, OAuth 2.0
password and client credentials, a bare token), query/queryMore/autoFetch, CRUD,
upsert, Collections, composite and composite/tree, describe (global, object, layouts,
list views), limits, identity, updated/deleted, SOSL, recent, query explain, Bulk API
2.0 ingest and query, session expiry with jsforce's own re-login, and logout (SOAP and
OAuth revoke). Bulk API 1.0 is deliberately not served and not exercised.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.values import format_datetime
from tests.clock import now
from tests.thirdparty.conftest import HERE, node_env, require_install

pytestmark = pytest.mark.integration

CHECKS = [
    "login_soap_username_password",
    "login_oauth2_password",
    "login_oauth2_client_credentials",
    "identity_on_a_token_only_connection",
    "query_query_more_and_auto_fetch",
    "crud_single_records",
    "upsert_on_an_id_lookup_field",
    "collections_create_retrieve_update_delete",
    "composite_with_references",
    "composite_tree",
    "describe_global_object_layouts_and_list_views",
    "limits",
    "updated_and_deleted",
    "sosl_search",
    "recent_items",
    "query_explain",
    "malformed_id",
    "bulk2_ingest",
    "bulk2_query",
    "session_expiry_and_refresh",
    "logout_soap_ends_the_session",
    "logout_oauth2_revokes_the_token",
]


@pytest.fixture(scope="module")
def results(thirdparty_org: LocalOrg, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, dict[str, Any]]:
    """Run the whole jsforce suite once (a Node process takes a while to start)."""
    node = require_install()
    env = {**node_env(thirdparty_org, tmp_path_factory.mktemp("node-home")),
           "SF_ACCESS_TOKEN": thirdparty_org.issue_session(),
           "SF_ORG_NOW": format_datetime(now())}
    done = subprocess.run([node, str(HERE / "jsforce_suite.mjs")], cwd=HERE, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"jsforce suite printed nothing: {done.stderr[-2000:]}"
    return {line["name"]: line for line in lines}


def test_the_suite_runs_every_check(results: dict[str, dict[str, Any]]) -> None:
    assert sorted(results) == sorted(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_jsforce(results: dict[str, dict[str, Any]], check: str) -> None:
    result = results.get(check)
    assert result is not None, f"{check} did not run"
    assert result["ok"], result.get("error")
