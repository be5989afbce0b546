"""Wall time, API calls and peak RSS of a first pull (issue 19 item 1), on the local org.

    python bench/bench_pull.py [--contracts 20000] [--org DIR] [--rounds 1]

Seeds a book (seed 1) unless ``--org`` names a data dir already seeded, serves it in
its own process, then runs the pull step alone in a fresh child process per round
(printing its wall time, its CPU seconds and the org's, peak RSS and API calls),
each with an empty state dir (so every round is a first pull: COUNT()s, Bulk query
jobs for the large objects, REST for the rest). Run it from two trees against the
same ``--org`` to compare them (docs/gateway.md, *Measured*).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_run import ROOT, _config, _serve, _sfrenew, cpu_seconds

_CHILD = """
import json, logging, resource, sys, time
from sfrenew.clock import utc_now
import structlog
from sfrenew.config import load_config
from sfrenew.runner import RunRequest, Step, execute
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
config = load_config(sys.argv[1])
t = time.monotonic()
out = execute(config, RunRequest(job="bench", steps=(Step.PULL,)),
              clock=utc_now)
print(json.dumps({"status": out.status, "calls": out.api_calls,
                  "pulled": sum(out.stats["pulled"].values()), "wall_s": time.monotonic() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2])}))
"""


def main() -> None:
    """Seed (or reuse) an org, serve it, and time first pulls."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--org", type=Path, default=None, help="a seeded data dir to reuse")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sfrenew-bench-pull-"))
    org = args.org or work / "org"
    try:
        if args.org is None:
            subprocess.run(_sfrenew("localorg", "seed", "--contracts", str(args.contracts),
                                    "--seed", "1", "--data-dir", str(org)),
                           check=True, stdout=subprocess.DEVNULL)
        server = _serve(org)
        try:
            for n in range(args.rounds):
                run = work / f"round{n}"
                run.mkdir()
                config = _config(run)
                text = config.read_text(encoding="utf-8").replace(str(run / "org"), str(org))
                config.write_text(text, encoding="utf-8")
                org_cpu = cpu_seconds(server.pid)
                done = subprocess.run([sys.executable, "-c", _CHILD, str(config)],
                                      capture_output=True, check=True, cwd=ROOT)
                org_cpu = cpu_seconds(server.pid) - org_cpu
                data = json.loads(done.stdout.decode().strip().splitlines()[-1])
                calls = data["calls"]
                print(f"round {n}: {data['status']} pulled {data['pulled']:,} rows  "
                      f"wall {data['wall_s']:.1f}s  CPU {data['cpu_s']:.1f}s (org {org_cpu:.1f}s)  "
                      f"peak RSS {data['peak_rss_mb']:.0f} MB  "
                      f"API calls {sum(v for k, v in calls.items() if k != 'auth')}: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())), flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
