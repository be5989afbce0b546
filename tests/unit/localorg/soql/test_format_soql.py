"""Statements built with simple_salesforce's ``format_soql`` (what sfrenew's own client
sends) parse, and their values arrive unchanged."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest
from simple_salesforce.format import format_soql

from sfrenew.localorg.ids import make_id
from sfrenew.localorg.soql import QueryEngine
from tests.unit.localorg.soql.conftest import A1, A2, insert, run


@pytest.mark.parametrize("value", [
    "O'Brien", "back\\slash", "new\nline", "tab\there", 'double "quote"', "carriage\rreturn",
    "naïve ünïcode", "50% off_sale",
])
def test_string_values_round_trip(engine: QueryEngine, conn: sqlite3.Connection,
                                  value: str) -> None:
    new_id = make_id("003", 999)
    insert(conn, "Contact", Id=new_id, LastName=value, OwnerId=None)
    try:
        soql = format_soql("SELECT Id, LastName FROM Contact WHERE LastName = {}", value)
        records = run(engine, conn, soql)
        assert new_id in {r["Id"] for r in records}
        assert {r["LastName"] for r in records} == {value}
    finally:
        conn.execute('DELETE FROM "Contact" WHERE "Id" = ?', (new_id,))


def test_like_values_escape_wildcards(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    soql = format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%'", "Gamma 50% off_")
    assert [r["Name"] for r in run(engine, conn, soql)] == ["Gamma 50% off_sale"]
    soql = format_soql("SELECT Name FROM Account WHERE Name LIKE '%{:like}'", "_sale")
    assert [r["Name"] for r in run(engine, conn, soql)] == ["Gamma 50% off_sale"]
    soql = format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%'", "G_mma")
    assert run(engine, conn, soql) == []


def test_other_value_types(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    soql = format_soql(
        "SELECT Name FROM Account WHERE Id IN {} AND IsKey__c = {} AND ParentId = {} "
        "AND CreatedDate >= {} AND NumberOfEmployees > {} AND AnnualRevenue > {}",
        [A1, A2], True, None, datetime(2024, 5, 15, 9, 0, tzinfo=UTC), 10, 1000.25)
    assert [r["Name"] for r in run(engine, conn, soql)] == ["Acme"]
    soql = format_soql("SELECT Name FROM Opportunity WHERE CloseDate = {}", date(2024, 5, 15))
    assert [r["Name"] for r in run(engine, conn, soql)] == ["Acme renewal"]
