"""Local org store throughput: the seed fast path and validated single-record writes.

    python bench/bench_localorg_store.py [--rows N] [--rounds R]

Prints rows/s of ``OrgStore.insert_many`` for realistic OpportunityLineItem rows (the
widest object the seed writes; rows are built before timing), and the median time of
200 validated upserts by ``Sfrenew_Key__c`` inside one transaction, which is what one
sObject Collections upsert call costs the store (HTTP and JSON excluded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.store import OrgStore

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _line_rows(n: int, opportunity: str) -> list[dict[str, Any]]:
    return [{
        "OpportunityId": opportunity, "Quantity": float(i % 50 + 1), "UnitPrice": 1234.5,
        "ServiceDate": "2026-01-01", "Description": "Seats", "Name": "Seats",
        "ProductCode": "SEAT", "ListPrice": 1300.0, "CurrencyIsoCode": "USD",
        "Sfrenew_Key__c": f"line:{i}", "CreatedDate": "2025-01-01T00:00:00.000+0000",
        "LastModifiedDate": "2025-01-01T00:00:00.000+0000",
        "SystemModstamp": "2025-01-01T00:00:00.000+0000",
    } for i in range(n)]


def main() -> None:
    """Run both measurements and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = OrgStore(Path(tmp) / "org.db", default_schema(), clock=lambda: NOW)
        user = store.create_system_user({"Username": "bench@example.com", "LastName": "B",
                                         "Email": "bench@example.com"})
        accounts = store.insert_many("Account", [{"Name": f"A{i}"} for i in range(200)],
                                     user_id=user)
        opportunity = store.create("Opportunity", {
            "Name": "R", "StageName": "Prospecting", "CloseDate": "2026-12-31",
            "AccountId": accounts[0]}, user_id=user)
        rows = _line_rows(args.rows, opportunity)
        started = time.perf_counter()
        store.insert_many("OpportunityLineItem", rows, user_id=user)
        elapsed = time.perf_counter() - started
        print(f"insert_many OpportunityLineItem: {args.rows / elapsed:,.0f} rows/s "
              f"({args.rows:,} rows)")
        timings = []
        for round_number in range(args.rounds):
            started = time.perf_counter()
            with store.transaction():
                for i, account in enumerate(accounts):
                    store.upsert("Opportunity", "Sfrenew_Key__c", f"renewal:{i}", {
                        "Name": f"Renewal {i}", "StageName": "Prospecting",
                        "CloseDate": "2026-06-30", "AccountId": account, "Type": "Renewal",
                        "Amount": 1000 + round_number,
                        "Sfrenew_Explanation__c": "Uplift 5% from the contract. " * 20,
                    }, user_id=user)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"200 validated upserts in one transaction: median {statistics.median(timings):.1f}"
              f" ms (first {timings[0]:.1f} ms, {args.rounds} rounds)")
        store.close()


if __name__ == "__main__":
    main()
