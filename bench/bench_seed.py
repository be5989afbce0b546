"""Seeding throughput: write a book of N contracts into a fresh local-org store.

    python bench/bench_seed.py [--contracts N] [--seed S] [--batch-accounts B] [--db PATH]

Prints contracts per second, rows per second per object (the time of an object
includes generating its rows: they are streamed into the store's fast path) and the
process's peak RSS, which must not grow with N (rows are generated and written in
batches of accounts, never held). The database is a temporary file unless --db.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.seed import DEFAULT_BATCH_ACCOUNTS, seed_book
from sfrenew.localorg.store import OrgStore

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class TimedStore:
    """Forwards to the store and adds up seconds and rows per object."""

    def __init__(self, store: OrgStore) -> None:
        self.store = store
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)

    def insert_many(self, sobject: str, rows: Iterable[dict[str, Any]], *,
                    user_id: str) -> list[str]:
        started = time.perf_counter()
        ids = self.store.insert_many(sobject, rows, user_id=user_id)
        self.seconds[sobject] += time.perf_counter() - started
        self.rows[sobject] += len(ids)
        return ids

    def create_system_user(self, values: dict[str, Any]) -> str:
        return self.store.create_system_user(values)

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *,
               user_id: str) -> None:
        started = time.perf_counter()
        self.store.update(sobject, record_id, values, user_id=user_id)
        self.seconds[f"{sobject} (update)"] += time.perf_counter() - started
        self.rows[f"{sobject} (update)"] += 1

    def transaction(self) -> AbstractContextManager[None]:
        return self.store.transaction()


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(*, contracts: int, seed: int, batch_accounts: int, db: Path) -> None:
    rss_before = _peak_rss_mib()
    store = OrgStore(db, default_schema(), clock=lambda: NOW)
    timed = TimedStore(store)
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = seed_book(timed, contracts=contracts, seed=seed, today=TODAY,
                        batch_accounts=batch_accounts)
    elapsed = time.perf_counter() - started
    # CPU time too: on a shared machine wall time says more about the neighbours.
    cpu = time.process_time() - cpu_started
    store.close()
    print(f"seeded {summary.contracts:,} contracts, {summary.total:,} records "
          f"in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
          f"(seed {seed}, batches of {batch_accounts:,} accounts)")
    print(f"  contracts/s: {summary.contracts / elapsed:,.0f} "
          f"({summary.contracts / cpu:,.0f} per CPU second)")
    print(f"  rows/s (all objects): {summary.total / elapsed:,.0f}")
    print(f"  {'object':<24}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for sobject in sorted(timed.rows, key=lambda o: -timed.rows[o]):
        n, secs = timed.rows[sobject], timed.seconds[sobject]
        rate = n / secs if secs else float("inf")
        print(f"  {sobject:<24}{n:>12,}{secs:>10.2f}{rate:>12,.0f}")
    print("  dirty records: " + ", ".join(f"{k} {len(v)}" for k, v in summary.dirty.items()))
    print(f"  database: {db.stat().st_size / 2**20:,.0f} MiB")
    print(f"  peak RSS: {_peak_rss_mib():,.0f} MiB (before seeding {rss_before:,.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-accounts", type=int, default=DEFAULT_BATCH_ACCOUNTS)
    parser.add_argument("--db", type=Path, default=None,
                        help="SQLite file to write (default: a temporary file)")
    args = parser.parse_args()
    if args.db is not None:
        run(contracts=args.contracts, seed=args.seed, batch_accounts=args.batch_accounts,
            db=args.db)
        return
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as tmp:
        run(contracts=args.contracts, seed=args.seed, batch_accounts=args.batch_accounts,
            db=Path(tmp) / "org.sqlite")


if __name__ == "__main__":
    main()
