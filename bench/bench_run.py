"""API calls, wall time and peak RSS of a run, first and with no change, on the local org.

    python bench/bench_run.py [--contracts 10000 100000] [--work DIR] [--keep] [--runs 1|2|3]
                              [--seeded DIR]

Per book size: seeds a local org (``sfrenew localorg seed``), serves it in its own
process (so the run's RSS is the run's alone), then runs the main job three times,
each in a fresh child process: the first run, the run after it (it reads back what
the first one wrote: those records changed since its upper bound) and a no-change
run. Prints, per run, API calls by kind next to the formula minimum of DESIGN.md
(REST ``Σ⌈N_i/2000⌉ + Σ⌈M_j/200⌉`` for N_i rows read and M_j rows written per object;
a Bulk API 2.0 job is a constant number of calls however many rows), wall time (of
each step too), the CPU seconds of the client (its planning processes included) and
of the org, the child's peak RSS (and that of its largest planning process), and
the plan step's own time with the accounts it replayed (planning only what changed,
docs/running.md). The pull overlap is 0 here (a benchmark has no clock skew).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
_CHILD = """
import json, resource, sys, time
from sfrenew.clock import utc_now
from sfrenew.config import load_config
from sfrenew.runner import RunRequest, Step, execute
import structlog, logging
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
config = load_config(sys.argv[1])
import sfrenew.runner._session as session
planned = {}
build_plan = session.build_plan
def timed_plan(**kwargs):
    started = time.monotonic()
    totals = build_plan(**kwargs)
    planned.update(plan_s=time.monotonic() - started, accounts=totals.accounts,
                   replayed=getattr(totals, "replayed", 0),
                   full_pass=getattr(totals, "full_pass", True))
    return totals
session.build_plan = timed_plan
# Peak RSS so far when each step ends (ru_maxrss only grows): the step that raises it
# is the step that holds the most.
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
steps_rss = {"start": peak()}
steps_s = {}
def measured(name, step):
    def wrapped(**kwargs):
        started = time.monotonic()
        try:
            return step(**kwargs)
        finally:
            steps_rss[name] = peak()
            steps_s[name] = steps_s.get(name, 0.0) + time.monotonic() - started
    return wrapped
session.pull = measured("pull", session.pull)
session.build_plan = measured("plan", session.build_plan)
session.apply_plan = measured("apply", session.apply_plan)
t = time.monotonic()
out = execute(config, RunRequest(job="bench", steps=(Step.PULL, Step.PLAN, Step.APPLY,
              Step.REPORT)), clock=utc_now)
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the planning processes
print(json.dumps({"status": out.status, "message": out.message, "stats": out.stats,
                  "api_calls": out.api_calls, "wall_s": time.monotonic() - t, **planned,
                  "steps_rss_mb": steps_rss, "steps_s": steps_s,
                  "cpu_s": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
                  "peak_rss_mb": peak(),
                  # the largest planning process (the run's own RSS leaves them out)
                  "planner_peak_rss_mb": kids.ru_maxrss / 1024}))
