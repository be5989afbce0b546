"""A chunked backfill on the PostgreSQL job queue, on 1, 2 and 4 workers.

    python bench/bench_scaleout.py [--contracts N] [--workers 1,2,4] [--latency-ms 150]
                                   [--chunk-accounts A] [--workdir DIR]

For each worker count: a local org seeded identically (same seed, same day) and made
to answer every API call ``--latency-ms`` late (a realistic Salesforce round trip), a
fresh PostgreSQL database (``SFRENEW_TEST_PG_URL``, default the local server), one
``sfrenew queue backfill`` and N ``sfrenew worker`` processes (concurrency 1 each, the
org's ``queue.concurrency`` = N). Prints the wall time from queueing to the last chunk
done, the API calls of every run of the backfill (its pull and its chunks), the
renewals created, and whether every org ends in the same state as the first.
The calls must not change with the worker count; the time should fall as workers are
added, since the work waits on the org.
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sfrenew.clock import utc_now
from sfrenew.localorg.faults import FaultConfig
from sfrenew.store import open_store
from sfrenew.store.queue import open_queue
from tests.integration.ops_support import Process, run_sfrenew, seeded_org
from tests.integration.queue_support import fresh_database, wait_until, write_queue_config
from tests.integration.test_backfill import created, org_state


def _calls(url: str) -> dict[str, int]:
    """API calls of every run in the store (the backfill's pull and chunks), by kind."""
    totals: dict[str, int] = {}
    with open_store(url) as store:
        for run in store.list_runs(100_000):
            for kind, n in run.stats.api_calls.items():
                totals[kind] = totals.get(kind, 0) + n
    return dict(sorted(totals.items()))


def one(work: Path, *, contracts: int, workers: int, latency_ms: float,
        chunk_accounts: int, window: list[str]) -> dict[str, Any]:
    """Seed, queue, run with ``workers`` processes; the figures."""
    with seeded_org(work / "org", contracts=contracts,
                    faults=FaultConfig(latency_ms=latency_ms)) as org, \
            fresh_database() as url:
        config = write_queue_config(work / "conf", org, url=url, chunk_accounts=chunk_accounts,
                                    concurrency=workers)
        (work / "conf" / "jobs").mkdir(exist_ok=True)
        args = ["--config", str(config)]
        started = time.perf_counter()
        queued = run_sfrenew(["queue", "backfill", *args, *window, "--json"], cwd=work)
        if queued.returncode != 0:
            raise SystemExit(queued.stderr)
        backfill_id = json.loads(queued.stdout)["backfill_id"]
        processes = [Process(["worker", *args], cwd=work) for _ in range(workers)]
        try:
            with open_queue(url) as queue:
                done = wait_until(
                    lambda: b if (b := queue.get_backfill(backfill_id)) is not None
                    and b.chunks_total is not None and b.chunks_done == b.chunks_total
                    else None, timeout=6 * 3600, what="the backfill", every=0.5)
            wall = time.perf_counter() - started
            for process in processes:
                process.signal(signal.SIGTERM)
            for process in processes:
                process.finish(timeout=120)
        finally:
            for process in processes:
                process.kill()
        calls = _calls(url)
        return {"workers": workers, "wall_s": round(wall, 1), "chunks": done.chunks_total,
                "api_calls": sum(n for k, n in calls.items() if k != "auth"),
                "by_kind": calls, "created": created(org), "state": org_state(org)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--chunk-accounts", type=int, default=None,
                        help="accounts per chunk (default: about 16 chunks)")
    parser.add_argument("--days", type=int, default=400, help="window: today .. today+DAYS")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    today = utc_now().date()
    window = ["--from", today.isoformat(), "--to", (today + timedelta(days=args.days)).isoformat()]
    # The seeded book has about one account for every two contracts.
    chunk_accounts = args.chunk_accounts or max(args.contracts // 2 // 16, 1)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
        root = args.workdir or Path(tmp)
        for count in (int(n) for n in args.workers.split(",")):
            result = one(root / f"w{count}", contracts=args.contracts, workers=count,
                         latency_ms=args.latency_ms, chunk_accounts=chunk_accounts,
                         window=window)
            results.append(result)
            print(f"{count} worker(s): {result['wall_s']:.1f}s wall, {result['chunks']} chunks, "
                  f"{result['api_calls']:,} API calls {result['by_kind']}, "
                  f"{result['created']:,} renewals created", flush=True)
    same = all(r["state"] == results[0]["state"] for r in results[1:])
    print(f"every org ends in the same state: {same}")
    base = results[0]["wall_s"]
    for r in results:
        print(f"  {r['workers']} worker(s): speed-up x{base / r['wall_s']:.2f}")


if __name__ == "__main__":
    main()
