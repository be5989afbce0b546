"""Relative date literals as day ranges."""

from __future__ import annotations

from datetime import date

import pytest

from sfrenew.localorg.soql.dates import RELATIVE_WITH_N, RELATIVE_WITHOUT_N, date_range

TODAY = date(2024, 5, 15)  # Wednesday, Q2


@pytest.mark.parametrize(("name", "n", "start", "end"), [
    ("TODAY", None, date(2024, 5, 15), date(2024, 5, 15)),
    ("YESTERDAY", None, date(2024, 5, 14), date(2024, 5, 14)),
    ("TOMORROW", None, date(2024, 5, 16), date(2024, 5, 16)),
    ("LAST_N_DAYS", 7, date(2024, 5, 8), date(2024, 5, 15)),  # includes today
    ("NEXT_N_DAYS", 7, date(2024, 5, 16), date(2024, 5, 22)),  # starts tomorrow
    ("N_DAYS_AGO", 3, date(2024, 5, 12), date(2024, 5, 12)),
    ("THIS_WEEK", None, date(2024, 5, 12), date(2024, 5, 18)),  # Sunday..Saturday
    ("LAST_WEEK", None, date(2024, 5, 5), date(2024, 5, 11)),
    ("NEXT_N_WEEKS", 2, date(2024, 5, 19), date(2024, 6, 1)),
    ("THIS_MONTH", None, date(2024, 5, 1), date(2024, 5, 31)),
    ("LAST_MONTH", None, date(2024, 4, 1), date(2024, 4, 30)),
    ("NEXT_MONTH", None, date(2024, 6, 1), date(2024, 6, 30)),
    ("LAST_N_MONTHS", 6, date(2023, 11, 1), date(2024, 4, 30)),
    ("NEXT_N_MONTHS", 8, date(2024, 6, 1), date(2025, 1, 31)),
    ("N_MONTHS_AGO", 5, date(2023, 12, 1), date(2023, 12, 31)),
    ("THIS_QUARTER", None, date(2024, 4, 1), date(2024, 6, 30)),
    ("LAST_QUARTER", None, date(2024, 1, 1), date(2024, 3, 31)),
    ("NEXT_QUARTER", None, date(2024, 7, 1), date(2024, 9, 30)),
    ("LAST_N_QUARTERS", 2, date(2023, 10, 1), date(2024, 3, 31)),
    ("NEXT_N_QUARTERS", 3, date(2024, 7, 1), date(2025, 3, 31)),
    ("THIS_FISCAL_QUARTER", None, date(2024, 4, 1), date(2024, 6, 30)),
    ("THIS_YEAR", None, date(2024, 1, 1), date(2024, 12, 31)),
    ("LAST_N_YEARS", 2, date(2022, 1, 1), date(2023, 12, 31)),
    ("NEXT_YEAR", None, date(2025, 1, 1), date(2025, 12, 31)),
    ("LAST_90_DAYS", None, date(2024, 2, 15), date(2024, 5, 15)),
])
def test_date_range(name: str, n: int | None, start: date, end: date) -> None:
    assert date_range(name, n, today=TODAY) == (start, end)


@pytest.mark.parametrize("name", sorted(RELATIVE_WITHOUT_N | RELATIVE_WITH_N))
@pytest.mark.parametrize("today", [date(2024, 1, 1), date(2024, 12, 31), date(2023, 2, 28)])
def test_every_literal_is_a_nonempty_range(name: str, today: date) -> None:
    start, end = date_range(name, 3 if name in RELATIVE_WITH_N else None, today=today)
    assert start <= end
