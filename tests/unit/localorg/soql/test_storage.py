"""The engine on the store's real tables (``sfrenew.localorg.tables``) and the default
schema: the storage convention matches, and the queries sfrenew's pull relies on are
served from indexes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from sfrenew.localorg.ids import make_id
from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.soql import PreparedQuery, QueryEngine
from sfrenew.localorg.tables import ensure_tables
from sfrenew.salesforce import format_soql
from tests.unit.localorg.soql.conftest import API, NOW, insert

ACCOUNT = make_id("001", 1)
CONTRACT = make_id("800", 1)
USER = make_id("005", 1)


@pytest.fixture(scope="module")
def org() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    ensure_tables(conn, default_schema())
    insert(conn, "User", Id=USER, Username="ann@x.test", LastName="Admin", Name="Ann Admin",
           Email="ann@x.test", IsActive=1)
    insert(conn, "Account", Id=ACCOUNT, Name="Acme", OwnerId=USER, Payment_Overdue__c=1,
           SystemModstamp="2024-05-01T00:00:00.000+0000")
    insert(conn, "Contract", Id=CONTRACT, AccountId=ACCOUNT, OwnerId=USER, Status="Activated",
           StartDate="2023-06-01", EndDate="2024-05-31", ContractTerm=12,
           SystemModstamp="2024-05-02T10:00:00.000+0000")
    yield conn
    conn.close()


def prepare(soql: str, *, include_deleted: bool = False) -> PreparedQuery:
    return QueryEngine(default_schema()).prepare(soql, include_deleted=include_deleted, now=NOW,
                                                 api_version=API)


def test_renewal_pull_query_on_the_real_tables(org: sqlite3.Connection) -> None:
    prepared = prepare("SELECT Id, Account.Name, Account.Owner.Name, Account.Payment_Overdue__c, "
                       "EndDate, ContractTerm FROM Contract WHERE Status = 'Activated' AND "
                       "EndDate = NEXT_N_DAYS:30 AND Account.Payment_Overdue__c = true")
    (record,) = prepared.records(org)
    assert record["Account"]["Owner"]["Name"] == "Ann Admin"
    assert record["Account"]["Payment_Overdue__c"] is True
    assert record["ContractTerm"] == 12
    assert record["EndDate"] == "2024-05-31"


@pytest.mark.parametrize(("soql", "index"), [
    ("SELECT Id FROM Contract WHERE SystemModstamp >= 2024-05-01T00:00:00Z "
     "ORDER BY SystemModstamp", "ix_Contract_SystemModstamp"),
    (format_soql("SELECT Id FROM Contract WHERE AccountId IN {}", [ACCOUNT]),
     "ix_Contract_AccountId"),
    (format_soql("SELECT Id FROM Contract WHERE Id = {}", CONTRACT),
     "sqlite_autoindex_Contract_1"),
])
def test_pull_queries_use_indexes(org: sqlite3.Connection, soql: str, index: str) -> None:
    prepared = prepare(soql, include_deleted=True)
    plan = " ".join(str(row) for row in org.execute("EXPLAIN QUERY PLAN " + prepared.sql,
                                                    prepared.params))
    assert index in plan
    assert len(list(prepared.records(org))) == 1
