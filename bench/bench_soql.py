"""SOQL engine throughput: rendering rows of a 100,000-record query into JSON records.

Run: ``python -m bench.bench_soql [--rows N]``. Prints rows/s for a flat query, a query
with parent relationships and one with a child subquery, over an in-memory SQLite
database built with the local org's tables.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from datetime import UTC, datetime

from sfrenew.localorg.ids import make_id
from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.soql import QueryEngine
from sfrenew.localorg.tables import ensure_tables

NOW = datetime(2024, 5, 15, tzinfo=UTC)
STAMP = "2024-01-02T03:04:05.000+0000"

QUERIES = {
    "flat (10 fields)": "SELECT Id, Name, Type, Industry, AnnualRevenue, NumberOfEmployees, "
                        "Health_Score__c, Payment_Overdue__c, BillingCity, SystemModstamp "
                        "FROM Account",
    "parents (Owner, Parent.Owner)": "SELECT Id, Name, Owner.Name, Owner.Email, Parent.Name, "
                                     "Parent.Owner.Name, AnnualRevenue FROM Account",
    "child subquery (Contracts)": "SELECT Id, Name, (SELECT Id, EndDate, Status FROM Contracts) "
                                  "FROM Account",
}


def build(rows: int) -> sqlite3.Connection:
    """An org with ``rows`` accounts (one contract each) owned by 50 users."""
    conn = sqlite3.connect(":memory:")
    ensure_tables(conn, default_schema())
    users = [make_id("005", n) for n in range(1, 51)]
    conn.executemany(
        'INSERT INTO "User" ("Id", "IsDeleted", "Name", "Email", "LastName", "Username") '
        "VALUES (?, 0, ?, ?, ?, ?)",
        [(u, f"User {i}", f"u{i}@x.test", f"User {i}", f"u{i}@x.test")
         for i, u in enumerate(users)])
    accounts = [make_id("001", n) for n in range(1, rows + 1)]
    conn.executemany(
        'INSERT INTO "Account" ("Id", "IsDeleted", "Name", "OwnerId", "ParentId", "Type", '
        '"Industry", "AnnualRevenue", "NumberOfEmployees", "Health_Score__c", '
        '"Payment_Overdue__c", "BillingCity", "SystemModstamp", "CreatedDate") '
        "VALUES (?, 0, ?, ?, ?, 'Customer', 'Technology', ?, ?, 71.5, ?, 'Lyon', ?, ?)",
        [(a, f"Account {i}", users[i % 50], accounts[i // 10] if i % 10 else None,
          1000.0 * i, i % 500, i % 2, STAMP, STAMP) for i, a in enumerate(accounts)])
    conn.executemany(
        'INSERT INTO "Contract" ("Id", "IsDeleted", "AccountId", "OwnerId", "EndDate", '
        '"Status") VALUES (?, 0, ?, ?, ?, ?)',
        [(make_id("800", i + 1), a, users[i % 50], "2025-01-31", "Activated")
         for i, a in enumerate(accounts)])
    conn.commit()
    return conn


def main() -> None:
    """Print rows/s for each query."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    conn = build(rows)
    engine = QueryEngine(default_schema())
    for label, soql in QUERIES.items():
        started = time.perf_counter()
        prepared = engine.prepare(soql, include_deleted=False, now=NOW, api_version="59.0")
        count = sum(1 for _ in prepared.records(conn))
        elapsed = time.perf_counter() - started
        print(f"{label:32} {count:>8} rows  {count / elapsed:>10,.0f} rows/s")


if __name__ == "__main__":
    main()
