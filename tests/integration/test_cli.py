"""``sfrenew localorg serve|seed|reset|stats`` and ``sfrenew demo``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfrenew.cli import main

pytestmark = pytest.mark.integration


def test_serve_prints_connection_json_answers_stats_and_exits_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "org"
    process = subprocess.Popen(
        [sys.executable, "-m", "sfrenew", "localorg", "serve", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        info = json.loads(line)
        assert info["instance_url"].startswith("https://127.0.0.1:")
        assert set(info) >= {"instance_url", "ca_file", "client_id", "client_secret",
                             "username", "password"}
        on_disk = json.loads((data_dir / "connection.json").read_text())
        assert on_disk == info
        assert (data_dir / "connection.json").stat().st_mode & 0o077 == 0

        stats = CliRunner().invoke(main, ["localorg", "stats", "--json", "--data-dir",
                                          str(data_dir)])
        assert stats.exit_code == 0, stats.output
        result = json.loads(stats.stdout)
        assert result["source"] == info["instance_url"]
        assert result["records"]["User"] >= 1
        assert "calls" in result

        busy = CliRunner().invoke(main, ["localorg", "reset", "--yes", "--data-dir",
                                         str(data_dir)])
        assert busy.exit_code != 0
        assert "stop it" in busy.output
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
            if process.stderr is not None:
                process.stderr.close()
    assert process.returncode == 0


def test_seed_stats_and_reset_without_a_server(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "org")
    runner = CliRunner()
    seeded = runner.invoke(main, ["localorg", "seed", "--contracts", "30", "--seed", "7",
                                  "--data-dir", data_dir])
    assert seeded.exit_code == 0, seeded.output
    stats = runner.invoke(main, ["localorg", "stats", "--json", "--data-dir", data_dir])
    assert stats.exit_code == 0, stats.output
    counts = json.loads(stats.stdout)["records"]  # (logs, if configured, go to stderr)
    assert counts["Contract"] == 30
    again = runner.invoke(main, ["localorg", "seed", "--contracts", "30", "--data-dir", data_dir])
    assert again.exit_code == 1
    assert "sfrenew localorg reset" in again.output
    reset = runner.invoke(main, ["localorg", "reset", "--yes", "--data-dir", data_dir])
    assert reset.exit_code == 0, reset.output
    stats = runner.invoke(main, ["localorg", "stats", "--json", "--data-dir", data_dir])
    assert json.loads(stats.stdout)["records"]["Contract"] == 0


def test_stats_without_an_org_explains_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["localorg", "stats", "--data-dir",
                                       str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "sfrenew localorg seed" in result.output


def test_demo_prints_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["localorg", "demo", "--contracts", "25", "--data-dir",
                                       str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "local org serving at https://127.0.0.1:" in result.output
    assert "Contract" in result.output
    assert "next contracts to end (queried over HTTPS):" in result.output


def test_sfrenew_demo_runs_from_any_folder(tmp_path: Path) -> None:
    """The README's first command works outside the project: the project's example config
    is used and the demo keeps its org and state under the current folder."""
    done = subprocess.run([sys.executable, "-m", "sfrenew", "demo", "--contracts", "40"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert "created in the org:" in done.stdout
    assert (tmp_path / ".state" / "demo" / "config.yaml").exists()


def test_a_served_data_dir_is_locked_so_the_demo_does_not_wipe_it(tmp_path: Path) -> None:
    """Re-running the demo while `localorg serve` uses its data dir wiped it without a word;
    now the serving org holds a lock on its data dir and the demo refuses."""
    from sfrenew.localorg.app import LocalOrg  # noqa: PLC0415
    from sfrenew.locks import Busy  # noqa: PLC0415

    org_dir = tmp_path / ".state" / "demo" / "org"
    with LocalOrg(org_dir) as serving:
        with pytest.raises(Busy, match="a local org is serving"):
            LocalOrg(org_dir).start()  # a second org on the same data
        done = subprocess.run([sys.executable, "-m", "sfrenew", "demo", "--contracts", "5"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode != 0
        assert f"a local org is serving {org_dir}" in done.stderr
        assert "Traceback" not in done.stderr
        assert (org_dir / "org.sqlite3").exists()
        assert serving.store.counts()["User"] >= 1  # still serving its data
    again = LocalOrg(org_dir).start()  # released when it stopped
    again.stop()
