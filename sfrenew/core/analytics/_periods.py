"""Reporting periods: a month (``2026-03``) or a quarter (``2026-Q1``) of a date."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Grain(StrEnum):
    """How figures are grouped in time."""

    MONTH = "month"
    QUARTER = "quarter"


def period_of(day: date, grain: Grain) -> str:
    """The period ``day`` falls in: 2026-03-10 → ``2026-03`` or ``2026-Q1``."""
    if grain is Grain.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def period_start(period: str) -> date:
    """The first day of a period named by :func:`period_of`."""
    year, rest = period.split("-")
    if rest.startswith("Q"):
        return date(int(year), (int(rest[1:]) - 1) * 3 + 1, 1)
    return date(int(year), int(rest), 1)
