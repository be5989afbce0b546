"""The shell's clock and its shift (sfrenew/clock.py), and the suite's pinned date."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from sfrenew.clock import SHIFT_VARIABLE, ClockShiftError, clock_shift
from tests.clock import now, pinned_date


@pytest.mark.parametrize(("raw", "expected"), [
    (None, timedelta(0)),
    ("", timedelta(0)),
    ("  ", timedelta(0)),
    ("3600", timedelta(hours=1)),
    ("-86400.5", timedelta(days=-1, seconds=-0.5)),
])
def test_the_shift_is_read_from_the_environment(raw: str | None, expected: timedelta) -> None:
    environ = {} if raw is None else {SHIFT_VARIABLE: raw}
    assert clock_shift(environ) == expected


@pytest.mark.parametrize("raw", ["abc", "1 day", "inf"])
def test_a_bad_shift_says_what_to_do(raw: str) -> None:
    with pytest.raises(ClockShiftError, match=SHIFT_VARIABLE):
        clock_shift({SHIFT_VARIABLE: raw})


def test_the_suite_runs_on_the_pinned_date() -> None:
    started = datetime.combine(pinned_date(), time(9, 0), tzinfo=UTC)
    # The suite started at 09:00 on the pinned date and runs well under two hours.
    assert started <= now() < started + timedelta(hours=2)
