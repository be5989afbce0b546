"""State store throughput: mirror upserts and account-by-account streaming.

Usage::

    python -m bench.bench_store [--rows 300000] [--batch 2000] [--pg-url URL] [--no-pg]

Prints rows/s for upserting ``--rows`` Contract rows (realistic field payloads,
10 per account) and for streaming them back with ``iter_groups``, on a temporary
SQLite file and on a temporary PostgreSQL database (created and dropped here).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import create_engine, make_url, text

from sfrenew.store import MirrorRow, open_store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def contract_rows(n: int) -> Iterator[MirrorRow]:
    start = date(2026, 1, 1)
    for i in range(n):
        account = f"001{i // 10:015d}"
        yield MirrorRow(
            sf_id=f"800{i:015d}", group_key=account,
            system_modstamp=f"2026-11-24T07:{i % 60:02d}:00.000+0000",
            data={"Id": f"800{i:015d}", "AccountId": account, "Status": "Activated",
                  "StartDate": start + timedelta(days=i % 365),
                  "EndDate": start + timedelta(days=365 + i % 365),
                  "ContractTerm": 12, "Amount": Decimal(i % 100_000) / 100,
                  "Description": "Annual subscription, auto-renew, net 30"})


def measure(url: str, rows: int, batch: int) -> tuple[float, float]:
    with open_store(url) as store:
        t0 = time.perf_counter()
        store.upsert_mirror("Contract", contract_rows(rows), batch=batch)
        upsert = rows / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        seen = sum(len(g) for g in store.iter_groups(["Contract"], batch=batch))
        stream = seen / (time.perf_counter() - t0)
        assert seen == rows, (seen, rows)
    return upsert, stream


def with_pg_database(pg_url: str, body: Callable[[str], None]) -> None:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"sfrenew_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            body(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    print(f"mirror: {args.rows:,} Contract rows, 10 per account, batch {args.batch:,}")
    print(f"{'backend':<12}{'upsert rows/s':>16}{'stream rows/s':>16}")

    def report(backend: str, url: str) -> None:
        upsert, stream = measure(url, args.rows, args.batch)
        print(f"{backend:<12}{upsert:>16,.0f}{stream:>16,.0f}")

    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", f"sqlite:///{tmp}/bench.sqlite3")
    if not args.no_pg:
        with_pg_database(args.pg_url, lambda url: report("postgresql", url))


if __name__ == "__main__":
    main()
