"""What the run's report names, not only counts (issue 16)."""

from __future__ import annotations

import pytest

from sfrenew.cli.run import echo_dirty, echo_stale


def test_stale_records_skipped_at_apply_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    echo_stale({"stale": [["Opportunity", "rk-001A-2027"], ["Task", "tk-9"]]})
    out = capsys.readouterr().out
    assert "skipped as stale (changed in Salesforce after the plan was made; plan again" in out
    assert "    Opportunity rk-001A-2027\n" in out
    assert "    Task tk-9\n" in out


def test_dirty_records_are_listed_by_id(capsys: pytest.CaptureFixture[str]) -> None:
    echo_dirty({"dirty": 3, "dirty_records": [
        {"record_id": "800A", "reason": "end_before_start", "detail": "fix the dates"},
        {"record_id": "800B", "reason": "currency_mismatch", "detail": "fix the lines"}]})
    out = capsys.readouterr().out
    assert "records skipped for bad data (fix them in Salesforce): 3 (the first 2 listed)" in out
    assert "    800A end_before_start: fix the dates\n" in out


def test_nothing_to_say_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    echo_stale({"stale": []})
    echo_dirty({})
    assert capsys.readouterr().out == ""
