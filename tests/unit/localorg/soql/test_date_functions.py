"""Date functions in WHERE, GROUP BY, ORDER BY and aggregate field lists."""

from __future__ import annotations

import sqlite3

import pytest

from sfrenew.localorg.soql import QueryEngine
from tests.unit.localorg.soql.conftest import error_of, run


@pytest.mark.parametrize(("where", "expected"), [
    ("CALENDAR_YEAR(CloseDate) = 2024", ["Acme renewal", "Acme upsell", "Beta new"]),
    ("CALENDAR_YEAR(CloseDate) < 2024", ["Old"]),
    ("CALENDAR_MONTH(CloseDate) IN (3, 6)", ["Acme upsell", "Beta new"]),
    ("CALENDAR_QUARTER(CloseDate) = 2", ["Acme renewal", "Acme upsell"]),
    ("FISCAL_QUARTER(CloseDate) = 4", ["Old"]),
    ("DAY_IN_MONTH(CloseDate) = 31", ["Beta new", "Old"]),
    ("DAY_IN_WEEK(CloseDate) = 4", ["Acme renewal"]),  # 2024-05-15 is a Wednesday
    ("DAY_IN_YEAR(CloseDate) = 365", ["Old"]),
    ("DAY_IN_YEAR(CloseDate) = 91", ["Beta new"]),  # 2024 is a leap year
    ("WEEK_IN_MONTH(CloseDate) = 5", ["Acme upsell", "Beta new", "Old"]),
    ("WEEK_IN_YEAR(CloseDate) = 53", ["Old"]),
])
def test_date_functions_in_where(engine: QueryEngine, conn: sqlite3.Connection, where: str,
                                 expected: list[str]) -> None:
    records = run(engine, conn, "SELECT Name FROM Opportunity WHERE " + where)
    assert sorted(r["Name"] for r in records) == sorted(expected)


def test_datetime_only_functions(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT Name FROM Account WHERE DAY_ONLY(CreatedDate) = "
                                "2024-05-14 OR HOUR_IN_DAY(CreatedDate) = 9")
    assert sorted(r["Name"] for r in records) == ["Acme", "beta corp"]


def test_group_by_date_function_names_columns_expr_n(engine: QueryEngine,
                                                     conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT CALENDAR_YEAR(CloseDate), SUM(Amount) total, COUNT(Id) "
                                "FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate) "
                                "ORDER BY CALENDAR_YEAR(CloseDate) DESC")
    assert records == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 2024, "total": 750.0, "expr1": 3},
        {"attributes": {"type": "AggregateResult"}, "expr0": 2023, "total": 100.0, "expr1": 1},
    ]


@pytest.mark.parametrize(("soql", "text"), [
    ("SELECT CALENDAR_YEAR(CloseDate) FROM Opportunity", "only allowed in aggregate queries"),
    ("SELECT CALENDAR_YEAR(Name) y FROM Opportunity GROUP BY CALENDAR_YEAR(Name)",
     "cannot be applied to field Name"),
    ("SELECT Name FROM Opportunity WHERE HOUR_IN_DAY(CloseDate) = 1",
     "cannot be applied to field CloseDate"),
    ("SELECT CALENDAR_MONTH(CloseDate) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate)",
     "Field must be grouped or aggregated: CALENDAR_MONTH"),
])
def test_date_function_errors(engine: QueryEngine, soql: str, text: str) -> None:
    err = error_of(engine, soql)
    assert err.errors[0].error_code == "MALFORMED_QUERY"
    assert text in err.errors[0].message
