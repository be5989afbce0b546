"""Relative date literals (TODAY, LAST_N_DAYS:n, THIS_QUARTER...) as date ranges.

Every literal is a range of whole days ``[start, end]`` computed from the injected
``today``; a comparison against a literal is a comparison against that range
(``= THIS_MONTH`` means inside it, ``> THIS_MONTH`` means after its end). Weeks start
on Sunday and fiscal periods equal calendar periods, as in a default org with the
en_US locale; the local org's users all live in UTC.
"""

from __future__ import annotations

from datetime import date, timedelta

_WITHOUT_N = {
    "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
    "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER",
    "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
    "THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER", "THIS_FISCAL_YEAR",
    "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR",
}
_WITH_N = {
    "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "N_WEEKS_AGO",
    "LAST_N_MONTHS", "NEXT_N_MONTHS", "N_MONTHS_AGO", "LAST_N_QUARTERS", "NEXT_N_QUARTERS",
    "N_QUARTERS_AGO", "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO",
    "LAST_N_FISCAL_QUARTERS", "NEXT_N_FISCAL_QUARTERS", "N_FISCAL_QUARTERS_AGO",
    "LAST_N_FISCAL_YEARS", "NEXT_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO",
}
RELATIVE_WITHOUT_N = frozenset(_WITHOUT_N)
RELATIVE_WITH_N = frozenset(_WITH_N)


def _month_start(year: int, month: int) -> date:
    """The first day of a month given as a possibly out-of-range month number."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def _months(today: date, first: int, last: int) -> tuple[date, date]:
    """Whole months ``first``..``last`` relative to the current month (0)."""
    start = _month_start(today.year, today.month + first)
    end = _month_start(today.year, today.month + last + 1) - timedelta(days=1)
    return start, end


def _weeks(today: date, first: int, last: int) -> tuple[date, date]:
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    return sunday + timedelta(weeks=first), sunday + timedelta(weeks=last + 1, days=-1)


def date_range(name: str, n: int | None, *, today: date) -> tuple[date, date]:
    """The inclusive day range ``[start, end]`` a relative date literal stands for."""
    k = n or 0
    name = name.replace("_FISCAL", "")
    q = (today.month - 1) // 3  # current quarter, 0-based; months are 3*q+1 .. 3*q+3
    q_offset = 3 * q + 1 - today.month  # months from the current month to quarter start
    day = timedelta(days=1)
    table = {
        "YESTERDAY": (today - day, today - day),
        "TODAY": (today, today),
        "TOMORROW": (today + day, today + day),
        "LAST_90_DAYS": (today - 90 * day, today),
        "NEXT_90_DAYS": (today + day, today + 90 * day),
        "LAST_N_DAYS": (today - k * day, today),
        "NEXT_N_DAYS": (today + day, today + k * day),
        "N_DAYS_AGO": (today - k * day, today - k * day),
    }
    if name in table:
        return table[name]
    weeks = {"LAST_WEEK": (-1, -1), "THIS_WEEK": (0, 0), "NEXT_WEEK": (1, 1),
             "LAST_N_WEEKS": (-k, -1), "NEXT_N_WEEKS": (1, k), "N_WEEKS_AGO": (-k, -k)}
    if name in weeks:
        return _weeks(today, *weeks[name])
    months = {"LAST_MONTH": (-1, -1), "THIS_MONTH": (0, 0), "NEXT_MONTH": (1, 1),
              "LAST_N_MONTHS": (-k, -1), "NEXT_N_MONTHS": (1, k), "N_MONTHS_AGO": (-k, -k)}
    if name in months:
        return _months(today, *months[name])
    quarters = {"THIS_QUARTER": (0, 0), "LAST_QUARTER": (-1, -1), "NEXT_QUARTER": (1, 1),
                "LAST_N_QUARTERS": (-k, -1), "NEXT_N_QUARTERS": (1, k),
                "N_QUARTERS_AGO": (-k, -k)}
    if name in quarters:
        first, last = quarters[name]
        return _months(today, q_offset + 3 * first, q_offset + 3 * last + 2)
    years = {"THIS_YEAR": (0, 0), "LAST_YEAR": (-1, -1), "NEXT_YEAR": (1, 1),
             "LAST_N_YEARS": (-k, -1), "NEXT_N_YEARS": (1, k), "N_YEARS_AGO": (-k, -k)}
    if name in years:
        first, last = years[name]
        return date(today.year + first, 1, 1), date(today.year + last, 12, 31)
    raise KeyError(name)
