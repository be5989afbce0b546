"""A chunked backfill on the PostgreSQL job queue, on 1, 2 and 4 workers.

    PYTHONPATH=$PWD python bench/bench_scaleout.py [--contracts N] [--workers 1,2,4]
        [--latency-ms 150] [--chunks 32 | --chunk-accounts A] [--workdir DIR]

The org is seeded once (kept in ``--workdir`` for the next invocation) and copied for
each worker count; every copy is made to answer every API call ``--latency-ms`` late
(a realistic Salesforce round trip). For each worker count: a fresh PostgreSQL
database (``SFRENEW_TEST_PG_URL``, default the local server), one ``sfrenew queue
backfill`` and N ``sfrenew worker`` processes (concurrency 1 each, the org's
``queue.concurrency`` = N). Prints the wall time from queueing to the last chunk
done, the API calls of every run of the backfill (its pull and its chunks), the
renewals created, the CPU seconds of the org (it serves from this process) and of the
sfrenew processes, the load average before and after, and whether every org ends in
the same state as the first. On a machine with few cores the org, PostgreSQL and the
workers share them: read the CPU seconds beside the wall time.
The calls must not change with the worker count; the time should fall as workers are
added, since the work waits on the org.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

import sfrenew
from sfrenew.clock import utc_now
from sfrenew.localorg.faults import FaultConfig
from sfrenew.store import open_store
from sfrenew.store.queue import open_queue
from tests.integration.ops_support import Process, run_sfrenew, seeded_org
from tests.integration.queue_support import fresh_database, wait_until, write_queue_config
from tests.integration.test_backfill import created, org_state


def _runs(url: str) -> tuple[dict[str, int], float, float]:
    """API calls of every run in the store (the backfill's pull and chunks), by kind;
    the pull's seconds (it runs alone) and the chunks' (first start to last end)."""
    totals: dict[str, int] = {}
    with open_store(url) as store:
        runs = store.list_runs(100_000)
    for run in runs:
        for kind, n in run.stats.api_calls.items():
            totals[kind] = totals.get(kind, 0) + n
    pulls = [r for r in runs if r.job.endswith("-pull")]
    chunks = [r for r in runs if not r.job.endswith("-pull")]
    pull_s = sum((r.finished_at - r.started_at).total_seconds()
                 for r in pulls if r.finished_at is not None)
    ends = [r.finished_at for r in chunks if r.finished_at is not None]
    chunks_s = (max(ends) - min(r.started_at for r in chunks)).total_seconds() if ends else 0.0
    return dict(sorted(totals.items())), pull_s, chunks_s


def _this_code_in_subprocesses() -> str:
    """Make the ``sfrenew`` subprocesses import the sfrenew this bench imports (a
    relative PYTHONPATH would resolve against their working directory, and an editable
    install may point at another checkout). The path, for the report."""
    root = str(Path(sfrenew.__file__).resolve().parents[1])
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != "."]
    os.environ["PYTHONPATH"] = os.pathsep.join([root, *rest])
    return root


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class DatabaseCpu:
    """CPU seconds of the PostgreSQL backends serving one database, sampled from /proc
    while the backfill runs (a backend's last sample counts; one that lives less than
    a sampling interval is missed). None when the server is not on this machine."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_size=1)
        self.seen: dict[int, float] = {}
        self.readable = True
        self.ticks = os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        with self.engine.connect() as conn:
            pids = list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")))
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue  # ended since
            except OSError:
                self.readable = False
                return
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / self.ticks  # utime, stime

    def total(self) -> float | None:
        self.engine.dispose()
        return round(sum(self.seen.values()), 1) if self.readable else None


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def seed_once(root: Path, *, contracts: int) -> tuple[Path, int]:
    """The seeded org every run starts from (a copy each: seeding 20,000 contracts
    once, not per worker count; kept in ``--workdir`` for the next invocation), and
    its account count."""
    template = root / "seeded-org"
    started = time.perf_counter()
    with seeded_org(template, contracts=contracts) as org:
        counts = org.store.counts()
    if counts.get("Contract") != contracts:
        raise SystemExit(f"{template} holds {counts.get('Contract')} contracts, not "
                         f"{contracts}: use another --workdir")
    print(f"seeded org: {counts.get('Contract'):,} contracts, {counts.get('Account'):,} "
          f"accounts ({time.perf_counter() - started:.0f}s)", flush=True)
    return template, counts.get("Account", 0)


def one(work: Path, *, template: Path, contracts: int, workers: int, latency_ms: float,
        chunk_accounts: int, window: list[str]) -> dict[str, Any]:
    """Copy the seeded org, queue, run with ``workers`` processes; the figures."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(template, work / "org", ignore=shutil.ignore_patterns("org.lock"))
    with seeded_org(work / "org", contracts=contracts,
                    faults=FaultConfig(latency_ms=latency_ms)) as org, \
            fresh_database() as url:
        config = write_queue_config(work / "conf", org, url=url, chunk_accounts=chunk_accounts,
                                    concurrency=workers)
        (work / "conf" / "jobs").mkdir(exist_ok=True)
        args = ["--config", str(config)]
        load_before = _load()
        org_cpu, workers_cpu = time.process_time(), _children_cpu()
        started = time.perf_counter()
        queued = run_sfrenew(["queue", "backfill", *args, *window, "--json"], cwd=work)
        if queued.returncode != 0:
            raise SystemExit(queued.stderr)
        backfill_id = json.loads(queued.stdout)["backfill_id"]
        processes = [Process(["worker", *args], cwd=work) for _ in range(workers)]
        try:
            database = DatabaseCpu(url)

            def finished() -> Any:
                database.sample()
                b = queue.get_backfill(backfill_id)
                return b if b is not None and b.chunks_total is not None \
                    and b.chunks_done == b.chunks_total else None

            with open_queue(url) as queue:
                done = wait_until(finished, timeout=6 * 3600, what="the backfill", every=0.5)
            wall = time.perf_counter() - started
            org_cpu = time.process_time() - org_cpu  # the org serves from this process
            database_cpu = database.total()
            for process in processes:
                process.signal(signal.SIGTERM)
            for n, process in enumerate(processes):
                process.finish(timeout=120)
                (work / f"worker-{n}.log").write_text(process.output() + "\n",
                                                      encoding="utf-8")
            workers_cpu = _children_cpu() - workers_cpu  # the queueing command's and workers'
        finally:
            for process in processes:
                process.kill()
        calls, pull_s, chunks_s = _runs(url)
        return {"workers": workers, "wall_s": round(wall, 1), "chunks": done.chunks_total,
                "pull_s": round(pull_s, 1), "chunks_s": round(chunks_s, 1),
                "org_cpu_s": round(org_cpu, 1), "workers_cpu_s": round(workers_cpu, 1),
                "database_cpu_s": database_cpu,
                "load_before": load_before, "load_after": _load(),
                "api_calls": sum(n for k, n in calls.items() if k != "auth"),
                "by_kind": calls, "created": created(org), "state": org_state(org)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--chunk-accounts", type=int, default=None,
                        help="accounts per chunk (default: --chunks chunks)")
    parser.add_argument("--chunks", type=int, default=32,
                        help="chunks to split the accounts into (default 32: 8 a worker "
                             "on 4 workers, so none waits long for the last)")
    parser.add_argument("--days", type=int, default=400, help="window: today .. today+DAYS")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    print(f"sfrenew from {_this_code_in_subprocesses()}; load average {_load()}", flush=True)
    today = utc_now().date()
    window = ["--from", today.isoformat(), "--to", (today + timedelta(days=args.days)).isoformat()]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
        root = args.workdir or Path(tmp)
        template, accounts = seed_once(root, contracts=args.contracts)
        chunk_accounts = args.chunk_accounts or max(-(-accounts // args.chunks), 1)
        print(f"{chunk_accounts} accounts a chunk", flush=True)
        for count in (int(n) for n in args.workers.split(",")):
            result = one(root / f"w{count}", template=template, contracts=args.contracts,
                         workers=count,
                         latency_ms=args.latency_ms, chunk_accounts=chunk_accounts,
                         window=window)
            results.append(result)
            print(f"{count} worker(s): {result['wall_s']:.1f}s wall (pull {result['pull_s']}s, "
                  f"then chunks {result['chunks_s']}s), {result['chunks']} chunks, "
                  f"{result['api_calls']:,} API calls {result['by_kind']}, "
                  f"{result['created']:,} renewals created; CPU: org {result['org_cpu_s']}s, "
                  f"sfrenew processes {result['workers_cpu_s']}s, PostgreSQL backends "
                  f"{result['database_cpu_s']}s; load average "
                  f"{result['load_before']} -> {result['load_after']}", flush=True)
    same = all(r["state"] == results[0]["state"] for r in results[1:])
    print(f"every org ends in the same state: {same}")
    base, base_chunks = results[0]["wall_s"], results[0]["chunks_s"]
    for r in results:
        print(f"  {r['workers']} worker(s): speed-up x{base / r['wall_s']:.2f} "
              f"(the chunks x{base_chunks / max(r['chunks_s'], 0.1):.2f})")


if __name__ == "__main__":
    main()
