"""WHERE semantics, table-driven: which records a filter selects."""

from __future__ import annotations

import sqlite3

import pytest

from sfrenew.localorg.soql import QueryEngine
from sfrenew.salesforce import format_soql
from tests.unit.localorg.soql.conftest import A1, A2, U1, run

CASES = [
    # equality and text: case-insensitive like Salesforce
    ("Name = 'acme'", ["Acme"]),
    ("Name != 'ACME'", ["beta corp", "Gamma 50% off_sale"]),
    ("Name <> 'acme'", ["beta corp", "Gamma 50% off_sale"]),
    # two-valued logic: != and NOT include nulls
    ("Industry != 'Tech'", ["beta corp", "Gamma 50% off_sale"]),
    ("NOT Industry = 'Tech'", ["beta corp", "Gamma 50% off_sale"]),
    ("NOT (Industry = 'Tech' OR Industry = 'Retail')", ["Gamma 50% off_sale"]),
    ("Industry NOT IN ('Tech')", ["beta corp", "Gamma 50% off_sale"]),
    ("Industry IN ('tech', 'RETAIL')", ["Acme", "beta corp"]),
    ("Industry IN ('Tech', null)", ["Acme", "Gamma 50% off_sale"]),
    ("Industry = null", ["Gamma 50% off_sale"]),
    ("Industry != null", ["Acme", "beta corp"]),
    ("Industry = ''", ["Gamma 50% off_sale"]),  # empty text is null in Salesforce
    ("Industry != ''", ["Acme", "beta corp"]),
    ("Industry IN ('', 'Tech')", ["Acme", "Gamma 50% off_sale"]),
    ("IsKey__c = null", ["beta corp", "Gamma 50% off_sale"]),  # null matches false
    ("IsKey__c != null", ["Acme"]),
    # numbers
    ("AnnualRevenue > 200", ["Acme"]),
    ("AnnualRevenue >= 200", ["Acme", "beta corp"]),
    ("AnnualRevenue < 1000.5", ["beta corp"]),
    ("NumberOfEmployees <= 5", ["beta corp"]),
    ("NOT NumberOfEmployees > 5", ["beta corp", "Gamma 50% off_sale"]),
    ("AnnualRevenue = -1", []),
    # booleans
    ("IsKey__c = true", ["Acme"]),
    ("IsKey__c = FALSE", ["beta corp", "Gamma 50% off_sale"]),
    # LIKE: case-insensitive, % and _, escaped wildcards
    ("Name LIKE 'ac%'", ["Acme"]),
    ("Name LIKE '_eta%'", ["beta corp"]),
    ("Name LIKE '%50\\% off\\_%'", ["Gamma 50% off_sale"]),
    ("Name LIKE '%5_\\%%'", ["Gamma 50% off_sale"]),
    ("NOT Name LIKE 'a%'", ["beta corp", "Gamma 50% off_sale"]),
    # AND / OR / parentheses
    ("Industry = 'Tech' OR Industry = 'Retail'", ["Acme", "beta corp"]),
    ("(Industry = 'Tech' OR Industry = 'Retail') AND AnnualRevenue < 500", ["beta corp"]),
    ("Name = 'Acme' AND (NOT IsKey__c = false)", ["Acme"]),
    # parent fields in filters
    ("Owner.Name = 'Ann Admin'", ["Acme", "Gamma 50% off_sale"]),
    ("Parent.Name = 'Acme'", ["beta corp"]),
    ("Parent.Name != 'Acme'", ["Acme", "Gamma 50% off_sale"]),
    ("Parent.Owner.IsActive = true", ["beta corp"]),
    # Ids: 15- and 18-character forms
    # (values filled in by format_soql, as every query sfrenew sends)
    ("Id = {A1}", ["Acme"]),
    ("Id = {A1_15}", ["Acme"]),
    ("Id IN ({A1}, {A2})", ["Acme", "beta corp"]),
    ("OwnerId != {U1}", ["beta corp"]),
    # multi-select picklists
    ("Regions__c INCLUDES ('emea')", ["Acme"]),
    ("Regions__c INCLUDES ('EMEA;AMER', 'APAC')", ["Acme", "beta corp"]),
    ("Regions__c INCLUDES ('EMEA;APAC')", []),
    ("Regions__c EXCLUDES ('EMEA')", ["beta corp", "Gamma 50% off_sale"]),
    # semi-join and anti-join
    ("Id IN (SELECT AccountId FROM Contact WHERE LastName LIKE 'O%')", ["Acme"]),
    ("Id NOT IN (SELECT AccountId FROM Contact)", ["beta corp", "Gamma 50% off_sale"]),
    ("Id IN (SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won')",
     ["beta corp", "Gamma 50% off_sale"]),
    # datetimes (stored UTC text) against datetime literals and relative dates
    ("CreatedDate > 2024-05-14T23:59:59Z", ["Acme", "beta corp"]),
    ("CreatedDate > 2024-05-15T01:00:00+02:00", ["Acme", "beta corp"]),
    ("CreatedDate >= 2024-05-15T09:00:00.000Z", ["Acme"]),
    ("CreatedDate = TODAY", ["Acme"]),
    ("CreatedDate = YESTERDAY", ["beta corp"]),
    ("CreatedDate < TODAY", ["beta corp", "Gamma 50% off_sale"]),
    ("CreatedDate <= TODAY", ["Acme", "beta corp", "Gamma 50% off_sale"]),
    ("CreatedDate > YESTERDAY", ["Acme"]),
    ("CreatedDate = LAST_N_DAYS:1", ["Acme", "beta corp"]),
    ("CreatedDate = THIS_QUARTER", ["Acme", "beta corp"]),
    ("CreatedDate = LAST_QUARTER", ["Gamma 50% off_sale"]),
    ("CreatedDate = THIS_YEAR", ["Acme", "beta corp", "Gamma 50% off_sale"]),
    ("CreatedDate != THIS_MONTH", ["Gamma 50% off_sale"]),
    ("CreatedDate IN (TODAY, LAST_QUARTER)", ["Acme", "Gamma 50% off_sale"]),
    ("CreatedDate = NEXT_N_DAYS:5", []),
]


