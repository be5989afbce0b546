"""Options a newcomer types where they seem to belong (issue 16).

The demo's own suggestion ``sfrenew runs show RUN --config C`` failed ("no such option":
``--config`` was only accepted before the subcommand), and nothing read the config's
path from the environment.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sfrenew.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    path = tmp_path / "c.yaml"
    path.write_text("state_dir: st\nsalesforce:\n  target: local\n", encoding="utf-8")
    return path


def test_runs_show_takes_config_and_json_after_the_subcommand(config: Path) -> None:
    result = CliRunner().invoke(main, ["runs", "show", "r-nope", "--config", str(config),
                                       "--json"])
    assert "No such option" not in result.output
    assert "r-nope" in result.output  # the store at the config's state_dir says: unknown run
    assert (config.parent / "st" / "sfrenew.sqlite3").exists()


def test_the_config_comes_from_sfrenew_config(config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["runs", "--json"], env={"SFRENEW_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    assert (config.parent / "st" / "sfrenew.sqlite3").exists()
    status = CliRunner().invoke(main, ["status", "--json"], env={"SFRENEW_CONFIG": str(config)})
    assert json.loads(status.stdout)["store"].endswith("/st/sfrenew.sqlite3")


@pytest.mark.parametrize("command", [["apply"], ["plan"], ["rollback"], ["runs"],
                                     ["runs", "show"]])
def test_every_option_has_help_text(command: list[str]) -> None:
    """`apply --json` and `--max-api-calls` had none."""
    group: click.Command = main
    ctx = click.Context(main)
    for name in command:
        assert isinstance(group, click.Group)
        found = group.get_command(ctx, name)
        assert found is not None
        group = found
    bare = [p.name for p in group.params if isinstance(p, click.Option) and not p.help]
    assert bare == []


def test_plan_takes_json_like_every_other_command(config: Path) -> None:
    result = CliRunner().invoke(main, ["plan", "--json", "--config", str(config)])
    assert "No such option" not in result.output


@pytest.mark.parametrize("command", [
    ["jobs", "run", "sync", "--jobs-dir", "JOBS"],
    ["backfill", "--from", "2026-01-01", "--to", "2026-02-01"], ["run", "--jobs-dir", "JOBS"],
    ["plan"], ["apply"], ["runs"], ["rollback", "r-x"]])
def test_a_state_dir_that_cannot_be_created_is_a_message_not_a_traceback(
        tmp_path: Path, command: list[str]) -> None:
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    shutil.copytree(ROOT / "jobs", tmp_path / "jobs")
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    path = tmp_path / "c.yaml"
    path.write_text(f"state_dir: {tmp_path / 'file' / 'state'}\nsalesforce:\n  target: local\n",
                    encoding="utf-8")
    args = [str(tmp_path / "jobs") if a == "JOBS" else a for a in command]
    result = CliRunner().invoke(main, [*args, "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert re.search(r"state_dir( \(or store.url\))?: cannot create the folder "
                     + re.escape(str(tmp_path / "file" / "state")), result.output)
