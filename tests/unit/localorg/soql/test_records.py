"""Result shapes: attributes, canonical key casing, parent and child relationships,
aggregates, ordering, paging clauses, queryAll and the Bulk CSV flattening."""

from __future__ import annotations

import sqlite3

import pytest

from sfrenew.localorg.soql import QueryEngine
from sfrenew.salesforce import format_soql
from tests.unit.localorg.soql.conftest import A1, A2, API, C1, C2, NOW, O1, O2, U1, run


def test_record_has_attributes_and_schema_casing(engine: QueryEngine,
                                                 conn: sqlite3.Connection) -> None:
    records = run(engine, conn, format_soql("select id, NAME, iskey__c from account where id = {}",
                                               A1))
    assert records == [{
        "attributes": {"type": "Account", "url": f"/services/data/v{API}/sobjects/Account/{A1}"},
        "Id": A1, "Name": "Acme", "IsKey__c": True,
    }]


def test_parent_relationships_nest_and_are_null_when_empty(engine: QueryEngine,
                                                           conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT Name, Parent.Name, Parent.Owner.Name, Owner.Name "
                                "FROM Account ORDER BY Name")
    by_name = {r["Name"]: r for r in records}
    assert by_name["Acme"]["Parent"] is None
    beta = by_name["beta corp"]
    assert list(beta) == ["attributes", "Name", "Parent", "Owner"]
    assert beta["Parent"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v{API}/sobjects/Account/{A1}"},
        "Name": "Acme",
        "Owner": {"attributes": {"type": "User",
                                 "url": f"/services/data/v{API}/sobjects/User/{U1}"},
                  "Name": "Ann Admin"},
    }