@pytest.mark.parametrize(("where", "expected"), CASES)
def test_where_selects_the_records_salesforce_would(
        engine: QueryEngine, conn: sqlite3.Connection, where: str, expected: list[str]) -> None:
    soql = format_soql("SELECT Name FROM Account WHERE {where:literal}",
                       where=format_soql(where, A1=A1, A2=A2, A1_15=A1[:15], U1=U1))
    records = run(engine, conn, soql + " ORDER BY Name")
    assert sorted(r["Name"] for r in records) == sorted(expected)


DATE_CASES = [
    ("CloseDate = TODAY", ["Acme renewal"]),
    ("CloseDate = 2024-05-15", ["Acme renewal"]),
    ("CloseDate > 2024-05-15", ["Acme upsell"]),
    ("CloseDate < 2024-01-01", ["Old"]),
    ("CloseDate = THIS_QUARTER", ["Acme renewal", "Acme upsell"]),
    ("CloseDate = LAST_QUARTER", ["Beta new"]),
    ("CloseDate = NEXT_N_DAYS:46", ["Acme upsell"]),
    ("CloseDate = NEXT_N_DAYS:45", []),
    ("CloseDate = LAST_N_MONTHS:2", ["Beta new"]),
    ("CloseDate = NEXT_N_MONTHS:1", ["Acme upsell"]),
    ("CloseDate = LAST_YEAR", ["Old"]),
    ("CloseDate > THIS_MONTH", ["Acme upsell"]),
    ("CloseDate IN (2024-05-15, 2023-12-31)", ["Acme renewal", "Old"]),
    ("StageName IN ('closed won') AND Account.Name = 'beta corp'", ["Beta new"]),
    ("Account.Owner.Name = 'Ann Admin' AND Amount > 100", ["Acme renewal", "Acme upsell"]),
]


@pytest.mark.parametrize(("where", "expected"), DATE_CASES)
def test_date_filters_use_the_injected_today(
        engine: QueryEngine, conn: sqlite3.Connection, where: str, expected: list[str]) -> None:
    records = run(engine, conn, "SELECT Name FROM Opportunity WHERE " + where)
    assert sorted(r["Name"] for r in records) == sorted(expected)
