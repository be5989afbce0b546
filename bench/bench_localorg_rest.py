"""The local org's REST server: query paging throughput, server memory, Collections latency.

    python bench/bench_localorg_rest.py [--rows N] [--small-rows M] [--upserts K]

Runs the server as its own process (``sfrenew localorg serve``) so its peak RSS can be
read from /proc without the client's memory in it, then prints:

* rows per second and pages for ``SELECT ... FROM Account`` over N rows, paged at
  2,000 rows over HTTPS with keep-alive (the client only counts rows);
* the server's peak RSS after paging M rows and after paging N rows (it must not grow
  with the size of the result: pages are streamed from a cursor);
* the median and p90 milliseconds of a 200-record Collections upsert (half updates,
  half creates) over K calls, and the API calls each step used.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import format_soql


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _prepare(data_dir: Path, *, rows: int, small_rows: int) -> None:
    with LocalOrg(data_dir) as org:
        user = org.integration_user_id
        for tag, count in (("small", small_rows), ("big", rows)):
            done = 0
            while done < count:
                batch = min(50_000, count - done)
                org.store.insert_many("Account", (
                    {"Name": f"Bench {tag} {done + i:07d}", "AccountNumber": tag,
                     "Industry": "Media", "BillingCity": "Lyon", "AnnualRevenue": 1000.0 * i}
                    for i in range(batch)), user_id=user)
                done += batch


def _page_all(http: requests.Session, info: dict[str, Any], soql: str) -> tuple[int, int, float]:
    base = info["instance_url"]
    started = time.perf_counter()
    page = http.get(f"{base}/services/data/v{info['api_version']}/query", params={"q": soql},
                    timeout=120).json()
    rows, pages = len(page["records"]), 1
    while not page["done"]:
        page = http.get(base + page["nextRecordsUrl"], timeout=120).json()
        rows += len(page["records"])
        pages += 1
    return rows, pages, time.perf_counter() - started


def _upserts(http: requests.Session, info: dict[str, Any], count: int) -> list[float]:
    url = (f"{info['instance_url']}/services/data/v{info['api_version']}"
           "/composite/sobjects/Opportunity/Sfrenew_Key__c")
    timings = []
    for call in range(count):
        # Half the keys exist from the previous call (updates), half are new (creates).
        records = [{"attributes": {"type": "Opportunity"},
                    "Sfrenew_Key__c": f"bench-{call * 100 + i}", "Name": f"Renewal {i}",
                    "StageName": "Prospecting", "CloseDate": "2027-06-30", "Amount": 1200.0}
                   for i in range(200)]
        started = time.perf_counter()
        response = http.patch(url, json={"allOrNone": False, "records": records}, timeout=60)
        timings.append((time.perf_counter() - started) * 1000)
        results = response.json()
        if not all(r["success"] for r in results):
            raise SystemExit(f"upsert failed: {results[:2]}")
    return timings


def main() -> None:
    """Run the benchmark and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--upserts", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-localorg-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        _prepare(data_dir, rows=args.rows, small_rows=args.small_rows)
        print(f"inserted {args.rows + args.small_rows:,} accounts (fast path) in "
              f"{time.perf_counter() - started:.1f}s")
        server = subprocess.Popen(
            [sys.executable, "-m", "sfrenew", "localorg", "serve", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            with requests.Session() as http:
                http.verify = info["ca_file"]
                http.trust_env = False
                token = http.post(f"{info['instance_url']}/services/oauth2/token", data={
                    "grant_type": "client_credentials", "client_id": info["client_id"],
                    "client_secret": info["client_secret"]}, timeout=30).json()["access_token"]
                http.headers["Authorization"] = f"Bearer {token}"
                print(f"server idle peak RSS: {_peak_rss_mb(server.pid):.1f} MB")
                fields = "Id, Name, AccountNumber, Industry, BillingCity, AnnualRevenue, " \
                         "CreatedDate, SystemModstamp"
                for tag in ("small", "big"):
                    soql = format_soql("SELECT {:literal} FROM Account WHERE AccountNumber = {}",
                                       fields, tag)
                    rows, pages, seconds = _page_all(http, info, soql)
                    print(f"query {rows:>9,} rows: {pages:>4} pages, {seconds:6.2f}s, "
                          f"{rows / seconds:>9,.0f} rows/s; server peak RSS "
                          f"{_peak_rss_mb(server.pid):.1f} MB")
                timings = _upserts(http, info, args.upserts)
                quantiles = statistics.quantiles(timings, n=10)
                print(f"Collections upsert of 200 records x{len(timings)}: median "
                      f"{statistics.median(timings):.1f} ms, p90 {quantiles[-1]:.1f} ms")
                stats = http.get(f"{info['instance_url']}/_localorg/stats",
                                 auth=(info["client_id"], info["client_secret"]),
                                 timeout=30).json()
                print(f"API calls used: {stats['api_usage']['used']:,} "
                      f"({json.dumps(stats['calls'], sort_keys=True)})")
        finally:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            if server.stdout is not None:
                server.stdout.close()


if __name__ == "__main__":
    main()
