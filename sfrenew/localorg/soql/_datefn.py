"""SOQL date functions (CALENDAR_YEAR(CloseDate), DAY_ONLY(CreatedDate)...) as SQLite
expressions over the stored text (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS.mmm+0000``).

The local org's users live in UTC and fiscal years start in January, so the fiscal
functions equal the calendar ones and no timezone conversion is needed.
"""

from __future__ import annotations

from collections.abc import Callable

from sfrenew.localorg.schema import FieldType


def _int(expr: str) -> str:
    return f"CAST({expr} AS INTEGER)"


def _day_of_year(col: str) -> str:
    return _int(f"strftime('%j', substr({col}, 1, 10))")


def _day_in_week(col: str) -> str:
    # Salesforce numbers the days of the week from 1 (Sunday) to 7 (Saturday).
    weekday = _int(f"strftime('%w', substr({col}, 1, 10))")
    return f"({weekday} + 1)"


_INT_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "CALENDAR_YEAR": lambda c: _int(f"substr({c}, 1, 4)"),
    "CALENDAR_MONTH": lambda c: _int(f"substr({c}, 6, 2)"),
    "CALENDAR_QUARTER": lambda c: f"(({_int(f'substr({c}, 6, 2)')} + 2) / 3)",
    "DAY_IN_MONTH": lambda c: _int(f"substr({c}, 9, 2)"),
    "DAY_IN_WEEK": _day_in_week,
    "DAY_IN_YEAR": _day_of_year,
    "WEEK_IN_MONTH": lambda c: f"(({_int(f'substr({c}, 9, 2)')} - 1) / 7 + 1)",
    "WEEK_IN_YEAR": lambda c: f"(({_day_of_year(c)} - 1) / 7 + 1)",
}
_FISCAL = {"FISCAL_YEAR": "CALENDAR_YEAR", "FISCAL_MONTH": "CALENDAR_MONTH",
           "FISCAL_QUARTER": "CALENDAR_QUARTER"}
_DATETIME_ONLY = frozenset({"DAY_ONLY", "HOUR_IN_DAY"})

DATE_FUNCTIONS = frozenset({*_INT_FUNCTIONS, *_FISCAL, *_DATETIME_ONLY})


def date_function_sql(func: str, col: str, *, ftype: FieldType) -> tuple[str, FieldType] | None:
    """SQL and result type of ``func(col)``, or None when ``col``'s type does not allow it."""
    if ftype not in (FieldType.DATE, FieldType.DATETIME):
        return None
    if func in _DATETIME_ONLY:
        if ftype is not FieldType.DATETIME:
            return None
        if func == "DAY_ONLY":
            return f"substr({col}, 1, 10)", FieldType.DATE
        return _int(f"substr({col}, 12, 2)"), FieldType.INT
    return _INT_FUNCTIONS[_FISCAL.get(func, func)](col), FieldType.INT
