"""Bulk API 2.0 against the local org: ingest throughput and query throughput.

    python -m bench.bench_bulk [--ingest-rows 100000] [--query-rows 1000000] [--data-dir D]

The org runs as ``sfrenew localorg serve`` in a subprocess (so client and server do
not share a GIL); the client is the unmodified simple-salesforce ``bulk2``.
Prints, for an insert of ``--ingest-rows`` Accounts: rows/s and the API calls it
used (by Bulk endpoint); for a query job over ``--query-rows`` Accounts (inserted
beforehand through the store's fast path): rows/s, result pages and calls, and how
long ``GET /limits`` takes while the job runs. Server memory is measured by
``bench_query_rss.py`` (the stats calls here count records, which costs memory on a
large org and would blur the figure).
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from sfrenew.localorg.ids import make_id
from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.store import OrgStore

API_VERSION = "59.0"
INDUSTRIES = ("Banking", "Energy", "Retail", "Technology", "Healthcare")
QUERY = "SELECT Id, Name, Industry, NumberOfEmployees, AnnualRevenue, CreatedDate FROM Account"


class ServerProcess:
    """``sfrenew localorg serve`` in a subprocess, with clients for it."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sfrenew", "localorg", "serve", "--data-dir", str(data_dir),
             *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the local org did not start")
        self.info: dict[str, Any] = json.loads(line)
        self.http = requests.Session()
        self.http.verify = self.info["ca_file"]
        self.http.trust_env = False

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def client(self) -> Any:
        """simple-salesforce on a session from the client credentials flow."""
        token = self.http.post(f"{self.info['instance_url']}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": self.info["client_id"],
            "client_secret": self.info["client_secret"]}).json()["access_token"]
        return Salesforce(instance_url=self.info["instance_url"], session_id=token,
                          session=self.http, version=API_VERSION)

    def admin(self, method: str, path: str) -> dict[str, Any]:
        """Call ``/_localorg/{path}`` with the connected app's credentials."""
        response = self.http.request(method, f"{self.info['instance_url']}/_localorg/{path}",
                                     auth=(self.info["client_id"], self.info["client_secret"]))
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def peak_rss_mb(self) -> float:
        """The server's VmHWM (peak resident set) in MiB, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def server(data_dir: Path, *extra: str) -> Iterator[ServerProcess]:
    """A running server for the block."""
    proc = ServerProcess(data_dir, *extra)
    try:
        yield proc
    finally:
        proc.stop()


def fill_accounts(data_dir: Path, rows: int, *, batch: int = 20_000) -> None:
    """Insert ``rows`` Accounts through the store's fast path (before the server starts)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = OrgStore(data_dir / "org.sqlite3", default_schema(), clock=lambda: datetime.now(UTC))
    owner = make_id("005", 900_000)
    try:
        for start in range(0, rows, batch):
            store.insert_many("Account", ({
                "Name": f"Bench Account {n:07d}", "Industry": INDUSTRIES[n % 5],
                "NumberOfEmployees": n % 5000, "AnnualRevenue": float(n % 100_000) * 10.0,
            } for n in range(start, min(start + batch, rows))), user_id=owner)
    finally:
        store.close()


def ingest_file(path: Path, rows: int) -> None:
    """A CSV of ``rows`` new Accounts."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Name", "Industry", "NumberOfEmployees", "AnnualRevenue"])
        for n in range(rows):
            writer.writerow([f"Ingested {n:07d}", INDUSTRIES[n % 5], n % 5000, n % 100_000])


def bench_ingest(org: ServerProcess, rows: int, workdir: Path) -> None:
    """Insert ``rows`` Accounts with one Bulk job; print rows/s and calls."""
    path = workdir / "ingest.csv"
    ingest_file(path, rows)
    sf = org.client()
    before = org.admin("POST", "stats/reset")["api_usage"]["used"]
    started = time.perf_counter()
    results = sf.bulk2.Account.insert(csv_file=str(path), wait=0.2)
    elapsed = time.perf_counter() - started
    stats = org.admin("GET", "stats")
    processed = sum(r["numberRecordsProcessed"] for r in results)
    failed = sum(r["numberRecordsFailed"] for r in results)
    print(f"bulk ingest: {processed:,} rows ({failed} failed) in {elapsed:.1f} s = "
          f"{processed / elapsed:,.0f} rows/s; {len(results)} job(s); "
          f"API calls used {stats['api_usage']['used'] - before} "
          f"(by endpoint {stats['bulk']})")


class Pinger:
    """Times ``GET /limits`` every half second while a benchmark runs (responsiveness)."""

    def __init__(self, org: ServerProcess) -> None:
        self._org = org
        self._stop = threading.Event()
        self.millis: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Pinger:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        sf = self._org.client()
        while not self._stop.wait(0.5):
            started = time.perf_counter()
            sf.limits()
            self.millis.append((time.perf_counter() - started) * 1000)

    def summary(self) -> str:
        """Median and worst latency of the pings."""
        if not self.millis:
            return "no pings"
        return (f"GET /limits during the job: median {statistics.median(self.millis):.0f} ms, "
                f"max {max(self.millis):.0f} ms over {len(self.millis)} calls")


def bench_query(org: ServerProcess, rows: int, *, max_records: int, soql: str = QUERY) -> None:
    """Run a Bulk query job over the accounts; print rows/s, pages and calls."""
    sf = org.client()
    before = org.admin("POST", "stats/reset")["api_usage"]["used"]
    started = time.perf_counter()
    pages = 0
    records = 0
    with Pinger(org) as pinger:
        for page in sf.bulk2.Account.query(f"{soql} LIMIT {rows}", max_records=max_records,
                                           wait=0.2):
            pages += 1
            records += page.count("\n") - 1  # no value of this data has a line break
    elapsed = time.perf_counter() - started
    stats = org.admin("GET", "stats")
    limits_calls = len(pinger.millis)  # the pinger's calls are counted too (logins are not)
    print(f"bulk query: {records:,} rows in {elapsed:.1f} s = {records / elapsed:,.0f} rows/s; "
          f"{pages} pages of up to {max_records:,}; API calls used "
          f"{stats['api_usage']['used'] - before - limits_calls} "
          f"(by endpoint {stats['bulk']}); {pinger.summary()}")


def main() -> None:
    """Parse arguments and run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingest-rows", type=int, default=100_000)
    parser.add_argument("--query-rows", type=int, default=1_000_000)
    parser.add_argument("--max-records", type=int, default=50_000)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="reuse an org that already holds --query-rows records")
    parser.add_argument("--soql", default=QUERY,
                        help="the query job's SOQL, without LIMIT (default: Accounts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        workdir = Path(tmp)
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = workdir / "org"
            started = time.perf_counter()
            fill_accounts(data_dir, args.query_rows)
            print(f"prepared {args.query_rows:,} accounts in "
                  f"{time.perf_counter() - started:.1f} s (store fast path)")
        with server(data_dir) as org:
            bench_query(org, args.query_rows, max_records=args.max_records, soql=args.soql)
            bench_ingest(org, args.ingest_rows, workdir)


if __name__ == "__main__":
    main()
