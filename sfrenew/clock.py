"""The shell's clock: the one place sfrenew reads the time of day.

The functional core never reads a clock; the shell (CLI, daemon, local org) takes
``utc_now`` and injects it. ``SFRENEW_CLOCK_SHIFT_SECONDS`` moves this clock by a
fixed number of seconds (it still runs forward in real time). It exists for
rehearsals and tests: a test suite pins its date by handing the same shift to the
local org it serves and to the ``sfrenew`` processes it starts, so both agree on
"now" to the microsecond whatever the real date is. Never set it in production.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

SHIFT_VARIABLE = "SFRENEW_CLOCK_SHIFT_SECONDS"


class ClockShiftError(ValueError):
    """``SFRENEW_CLOCK_SHIFT_SECONDS`` is not a number."""


def clock_shift(environ: dict[str, str] | None = None) -> timedelta:
    """The configured shift (zero when the variable is unset or empty)."""
    raw = (os.environ if environ is None else environ).get(SHIFT_VARIABLE, "").strip()
    if not raw:
        return timedelta(0)
    try:
        return timedelta(seconds=float(raw))
    except (ValueError, OverflowError) as err:
        raise ClockShiftError(
            f"{SHIFT_VARIABLE}={raw!r} is not a number of seconds; unset it to use the "
            "real clock") from err


def utc_now() -> datetime:
    """Now, in UTC (timezone-aware), moved by ``SFRENEW_CLOCK_SHIFT_SECONDS`` when set."""
    now = datetime.now(UTC)
    shift = clock_shift()
    return now + shift if shift else now
