"""Server peak memory against query result size: REST paging and Bulk query jobs.

    python -m bench.bench_query_rss [--small 10000] [--large 1000000] [--data-dir D]

For each of REST (``query_all_iter``, 2,000-row pages) and Bulk (a query job read
with ``maxRecords=50000``), and each result size, a fresh ``sfrenew localorg
serve`` subprocess answers one query of that size; its peak resident set (VmHWM in
``/proc/<pid>/status``) is read right after start and after the query. The server
streams both kinds of result, so the peak should not grow with the result size.
The org holds ``--large`` Accounts (inserted through the store's fast path unless
``--data-dir`` already has them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.bench_bulk import QUERY, fill_accounts, server


def rest_rows(data_dir: Path, rows: int, soql: str) -> tuple[float, float, float, int]:
    """(start MiB, peak MiB, seconds, rows) for a REST query of ``rows`` rows."""
    with server(data_dir) as org:
        start = org.peak_rss_mb()
        sf = org.client()
        began = time.perf_counter()
        count = sum(1 for _ in sf.query_all_iter(f"{soql} LIMIT {rows}"))
        return start, org.peak_rss_mb(), time.perf_counter() - began, count


def bulk_rows(data_dir: Path, rows: int, soql: str) -> tuple[float, float, float, int]:
    """(start MiB, peak MiB, seconds, rows) for a Bulk query job of ``rows`` rows."""
    with server(data_dir) as org:
        start = org.peak_rss_mb()
        sf = org.client()
        began = time.perf_counter()
        count = 0
        for page in sf.bulk2.Account.query(f"{soql} LIMIT {rows}", max_records=50_000,
                                           wait=0.2):
            count += page.count("\n") - 1
        return start, org.peak_rss_mb(), time.perf_counter() - began, count


def main() -> None:
    """Measure and print one line per (API, size)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="reuse an org that already holds --large records")
    parser.add_argument("--soql", default=QUERY, help="the query, without LIMIT")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "org"
            fill_accounts(data_dir, args.large)
        for name, run in (("REST", rest_rows), ("Bulk", bulk_rows)):
            for size in (args.small, args.large):
                start, peak, seconds, count = run(data_dir, size, args.soql)
                print(f"{name} query of {count:>9,} rows: server peak RSS {peak:6.0f} MiB "
                      f"(after start {start:.0f} MiB, +{peak - start:.0f}); "
                      f"{count / seconds:,.0f} rows/s")


if __name__ == "__main__":
    main()
