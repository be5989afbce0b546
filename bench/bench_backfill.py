"""A backfill of 20,000 contracts on the local org, killed twice with ``kill -9`` and
resumed, against one uninterrupted backfill of the same book.

    python bench/bench_backfill.py [--contracts N] [--days D] [--workdir DIR]

Two local orgs are seeded identically (same seed, same day). Org A gets one
``sfrenew backfill``; org B's backfill is killed (SIGKILL) once right after its pull
(while planning) and once while writing (a third of A's opportunities created), then
``--resume``d to the end. Prints wall time, API calls and records written for both,
and whether the two orgs end in the same state (records sfrenew created compared by
their key, run ids blanked).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sfrenew.store import open_store
from tests.integration.ops_support import Process, named, run_sfrenew, seeded_org, write_config
from tests.integration.test_backfill import created, org_state


def _calls(state: Path, run_id: str) -> dict[str, int]:
    with open_store(f"sqlite:///{state / 'sfrenew.sqlite3'}") as store:
        return dict(store.get_run(run_id).stats.api_calls)


def _run_id(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("{") and '"run_started"' in line:
            return str(json.loads(line)["run_id"])
    raise SystemExit("no run_started line:\n" + text[-3000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=400, help="window: today .. today+DAYS")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    window = ["--from", today.isoformat(), "--to", (today + timedelta(days=args.days)).isoformat()]
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        work = args.workdir or Path(tmp)
        t0 = time.perf_counter()
        with seeded_org(work / "org-a", contracts=args.contracts) as org_a, \
                seeded_org(work / "org-b", contracts=args.contracts) as org_b:
            print(f"seeded two orgs of {args.contracts:,} contracts in "
                  f"{time.perf_counter() - t0:.1f}s")
            for name in ("a", "b"):
                (work / name).mkdir(exist_ok=True)
            config_a = write_config(work / "a", org_a)
            config_b = write_config(work / "b", org_b)

            t0 = time.perf_counter()
            straight = run_sfrenew(["backfill", "--config", str(config_a), *window], cwd=work,
                                   timeout=3600)
            straight_s = time.perf_counter() - t0
            if straight.returncode != 0:
                raise SystemExit(straight.stdout + straight.stderr[-3000:])
            run_a = _run_id(straight.stderr)
            target = created(org_a)
            print(f"uninterrupted: {straight_s:.1f}s, {target:,} renewal opportunities, "
                  f"API calls {_calls(work / 'a' / 'state', run_a)}")
            print("  " + straight.stdout.strip().replace("\n", "\n  "))

            t0 = time.perf_counter()
            first = Process(["backfill", "--config", str(config_b), *window], cwd=work)
            events = first.wait_for(lambda ev: any(e.get("step") == "pull"
                                                   for e in named(ev, "run_step_done")),
                                    timeout=3600)
            first.kill()
            run_b = named(events, "run_started")[0]["run_id"]
            print(f"kill -9 #1 after the pull, while planning: {created(org_b):,} created")
            second = Process(["backfill", "--config", str(config_b), "--resume", run_b], cwd=work)
            second.wait_for(lambda _ev: created(org_b) > target // 3, timeout=3600)
            second.kill()
            print(f"kill -9 #2 while writing: {created(org_b):,} created")
            last = run_sfrenew(["backfill", "--config", str(config_b), "--resume", run_b],
                               cwd=work, timeout=3600)
            interrupted_s = time.perf_counter() - t0
            if last.returncode != 0:
                raise SystemExit(last.stdout + last.stderr[-3000:])
            calls: dict[str, Any] = _calls(work / "b" / "state", run_b)
            print(f"killed twice + resumed: {interrupted_s:.1f}s in all, {created(org_b):,} "
                  f"renewal opportunities, API calls {calls}")
            print("  " + last.stdout.strip().replace("\n", "\n  "))
            same = org_state(org_a) == org_state(org_b)
            print(f"same org state as the uninterrupted backfill: {same}")
            if not same:
                raise SystemExit(1)


if __name__ == "__main__":
    main()
