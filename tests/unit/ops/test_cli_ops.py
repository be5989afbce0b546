"""Operator CLI pieces that need no org: exit codes, the resume command, bad job files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sfrenew.cli import main
from sfrenew.cli._ops_common import (
    EXIT_CONFIG,
    EXIT_DIRTY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RESUMABLE,
    dirty_records,
    exit_code,
)
from sfrenew.cli.backfill import _accounts, resume_command
from sfrenew.cli.ops import _print_status, lapsed_of_last_plan, status_exit_code
from sfrenew.cli.run import echo_lapsed
from sfrenew.runner import RunRequest, Step
from sfrenew.store import Run, RunKind, RunStats, RunStatus


def test_exit_codes() -> None:
    assert [exit_code(s) for s in ("succeeded", "stopped", "interrupted", "failed")] == \
        [EXIT_OK, EXIT_RESUMABLE, EXIT_RESUMABLE, EXIT_FAILED]


CLEAN = {"written": {"Opportunity": {"created": 3, "updated": 1, "skipped": 1, "rejected": 0}},
         "plan": {"problems": 0}}


@pytest.mark.parametrize(("status", "stats", "resumable", "expected"), [
    ("succeeded", CLEAN, True, EXIT_OK),  # a stale record skipped is not bad data
    # 2 rows rejected by Salesforce (Task) + 0 problems = 2 dirty records
    ("succeeded", {"written": {"Task": {"created": 5, "rejected": 2}}}, True, EXIT_DIRTY),
    # 0 rejected + 1 bad record the plan reported and skipped = 1
    ("succeeded", {**CLEAN, "plan": {"problems": 1}}, True, EXIT_DIRTY),
    ("stopped", {"written": {"Task": {"rejected": 2}}}, True, EXIT_RESUMABLE),  # 3 wins
    ("stopped", CLEAN, False, EXIT_FAILED),  # a plan is not resumable
    ("interrupted", None, False, EXIT_FAILED),
    ("failed", CLEAN, True, EXIT_FAILED),
])
def test_exit_code_table(status: str, stats: dict[str, Any] | None, resumable: bool,
                         expected: int) -> None:
    assert exit_code(status, stats, resumable=resumable) == expected


def test_dirty_records_add_rejections_and_skipped_bad_records() -> None:
    # Opportunity 1 + Task 2 rejected, 4 bad records skipped: 1 + 2 + 4 = 7
    assert dirty_records({"written": {"Opportunity": {"rejected": 1}, "Task": {"rejected": 2}},
                          "plan": {"problems": 4}}) == 7
    assert dirty_records(None) == 0


@pytest.mark.parametrize(("api", "expected"), [
    ({"skipped": True}, EXIT_OK),
    ({"reachable": True, "max": 10, "remaining": 3}, EXIT_OK),
    ({"reachable": False, "problem": "allocation_spent", "error": "x"}, EXIT_FAILED),
    ({"reachable": False, "problem": "unreachable", "error": "x"}, EXIT_FAILED),
    ({"reachable": False, "problem": "credentials", "error": "x"}, EXIT_FAILED),
    ({"reachable": False, "problem": "secret_missing", "error": "x"}, EXIT_FAILED),
    ({"reachable": False, "problem": "configuration", "error": "x"}, EXIT_CONFIG),
])
def test_status_exit_code(api: dict[str, Any], expected: int) -> None:
    assert status_exit_code(api) == expected


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
                   "api_allocation": {"reachable": False, "problem": "error",
                                      "error": "AuthError: [/x] refused"}})
    assert "org: cannot be used: AuthError: [/x] refused" in capsys.readouterr().out


def _run(run_id: str, kind: RunKind, plan: dict[str, Any] | None, **params: Any) -> Run:
    return Run(run_id=run_id, job="renewals", kind=kind, status=RunStatus.SUCCEEDED,
               started_at=datetime(2026, 3, 30, 2, 0, tzinfo=UTC), finished_at=None,
               params={"accounts": [], "contract_end_from": "", **params},
               checkpoint={"plan": plan} if plan is not None else None, stats=RunStats(),
               error=None)


LAPSED = [{"key": "k1", "opportunity_id": "0065g00000004bLAAQ", "account_id": "001A",
           "account": "Acme Corp", "name": "Acme Corp renewal 2026-03-10",
           "contract_end": "2026-03-09", "days_overdue": 21, "contracts": ["800A"]},
          {"key": "k2", "opportunity_id": None, "account_id": "001B", "account": "Lantern",
           "name": "Lantern renewal 2026-03-25", "contract_end": "2026-03-24",
           "days_overdue": 6, "contracts": ["800B"]}]


def test_status_lists_the_lapsed_renewals_of_the_last_whole_book_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    runs = [  # newest first: a backfill and an --accounts run plan part of the book
        _run("r-4", RunKind.BACKFILL, {"lapsed": 0}, contract_end_from="2027-01-01"),
        _run("r-3", RunKind.RUN, {"lapsed": 0}, accounts=["001A"]),
        _run("r-2", RunKind.ROLLBACK, None),
        _run("r-1", RunKind.RUN, {"lapsed": 2, "lapsed_renewals": LAPSED[::-1]}),
    ]
    lapsed = lapsed_of_last_plan(runs)
    assert lapsed is not None
    assert (lapsed["run_id"], lapsed["count"]) == ("r-1", 2)
    assert lapsed_of_last_plan(runs[:3]) is None
    _print_status({"store": "sqlite://", "watermarks": {}, "last_runs": {}, "dead_letters": {},
                   "lapsed": lapsed, "api_allocation": {"skipped": True}})
    out = capsys.readouterr().out
    assert "lapsed renewals: 2 (contract ended, unsigned; run r-1" in out
    # most overdue first; a renewal not written yet has no Id
    assert out.index("0065g00000004bLAAQ") < out.index("(new)")
    row = next(line for line in out.splitlines() if "Lantern" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "(new)", "Lantern renewal 2026-03-25", "2026-03-24", "6"]


def test_run_output_lists_lapsed_renewals(capsys: pytest.CaptureFixture[str]) -> None:
    echo_lapsed({"lapsed": 0})
    assert capsys.readouterr().out == ""
    echo_lapsed({"lapsed": 2, "lapsed_renewals": LAPSED[::-1]})
    assert capsys.readouterr().out.splitlines() == [
        "  lapsed renewals (contract ended, unsigned): 2",
        "    0065g00000004bLAAQ Acme Corp renewal 2026-03-10: 21 days overdue (contract "
        "ended 2026-03-09)",
        "    new Lantern renewal 2026-03-25: 6 days overdue (contract ended 2026-03-24)"]