"""


def _sfrenew(*args: str) -> list[str]:
    return [sys.executable, "-m", "sfrenew", *args]


def _config(work: Path, *, plan_processes: int | str | None = None) -> Path:
    """The example config on the org in ``work`` (``plan_processes``: None keeps the
    example's ``run.plan_processes``)."""
    document = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    document["state_dir"] = str(work / "state")
    document["mappings"] = str(ROOT / "mappings/standard.yaml")
    document["salesforce"] = {**document.get("salesforce", {}), "target": "local",
                              "local_data_dir": str(work / "org")}
    document["run"] = {**(document.get("run") or {}), "pull_overlap_seconds": 0}
    if plan_processes is not None:
        document["run"]["plan_processes"] = plan_processes
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _serve(org: Path) -> subprocess.Popen[bytes]:
    conn = org / "connection.json"
    conn.unlink(missing_ok=True)
    server = subprocess.Popen(_sfrenew("localorg", "serve", "--data-dir", str(org)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if conn.exists():
            return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the local org did not start")


def cpu_seconds(pid: int) -> float:
    """The CPU seconds (user and system) process ``pid`` has used (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def minimum(stats: dict[str, Any]) -> int:
    """DESIGN.md's REST formula for the rows this run read and wrote."""
    reads = sum(math.ceil(int(n) / 2000) for n in stats["pulled"].values())
    writes = sum(math.ceil((int(c["created"]) + int(c["updated"])) / 200)
                 for c in stats["written"].values())
    return reads + writes


def bench(contracts: int, work: Path, *, runs: int = 3,
          seeded: Path | None = None) -> list[dict[str, Any]]:
    """Seed (or copy ``seeded/<contracts>``), serve and run (up to three times); the runs'
    figures."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t = time.monotonic()
    if seeded is not None and (seeded / str(contracts)).is_dir():
        shutil.copytree(seeded / str(contracts), work / "org")
        print(f"\n{contracts:,} contracts copied from {seeded}", flush=True)
    else:
        subprocess.run(_sfrenew("localorg", "seed", "--contracts", str(contracts), "--seed",
                                "1", "--data-dir", str(work / "org")), check=True,
                       stdout=subprocess.DEVNULL)
        print(f"\n{contracts:,} contracts seeded in {time.monotonic() - t:.0f}s", flush=True)
    config = _config(work)
    server = _serve(work / "org")
    results = []
    try:
        for label in ("first run", "reads back its writes", "no-change run")[:runs]:
            org_cpu = cpu_seconds(server.pid)
            done = subprocess.run([sys.executable, "-c", _CHILD, str(config)],
                                  capture_output=True, check=True, cwd=ROOT)
            data = json.loads(done.stdout.decode().strip().splitlines()[-1])
            data["label"] = label
            data["org_cpu_s"] = cpu_seconds(server.pid) - org_cpu
            results.append(data)
            _print(contracts, data)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return results


def _print(contracts: int, data: dict[str, Any]) -> None:
    stats = data["stats"]
    calls = data["api_calls"]
    counted = sum(n for k, n in calls.items() if k != "auth")
    written = sum(c["created"] + c["updated"] for c in stats["written"].values())
    print(f"{contracts:>8,} {data['label']:<22} {data['status']:<9} "
          f"pulled {sum(stats['pulled'].values()):>9,}  written {written:>8,}  "
          f"API calls {counted:>5} (REST formula minimum {minimum(stats):>5})  "
          f"wall {data['wall_s']:>7.1f}s  peak RSS {data['peak_rss_mb']:>6.0f} MB", flush=True)
    if "plan_s" in data:  # the plan step alone, and how many accounts it replayed
        print(f"         plan step {data['plan_s']:.1f}s: {data['accounts']:,} accounts in "
              f"the plan, {data['replayed']:,} replayed from their saved state"
              f"{' (a full pass)' if data.get('full_pass', True) else ''}", flush=True)
    if "steps_rss_mb" in data:  # peak RSS so far as each step ended
        print("         peak RSS after: " + ", ".join(
            f"{k} {v:.0f} MB" for k, v in data["steps_rss_mb"].items())
            + (f"; largest planning process {data['planner_peak_rss_mb']:.0f} MB"
               if data.get("planner_peak_rss_mb") else ""), flush=True)
    if "steps_s" in data:  # wall time of each step
        print("         step wall time: " + ", ".join(
            f"{k} {v:.1f}s" for k, v in data["steps_s"].items())
            + f"; CPU: client {data['cpu_s']:.1f}s (with its planning processes), "
            f"org {data.get('org_cpu_s', 0.0):.1f}s", flush=True)
    print("         calls by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())),
          flush=True)


def main() -> None:
    """Run the benchmark for each size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contracts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--seeded", type=Path, default=None,
                        help="copy DIR/<contracts> (an org seeded with seed 1) instead of "
                             "seeding; the copy is what the runs change")
    parser.add_argument("--runs", type=int, choices=(1, 2, 3), default=3,
                        help="1: first run only; 2: and the run after it; 3: and a no-change run")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sfrenew-bench-run-"))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    peaks = {}
    try:
        for n in args.contracts:
            runs = bench(n, work / str(n), runs=args.runs, seeded=args.seeded)
            peaks[n] = max(r["peak_rss_mb"] for r in runs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sizes = sorted(peaks)
    if len(sizes) > 1:
        print(f"\npeak RSS {sizes[-1]:,} / {sizes[0]:,} contracts: "
              f"{peaks[sizes[-1]] / peaks[sizes[0]]:.2f}× (goal ≤ 1.2×)")


if __name__ == "__main__":
    main()
