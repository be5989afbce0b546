"""API calls the gateway spends to read N rows and write M rows, on both paths.

    python bench/bench_gateway.py [--read N] [--write M] [--data-dir DIR]

Starts a local org in a temporary data dir (or DIR), upserts M renewal
Opportunities by their ``Sfrenew_Key__c`` and reads N Opportunities back, once
through REST (sObject Collections, query pages) and once through Bulk API 2.0, and
prints the calls each used next to the minimum: ``⌈M/200⌉`` Collections calls and
``⌈N/2000⌉`` query pages for REST, a constant per job for Bulk (create, upload,
close, one results file; plus status polls). The read overhead (one ``COUNT()`` to
choose the path, one describe to type the values) is shown separately; a run that
knows the volume from its mirror passes ``expected_rows`` and skips the ``COUNT()``.

When the local org does not serve Bulk API 2.0 yet, its rows say so instead of a figure.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sfrenew.localorg.app import LocalOrg
from sfrenew.salesforce import (
    ConfigurationError,
    Gateway,
    RetryPolicy,
    SalesforceConfig,
    Thresholds,
    connect,
)

FIELDS = ["Id", "Name", "StageName", "CloseDate", "Amount", "Probability", "IsClosed",
          "Sfrenew_Key__c"]
BULK_JOB_MINIMUM = 4  # ingest: create, upload, close, results; query: create, results (+ polls)


def renewals(start: int, count: int, tag: str) -> list[dict[str, Any]]:
    """Renewal opportunities keyed by ``Sfrenew_Key__c``, as the apply step writes them."""
    base = date(2026, 3, 1)
    return [{"Sfrenew_Key__c": f"bench-{tag}-{i}", "Name": f"Renewal {i}",
             "StageName": "Prospecting", "CloseDate": base + timedelta(days=i % 120),
             "Amount": Decimal(1200 + i)} for i in range(start, start + count)]


def measure(gateway: Gateway, action: Callable[[], int]) -> tuple[dict[str, int], float, int]:
    """Calls by kind spent by ``action``, its duration, and the rows it handled."""
    before = gateway.calls.as_dict()
    started = time.perf_counter()
    rows = action()
    elapsed = time.perf_counter() - started
    after = gateway.calls.as_dict()
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    return spent, elapsed, rows


def report(label: str, spent: dict[str, int], elapsed: float, *, minimum: int,
           overhead: int = 0) -> None:
    """One line: calls used against the minimum (overhead and polls shown apart)."""
    total = sum(v for k, v in spent.items() if k != "auth")
    polls = spent.get("bulk_poll", 0)
    core = total - overhead - polls
    ratio = f"{100 * (core - minimum) / minimum:+.0f}%" if minimum else "n/a"
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(spent.items()))
    print(f"{label:<28} calls={total:<5} minimum={minimum:<5} above minimum={ratio:<6} "
          f"(+{overhead} path choice/describe, +{polls} polls)  {elapsed:6.2f}s  [{kinds}]")


def run(read_rows: int, write_rows: int, data_dir: Path) -> None:
    """Seed, then measure both paths for writes and reads."""
    with LocalOrg(data_dir) as org:
        config = SalesforceConfig(target="local", local_data_dir=data_dir, bulk_poll_seconds=0.2)
        gateway = connect(config, retry=RetryPolicy.no_wait())
        print(f"local org {org.instance_url}; read N={read_rows:,}, write M={write_rows:,}")

        rest = Thresholds(read_bulk_rows=10**12, write_bulk_rows=10**12)
        bulk = Thresholds(read_bulk_rows=0, write_bulk_rows=1)
        for path, thresholds, minimum in (
            ("REST", rest, math.ceil(write_rows / 200)),
            ("Bulk 2.0", bulk, BULK_JOB_MINIMUM),
        ):
            gateway.thresholds = thresholds
            rows = renewals(0, write_rows, path)

            def write(rows: list[dict[str, Any]] = rows) -> int:
                return len(gateway.write("upsert", "Opportunity", rows,
                                         external_id_field="Sfrenew_Key__c"))

            try:
                spent, elapsed, _ = measure(gateway, write)
            except ConfigurationError as exc:
                print(f"{'write ' + path:<28} not measured: the local org refused it ({exc})")
                continue
            report(f"write {write_rows:,} ({path})", spent, elapsed, minimum=minimum)

        have = gateway.count("Opportunity")
        if have < read_rows:
            gateway.thresholds = rest
            gateway.write("upsert", "Opportunity", renewals(0, read_rows - have, "fill"),
                          external_id_field="Sfrenew_Key__c")
        # Read every Opportunity; the minimum is for the rows read.
        for path, thresholds in (("REST", rest), ("Bulk 2.0", bulk)):
            gateway.thresholds = thresholds
            try:
                spent, elapsed, got = measure(
                    gateway, lambda: sum(1 for _ in gateway.read("Opportunity", FIELDS)))
            except ConfigurationError as exc:
                print(f"{'read ' + path:<28} not measured: the local org refused it ({exc})")
                continue
            # Path choice: the COUNT() (a query page) and the describe that types values.
            overhead = spent.get("describe", 0) + 1
            minimum = math.ceil(got / 2000) if path == "REST" else 2
            report(f"read {got:,} ({path})", spent, elapsed, minimum=minimum,
                   overhead=overhead)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--read", type=int, default=20_000, help="rows to read (N)")
    parser.add_argument("--write", type=int, default=5_000, help="rows to write (M)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="local org data dir (default: a fresh temporary one)")
    args = parser.parse_args()
    if args.data_dir is not None:
        run(args.read, args.write, args.data_dir)
        return
    with tempfile.TemporaryDirectory(prefix="sfrenew-bench-") as tmp:
        run(args.read, args.write, Path(tmp))


if __name__ == "__main__":
    main()
