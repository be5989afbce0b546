"""Operator CLI pieces that need no org: exit codes, the resume command, bad job files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.cli._ops_common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_RESUMABLE, exit_code
from sfrenew.cli.backfill import _accounts, resume_command
from sfrenew.cli.ops import _print_status
from sfrenew.runner import RunRequest, Step


def test_exit_codes() -> None:
    assert [exit_code(s) for s in ("succeeded", "stopped", "interrupted", "failed")] == \
        [EXIT_OK, EXIT_RESUMABLE, EXIT_RESUMABLE, EXIT_FAILED]


def test_resume_command_repeats_the_window_and_cap() -> None:
    request = RunRequest(job="backfill", steps=(Step.PULL,), accounts=("001A", "001B"),
                         contract_end_from=date(2027, 1, 1), contract_end_to=date(2027, 3, 31),
                         max_api_calls=500, kind="backfill")
    assert resume_command(config_path="prod config.yaml", request=request, run_id="r-1") == (
        "sfrenew backfill --config 'prod config.yaml' --from 2027-01-01 --to 2027-03-31 "
        "--accounts 001A,001B --max-api-calls 500 --resume r-1")


def test_accounts_option_splits_and_dedupes() -> None:
    assert _accounts(("001A,001B", " 001C ", "001A")) == ("001A", "001B", "001C")


def test_jobs_check_lists_every_mistake_and_exits_2(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "a.yaml").write_text("trigger: {cron: '0 99 * * *'}\nsteps: [pull]\n")
    (jobs / "b.yaml").write_text("trigger: {interval: {minutes: 5}}\nsteps: [pull]\nx: 1\n")
    result = CliRunner().invoke(main, ["jobs", "check", "--jobs-dir", str(jobs)])
    assert result.exit_code == EXIT_CONFIG
    assert f"{jobs / 'a.yaml'}:1:11: trigger.cron" in result.output
    assert f"{jobs / 'b.yaml'}:3:1: x: unknown key" in result.output


def test_bad_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("salesforce: {target: local}\nbogus: 1\n")
    result = CliRunner().invoke(main, ["status", "--config", str(config), "--no-org"])
    assert result.exit_code == EXIT_CONFIG
    assert f"{config}:2:1: bogus: unknown section" in result.output


def test_status_shows_an_unreachable_org_error_as_written(
        capsys: pytest.CaptureFixture[str]) -> None:
    _print_status({"store": "empty (no run yet)", "watermarks": {}, "last_runs": {},
                   "dead_letters": {},
                   "api_allocation": {"reachable": False, "error": "AuthError: [/x] refused"}})
    assert "org unreachable (AuthError: [/x] refused)" in capsys.readouterr().out
