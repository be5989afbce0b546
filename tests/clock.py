"""The test suite's pinned clock: every test runs on a fixed date, whatever today is.

``tests/conftest.py`` sets ``SFRENEW_CLOCK_SHIFT_SECONDS`` before any test runs, so
that :func:`sfrenew.clock.utc_now` — the local org's default clock, the CLI's clock
and the ``sfrenew`` processes the tests start — reads ``SFRENEW_TEST_DATE`` (default
2026-03-10) at 09:00 UTC when the session starts and runs forward from there. CI runs
the integration tests a second time on a leap day near a month end
(``SFRENEW_TEST_DATE=2028-02-29``).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

from sfrenew.clock import SHIFT_VARIABLE, utc_now

DEFAULT_TEST_DATE = "2026-03-10"
TEST_DATE_VARIABLE = "SFRENEW_TEST_DATE"


def pinned_date() -> date:
    """The date the suite runs on (``SFRENEW_TEST_DATE``, default 2026-03-10)."""
    raw = os.environ.get(TEST_DATE_VARIABLE, "") or DEFAULT_TEST_DATE
    try:
        return date.fromisoformat(raw)
    except ValueError as err:
        raise SystemExit(f"{TEST_DATE_VARIABLE}={raw!r} is not a date (YYYY-MM-DD)") from err


def pin_clock() -> None:
    """Shift sfrenew's clock so that it reads the test date at 09:00 UTC now."""
    target = datetime.combine(pinned_date(), time(9, 0), tzinfo=UTC)
    # The one deliberate read of the wall clock: the shift that pins every other clock.
    os.environ[SHIFT_VARIABLE] = repr((target - datetime.now(UTC)).total_seconds())  # noqa: clock


def now() -> datetime:
    """The suite's now (UTC, timezone-aware): the pinned clock."""
    return utc_now()


def today() -> date:
    """The suite's today (UTC)."""
    return now().date()

