"""``sfrenew localorg token``: a fresh token of a running ``serve``, in three formats."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from simple_salesforce.api import Salesforce

from sfrenew.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A `sfrenew localorg serve` subprocess and its connection JSON."""
    data_dir = tmp_path / "org"
    process = subprocess.Popen(
        [sys.executable, "-m", "sfrenew", "localorg", "serve", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ))
    try:
        assert process.stdout is not None
        yield data_dir, json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _client(info: dict[str, Any], token: str, http: requests.Session) -> Any:
    return Salesforce(instance_url=info["instance_url"], session_id=token, session=http,
                      version=info["api_version"])


def test_token_prints_a_working_token_in_every_format(
        served: tuple[Path, dict[str, Any]]) -> None:
    data_dir, info = served
    runner = CliRunner()
    bare = runner.invoke(main, ["localorg", "token", "--data-dir", str(data_dir)])
    env = runner.invoke(main, ["localorg", "token", "--format", "env", "--data-dir",
                               str(data_dir)])
    as_json = runner.invoke(main, ["localorg", "token", "--format", "json", "--data-dir",
                                   str(data_dir)])

    assert bare.exit_code == env.exit_code == as_json.exit_code == 0, bare.output
    token = bare.output.strip()
    exports = dict(shlex.split(line)[1].split("=", 1) for line in env.output.splitlines())
    fields = json.loads(as_json.output)
    assert set(exports) == {"SF_ACCESS_TOKEN", "SF_INSTANCE_URL", "SF_API_VERSION",
                            "NODE_EXTRA_CA_CERTS"}
    assert exports["SF_INSTANCE_URL"] == fields["instance_url"] == info["instance_url"]
    assert exports["NODE_EXTRA_CA_CERTS"] == fields["ca_file"] == info["ca_file"]
    # Three calls, three fresh sessions; each one works.
    assert len({token, exports["SF_ACCESS_TOKEN"], fields["access_token"]}) == 3
    with requests.Session() as http:
        http.verify, http.trust_env = info["ca_file"], False
        for each in (token, exports["SF_ACCESS_TOKEN"], fields["access_token"]):
            [org] = _client(info, each, http).query("SELECT Id FROM Organization")["records"]
            assert org["Id"] == info["org_id"]


def test_token_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["localorg", "token", "--data-dir", str(tmp_path)])

    assert result.exit_code != 0
    assert "sfrenew localorg serve" in result.output
    assert "Traceback" not in result.output
