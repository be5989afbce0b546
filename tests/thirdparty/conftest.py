"""The third-party fidelity suite: unmodified jsforce 3 and Salesforce CLI against a local org.

The Node side is the committed npm project in this folder (package.json and its
lockfile; ``npm ci --prefix tests/thirdparty`` installs it, ``.ci/run`` does). Without
``node_modules`` the tests skip, saying how to install; with
``SFRENEW_THIRDPARTY_REQUIRED=1`` (set by ``.ci/run``) a missing install fails instead,
so CI cannot silently skip the suite. Node trusts the org's CA through
``NODE_EXTRA_CA_CERTS``; the CLI runs with a private ``HOME`` and its telemetry and
update checks off, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfrenew.localorg.app import LocalOrg

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
REQUIRED_VARIABLE = "SFRENEW_THIRDPARTY_REQUIRED"
INSTALL_HINT = "npm ci --prefix tests/thirdparty"


def require_install() -> str:
    """The ``node`` executable, after checking the npm project is installed.

    Skips (locally) or fails (``SFRENEW_THIRDPARTY_REQUIRED=1``) when it is not.
    """
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not on PATH (Node 20 or later is needed)"
    elif not (NODE_MODULES / "jsforce").is_dir() or not (NODE_MODULES / ".bin" / "sf").exists():
        problem = f"the third-party clients are not installed: run `{INSTALL_HINT}`"
    if problem is not None:
        if os.environ.get(REQUIRED_VARIABLE) == "1":
            pytest.fail(f"{problem} ({REQUIRED_VARIABLE}=1: the suite must run)")
        pytest.skip(problem)
    assert node is not None
    return node


@pytest.fixture(scope="module")
def thirdparty_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """A local org of its own for one third-party module (after the install check)."""
    require_install()
    org = LocalOrg(tmp_path_factory.mktemp("thirdparty-org"))
    org.start()
    try:
        yield org
    finally:
        org.stop()


def offline_env(home: Path) -> dict[str, str]:
    """The environment of a Node client without an org: no telemetry, a private HOME."""
    return {
        "PATH": f"{NODE_MODULES / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "SF_DISABLE_TELEMETRY": "true",
        "SFDX_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SFDX_AUTOUPDATE_DISABLE": "true",
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_DISABLE_DNS_CHECK": "true",
        "SFDX_DISABLE_DNS_CHECK": "true",
        "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
        "SF_LOG_LEVEL": "fatal",
        "NO_COLOR": "1",
    }


def node_env(org: LocalOrg, home: Path) -> dict[str, str]:
    """The environment of a Node client of ``org``: CA, no telemetry, a private HOME."""
    info = org.connection_info
    return {
        **offline_env(home),
        "NODE_EXTRA_CA_CERTS": info["ca_file"],
        "SF_INSTANCE_URL": org.instance_url,
        "SF_USERNAME": info["username"],
        "SF_PASSWORD": info["password"],
        "SF_CLIENT_ID": info["client_id"],
        "SF_CLIENT_SECRET": info["client_secret"],
        "SF_API_VERSION": info["api_version"],
    }