def test_child_subquery_shape_and_empty_is_null(engine: QueryEngine,
                                                conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT Name, (SELECT LastName, Account.Name FROM Contacts "
                                "ORDER BY LastName DESC) FROM Account ORDER BY Name")
    acme, beta, _ = records
    assert beta["Contacts"] is None
    assert acme["Contacts"]["totalSize"] == 2
    assert acme["Contacts"]["done"] is True
    assert [c["LastName"] for c in acme["Contacts"]["records"]] == ["Smith", "O'Brien"]
    first = acme["Contacts"]["records"][1]
    assert first["attributes"]["url"].endswith(f"/sobjects/Contact/{C1}")
    assert first["Account"]["Name"] == "Acme"


def test_child_subquery_filter_limit_and_prefixed_relationship(
        engine: QueryEngine, conn: sqlite3.Connection) -> None:
    records = run(engine, conn, format_soql("SELECT Account.Name, (SELECT Contact.LastName FROM "
                                            "Account.Contacts WHERE Email != null LIMIT 1) "
                                            "FROM Account WHERE Id = {}", A1))
    assert records[0]["Contacts"]["records"][0]["LastName"] == "O'Brien"
    assert records[0]["Contacts"]["totalSize"] == 1


def test_child_subquery_spans_batches(engine: QueryEngine, conn: sqlite3.Connection,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sfrenew.localorg.soql.engine.BATCH_SIZE", 1)
    records = run(engine, conn, "SELECT Name, (SELECT Name FROM Opportunities) FROM Account "
                                "ORDER BY Name")
    sizes = [r["Opportunities"] and r["Opportunities"]["totalSize"] for r in records]
    assert sizes == [2, 1, 1]


def test_query_all_includes_deleted(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    assert len(run(engine, conn, "SELECT Id FROM Account")) == 3
    deleted = run(engine, conn, "SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true",
                  include_deleted=True)
    assert [(r["Name"], r["IsDeleted"]) for r in deleted] == [("Deleted Inc", True)]
    assert run(engine, conn, "SELECT Id FROM Account WHERE IsDeleted = true") == []


@pytest.mark.parametrize(("order", "expected"), [
    ("Name", ["Acme", "beta corp", "Gamma 50% off_sale"]),  # case-insensitive
    ("Name DESC", ["Gamma 50% off_sale", "beta corp", "Acme"]),
    ("AnnualRevenue", ["Gamma 50% off_sale", "beta corp", "Acme"]),  # nulls first by default
    ("AnnualRevenue NULLS LAST", ["beta corp", "Acme", "Gamma 50% off_sale"]),
    ("AnnualRevenue DESC", ["Acme", "beta corp", "Gamma 50% off_sale"]),  # nulls last
    ("AnnualRevenue DESC NULLS FIRST", ["Gamma 50% off_sale", "Acme", "beta corp"]),
    ("Industry DESC NULLS LAST", ["beta corp", "Acme", "Gamma 50% off_sale"]),  # picklist order
    ("Owner.Name, Name DESC", ["Gamma 50% off_sale", "Acme", "beta corp"]),
])
def test_order_by(engine: QueryEngine, conn: sqlite3.Connection, order: str,
                  expected: list[str]) -> None:
    assert [r["Name"] for r in run(engine, conn, "SELECT Name FROM Account ORDER BY " + order)] \
        == expected


def test_limit_offset_and_total_size(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    prepared = engine.prepare("SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1",
                              include_deleted=False, now=NOW, api_version=API)
    assert prepared.total_size(conn) == 1
    assert [r["Name"] for r in prepared.records(conn)] == ["beta corp"]
    past_end = engine.prepare("SELECT Name FROM Account OFFSET 5", include_deleted=False,
                              now=NOW, api_version=API)
    assert past_end.total_size(conn) == 0
    assert list(past_end.records(conn)) == []


def test_count_query(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    prepared = engine.prepare("SELECT COUNT() FROM Contact WHERE AccountId != null",
                              include_deleted=False, now=NOW, api_version=API)
    assert prepared.is_count_query
    assert prepared.object_name == "Contact"
    assert prepared.total_size(conn) == 2
    assert list(prepared.records(conn)) == []
    limited = engine.prepare("SELECT COUNT() FROM Account LIMIT 2", include_deleted=True,
                             now=NOW, api_version=API)
    assert limited.total_size(conn) == 2


def test_aggregates_expr_names_aliases_and_group_keys(engine: QueryEngine,
                                                      conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT StageName, COUNT(Id), SUM(Amount) total, MAX(CloseDate), "
                                "COUNT_DISTINCT(AccountId) FROM Opportunity GROUP BY StageName "
                                "ORDER BY StageName")
    assert records[0] == {"attributes": {"type": "AggregateResult"}, "StageName": "Prospecting",
                          "expr0": 1, "total": 250.0, "expr1": "2024-06-30", "expr2": 1}
    assert [(r["StageName"], r["expr0"], r["total"]) for r in records] == [
        ("Prospecting", 1, 250.0), ("Negotiation", 1, 500.0), ("Closed Won", 2, 100.0)]


def test_aggregate_without_group_by_and_having(engine: QueryEngine,
                                               conn: sqlite3.Connection) -> None:
    assert run(engine, conn, "select count(Id) from Account") == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 3}]
    rows = run(engine, conn, "SELECT Account.Name, AVG(Amount) avg FROM Opportunity "
                             "GROUP BY Account.Name HAVING COUNT(Id) > 1")
    assert rows == [{"attributes": {"type": "AggregateResult"}, "Name": "Acme", "avg": 375.0}]
    prepared = engine.prepare("SELECT StageName FROM Opportunity GROUP BY StageName",
                              include_deleted=False, now=NOW, api_version=API)
    assert prepared.total_size(conn) == 3


def test_semi_join_ignores_deleted_rows_and_escapes(engine: QueryEngine,
                                                    conn: sqlite3.Connection) -> None:
    records = run(engine, conn, r"SELECT Id FROM Contact WHERE LastName = 'O\'Brien'")
    assert [r["Id"] for r in records] == [C1]
    assert run(engine, conn, "SELECT Id FROM Contact WHERE LastName = 'O\\\\Brien'") == []
    records = run(engine, conn, format_soql("SELECT Id FROM Opportunity WHERE Id = {} AND "
                                            "AccountId IN (SELECT Id FROM Account WHERE Id = {})",
                                            O1, A1))
    assert len(records) == 1


def test_fields_standard_and_all(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    record = run(engine, conn,
                 format_soql("SELECT FIELDS(ALL) FROM Contact WHERE Id = {} LIMIT 200", C2))[0]
    assert record["LastName"] == "Smith"
    assert record["Email"] is None
    assert "IsDeleted" in record


def test_bulk_flat_columns_and_rows(engine: QueryEngine, conn: sqlite3.Connection) -> None:
    prepared = engine.prepare("SELECT Id, Name, Parent.Name, IsKey__c, AnnualRevenue, "
                              "CreatedDate FROM Account WHERE Name = 'beta corp'",
                              include_deleted=False, now=NOW, api_version=API, bulk=True)
    assert prepared.flat_columns() == ["Id", "Name", "Parent.Name", "IsKey__c", "AnnualRevenue",
                                       "CreatedDate"]
    (record,) = prepared.records(conn)
    assert prepared.flat_row(record) == [A2, "beta corp", "Acme", "false", "200.0",
                                         "2024-05-14T23:59:59.999Z"]
    acme = engine.prepare(format_soql("SELECT Parent.Name FROM Account WHERE Id = {}", A1),
                          include_deleted=False, now=NOW, api_version=API, bulk=True)
    assert [acme.flat_row(r) for r in acme.records(conn)] == [[""]]


def test_polymorphic_lookup_renders_the_actual_type(engine: QueryEngine,
                                                    conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT Subject, What.Name, What.Type, What.Id FROM Task "
                                "ORDER BY Subject")
    by_subject = {r["Subject"]: r["What"] for r in records}
    assert by_subject["Note"] is None
    assert by_subject["Call"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v{API}/sobjects/Account/{A1}"},
        "Name": "Acme", "Type": "Account", "Id": A1}
    assert by_subject["Quote"]["attributes"]["type"] == "Opportunity"
    assert by_subject["Quote"]["Name"] == "Acme upsell"
    assert by_subject["Quote"]["Id"] == O2


def test_polymorphic_lookup_in_filters_and_child_relationship(
        engine: QueryEngine, conn: sqlite3.Connection) -> None:
    assert [r["Subject"] for r in run(engine, conn, "SELECT Subject FROM Task WHERE "
                                                    "What.Type = 'opportunity'")] == ["Quote"]
    accounts = run(engine, conn, format_soql("SELECT Id, (SELECT Subject FROM Tasks) FROM "
                                             "Account WHERE Id = {}", A1))
    assert accounts[0]["Tasks"]["records"][0]["Subject"] == "Call"


def test_typeof_picks_fields_by_the_related_record_type(engine: QueryEngine,
                                                        conn: sqlite3.Connection) -> None:
    records = run(engine, conn, "SELECT Subject, TYPEOF What WHEN Account THEN Name, Industry "
                                "WHEN Opportunity THEN Amount, StageName ELSE Name END "
                                "FROM Task ORDER BY Subject")
    by_subject = {r["Subject"]: r for r in records}
    assert list(by_subject["Call"]) == ["attributes", "Subject", "What"]
    assert by_subject["Call"]["What"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v{API}/sobjects/Account/{A1}"},
        "Name": "Acme", "Industry": "Tech"}
    assert by_subject["Quote"]["What"] == {
        "attributes": {"type": "Opportunity",
                       "url": f"/services/data/v{API}/sobjects/Opportunity/{O2}"},
        "Amount": 250.0, "StageName": "Prospecting"}
    assert by_subject["Note"]["What"] is None
    only_accounts = run(engine, conn, "SELECT TYPEOF What WHEN Account THEN Name END FROM Task "
                                      "WHERE What.Type = 'Opportunity'")
    assert only_accounts[0]["What"] == {
        "attributes": {"type": "Opportunity",
                       "url": f"/services/data/v{API}/sobjects/Opportunity/{O2}"}}
