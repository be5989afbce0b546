"""Planning with 1 and more processes (``run.plan_processes``) on one local org.

    python -m bench.bench_plan_processes [--contracts 20000] [--processes 1 2] [--work DIR]

Seeds a local org (seed 1), serves it, pulls it once into a state store, then per
process count plans a copy of that store twice, each in a fresh child process: the
first plan (no saved plan states: every account planned) and a full re-plan
(``--full-plan``, over the plan states the first one saved). Prints per plan the plan
step's (``build_plan``'s) wall and CPU time in the main process, the CPU seconds of
each planning process (``plan_parts_done``), the whole run's wall and CPU, its API
calls (describes, answered by the gateway's cache when warm) and ``uptime``'s load
average at its start; and checks
that every process count wrote the same plan file (the header but for the run's id and
time and the config's fingerprint: each copy's config file names its own state).
The machine is shared: compare CPU seconds, and read wall times with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.bench_run import _config, _serve, _sfrenew

ROOT = Path(__file__).resolve().parents[1]
_CHILD = """
import json, resource, sys, time
import structlog, logging
from sfrenew.clock import utc_now
from sfrenew.config import load_config
from sfrenew.runner import RunRequest, Step, execute
from structlog.testing import capture_logs
config = load_config(sys.argv[1])
steps = tuple(Step(s) for s in sys.argv[2].split(","))
full = sys.argv[3] == "full"
import sfrenew.runner._session as session
planned = {"plan_s": 0.0, "plan_cpu_s": 0.0}
build_plan = session.build_plan
def timed_plan(**kwargs):
    started, cpu = time.monotonic(), time.process_time()
    totals = build_plan(**kwargs)
    planned.update(plan_s=time.monotonic() - started, plan_cpu_s=time.process_time() - cpu)
    return totals
session.build_plan = timed_plan
started, cpu = time.monotonic(), time.process_time()
with capture_logs() as logs:
    out = execute(config, RunRequest(job="bench", steps=steps, dry_run=True, full_plan=full),
                  clock=utc_now)
wall, cpu = time.monotonic() - started, time.process_time() - cpu
children = resource.getrusage(resource.RUSAGE_CHILDREN)
parts = [e for e in logs if e.get("event") == "plan_parts_done"]
step = [e for e in logs if e.get("event") == "run_step_done" and e.get("step") == "plan"]
print(json.dumps({"status": out.status, "message": out.message, "wall_s": wall,
                  "cpu_s": cpu, "children_cpu_s": children.ru_utime + children.ru_stime,
                  "parts": parts[0] if parts else None,
                  "accounts": step[0]["accounts"] if step else None,
                  "full_pass": step[0]["full_pass"] if step else None,
                  "api_calls": out.api_calls, "plan_file": out.stats.get("plan_file"),
                  **planned},
                 default=str))
"""


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def _run(config: Path, steps: str, mode: str) -> dict[str, Any]:
    load = _load()
    done = subprocess.run([sys.executable, "-c", _CHILD, str(config), steps, mode],
                          capture_output=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"run failed:\n{done.stderr.decode()[-3000:]}")
    data: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    if data["status"] != "succeeded":
        sys.exit(f"run {data['status']}: {data['message']}")
    data["load"] = load
    return data


def _copy_state(work: Path, name: str, processes: int) -> Path:
    """A config over a copy of the pulled store, planning with ``processes``."""
    state = work / name / "state"
    state.mkdir(parents=True)
    with sqlite3.connect(work / "state" / "sfrenew.sqlite3") as source, \
            sqlite3.connect(state / "sfrenew.sqlite3") as target:
        source.backup(target)
    document = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    document["state_dir"] = str(state)
    document["run"] = {**document["run"], "plan_processes": processes}
    path = work / name / "config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _plan_lines(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    # (the config's fingerprint differs too: each copy's config names its own state_dir)
    header = {k: v for k, v in json.loads(lines[0]).items()
              if k not in ("run_id", "created_at", "fingerprint")}
    return [json.dumps(header), *lines[1:]]


def _print(processes: int, label: str, data: dict[str, Any]) -> None:
    parts = data["parts"]
    each = (" + ".join(f"{c:.1f}" for c in parts["cpu_s"]) if parts else "-")
    calls = sum(n for k, n in data["api_calls"].items() if k != "auth")
    print(f"{processes} process(es) {label:<13} build_plan wall {data['plan_s']:6.1f}s, CPU "
          f"{data['plan_cpu_s']:5.1f}s in the main process + planning processes {each} s "
          f"(all children {data['children_cpu_s']:.1f}s); whole run wall {data['wall_s']:.1f}s, "
          f"CPU {data['cpu_s']:.1f}s; accounts {data['accounts']:,}; API calls {calls}; "
          f"load {data['load']}", flush=True)


def main() -> None:
    """Seed, pull, plan with each process count; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sfrenew-bench-plan-processes-"))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        if not (work / "org").exists():
            t = time.monotonic()
            subprocess.run(_sfrenew("localorg", "seed", "--contracts", str(args.contracts),
                                    "--seed", "1", "--data-dir", str(work / "org")),
                           check=True, stdout=subprocess.DEVNULL)
            print(f"{args.contracts:,} contracts seeded in {time.monotonic() - t:.0f}s",
                  flush=True)
        config = _config(work)
        server = _serve(work / "org")
        try:
            if not (work / "state" / "sfrenew.sqlite3").exists():
                pulled = _run(config, "pull", "changed")
                print(f"pulled in {pulled['wall_s']:.1f}s", flush=True)
            plans: dict[str, list[str]] = {}
            for n in args.processes:
                copy = _copy_state(work, f"p{n}", n)
                for label, mode in (("first plan", "changed"), ("full re-plan", "full")):
                    data = _run(copy, "plan", mode)
                    _print(n, label, data)
                    lines = _plan_lines(data["plan_file"])
                    if plans.setdefault(label, lines) != lines:
                        sys.exit(f"{n} processes wrote another {label} than "
                                 f"{args.processes[0]}")
                shutil.rmtree(work / f"p{n}")
            print(f"every process count wrote the same plan files "
                  f"({len(plans['first plan']):,} lines)")
        finally:
            server.terminate()
            server.wait(timeout=60)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
