"""sfrenew next to two scripts a team might write instead, on copies of one local org.

    python -m bench.bench_peers [--contracts 20000] [--work DIR] [--keep]
                                [--only sfrenew rewrite naive] [--any-book]

Seeds one book of business (pinned: seed number ``BOOK_SEED`` on the pinned day
``BOOK_DAY``, checked against the record counts recorded in ``PINNED_BOOKS``, so a later
change to the seed generator is reported instead of silently moving the baseline),
copies the org once per contender, and runs each contender four times on its own
copy, served in its own process: the first run, a run with no change in the org (for
sfrenew, the read-back of what its first run wrote: those records changed after its
pull's upper bound, ADR 0025), a second run with no change (nothing left to read
back), and a run after 5 % of the contracts changed (every 20th contract by Id gets a
new uplift rate, through sObject Collections, before the run's counters start). The
contenders:

* ``sfrenew``: the main job (pull, plan, apply, report) as ``bench_run`` runs it;
* ``rewrite``: a full-rewrite script, Bulk API 2.0 reads and every record written
  every run (``bench/peers.py``);
* ``naive``: a per-record script, one REST call per record read or written.

Per run it prints the API calls the org counted (every counted call, logins
excepted), records written, wall time, the REST formula minimum of DESIGN.md for the
rows that run read and wrote (``Σ⌈rows read/2,000⌉ + Σ⌈rows written/200⌉``) and the
CPU seconds the local org's server used: it shares the machine's cores with the
contender, so a busy org slows the client too. Every process runs on the pinned
clock (``SFRENEW_CLOCK_SHIFT_SECONDS``).
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
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from bench.bench_run import ROOT, _config, _serve, _sfrenew, cpu_seconds
from sfrenew.clock import SHIFT_VARIABLE, utc_now
from sfrenew.salesforce.auth import LocalConnection

BOOK_SEED = 1
BOOK_DAY = date(2026, 11, 24)  # the book's "today": its dates and the runs' today
# Record counts of the pinned book per size, as the seed generator wrote them when the
# baseline was measured (objects left empty are not compared). A size not listed is
# seeded and reported, not checked. The seed generator has no version of its own: a
# change to it is detected here, not undone (record the new counts with a new baseline).
PINNED_BOOKS: Mapping[int, Mapping[str, int]] = {
    200: {"Account": 85, "Case": 138, "Contact": 296, "ContentDocument": 0,
          "ContentDocumentLink": 0, "ContentVersion": 0, "Contract": 200, "CurrencyType": 4,
          "DatedConversionRate": 6,
          "Opportunity": 334, "OpportunityLineItem": 912, "Organization": 1, "Pricebook2": 3,
          "PricebookEntry": 192, "Product2": 16, "SBQQ__Subscription__c": 620, "Task": 211,
          "Usage_Snapshot__c": 288, "User": 12, "UserRole": 8},
    2_000: {"Account": 799, "Case": 1226, "Contact": 2862, "ContentDocument": 0,
            "ContentDocumentLink": 0, "ContentVersion": 0, "Contract": 2000,
            "CurrencyType": 4, "DatedConversionRate": 6, "Opportunity": 3326,
            "OpportunityLineItem": 9346,
            "Organization": 1, "Pricebook2": 3, "PricebookEntry": 192, "Product2": 16,
            "SBQQ__Subscription__c": 6270, "Task": 1926, "Usage_Snapshot__c": 3396,
            "User": 14, "UserRole": 8},
}
CONTENDERS = ("sfrenew", "rewrite", "naive")
RUNS = ("first", "no change", "no change 2", "5 % changed")
CHANGED_EVERY = 20  # every 20th contract: 5 %
NEW_UPLIFT = 9.5  # percent, a rate no seeded contract has


# sfrenew's main job in a child process, on the shell's clock (so on the pinned day).
_CHILD = """
import json, logging, resource, sys, time
import structlog
from sfrenew.clock import utc_now
from sfrenew.config import load_config
from sfrenew.runner import RunRequest, Step, execute
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
config = load_config(sys.argv[1])
t = time.monotonic()
out = execute(config, RunRequest(job="bench", steps=(Step.PULL, Step.PLAN, Step.APPLY,
              Step.REPORT)), clock=utc_now)
print(json.dumps({"status": out.status, "message": out.message, "stats": out.stats,
                  "wall_s": time.monotonic() - t}))
"""


def _pinned_env() -> dict[str, str]:
    """The environment of every child: the clock moved to the pinned day, 07:15 UTC."""
    if SHIFT_VARIABLE in os.environ:
        raise SystemExit(f"unset {SHIFT_VARIABLE}: the bench pins the clock itself")
    pinned = datetime.combine(BOOK_DAY, day_time(7, 15), tzinfo=UTC)
    return {**os.environ, SHIFT_VARIABLE: str(int((pinned - utc_now()).total_seconds())),
            "PYTHONUNBUFFERED": "1"}


class OrgAdmin:
    """The served org's admin paths and a simple-salesforce client for the bench's own
    changes (not counted for any contender: counters are reset after them)."""

    def __init__(self, data_dir: Path) -> None:
        self.info = LocalConnection.read(data_dir)
        self.http = requests.Session()
        self.http.verify = str(self.info.ca_file)
        self.http.trust_env = False
        self.auth = (self.info.client_id, self.info.client_secret.reveal())

    def admin(self, method: str, path: str) -> dict[str, Any]:
        answer = self.http.request(method, f"{self.info.instance_url}/_localorg/{path}",
                                   auth=self.auth, timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json() if answer.content else {}
        return result

    def client(self) -> Salesforce:
        token = self.http.post(f"{self.info.instance_url}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": self.auth[0],
            "client_secret": self.auth[1]}, timeout=60).json()["access_token"]
        return Salesforce(instance_url=self.info.instance_url, session_id=token,
                          session=self.http, version="59.0")

    def change_contracts(self) -> int:
        """Give every 20th contract (by Id) a new uplift rate; return how many."""
        sf = self.client()
        ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Contract ORDER BY Id")]
        chosen = ids[::CHANGED_EVERY]
        for start in range(0, len(chosen), 200):
            sf.restful("composite/sobjects", method="PATCH", json={
                "allOrNone": True, "records": [
                    {"attributes": {"type": "Contract"}, "Id": i, "Uplift_Rate__c": NEW_UPLIFT}
                    for i in chosen[start:start + 200]]})
        return len(chosen)

    def calls(self) -> int:
        """Counted calls since the last reset: logins are not counted, nor the bench's
        own calls to the org's admin paths (the org counts them as ``admin``: this
        very request among them)."""
        return sum(int(n) for kind, n in self.admin("GET", "stats")["calls"].items()
                   if kind not in ("auth", "admin"))


def formula_minimum(read: Mapping[str, int], written: Mapping[str, int]) -> int:
    """DESIGN.md's REST minimum: Σ⌈rows read/2,000⌉ + Σ⌈rows written/200⌉ per object."""
    return (sum(math.ceil(n / 2000) for n in read.values())
            + sum(math.ceil(n / 200) for n in written.values()))


class ContenderFailed(RuntimeError):
    """A contender's process failed: its exit status and the end of its stderr."""


def _child(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a contender's process; its last stdout line (JSON). A failure is raised with
    the tail of its stderr, so the reason is on the bench's own output."""
    done = subprocess.run(argv, capture_output=True, check=False, cwd=ROOT, env=env)
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.decode(errors="replace").strip().splitlines()[-30:])
        raise ContenderFailed(f"`{' '.join(argv[1:3])} …` exited {done.returncode}:\n{tail}")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def _run_sfrenew(config: Path, env: dict[str, str]) -> dict[str, Any]:
    data = _child([sys.executable, "-c", _CHILD, str(config)], env)
    stats = data["stats"]
    written = {obj: int(c["created"]) + int(c["updated"]) for obj, c in stats["written"].items()}
    return {"read": {k: int(v) for k, v in stats["pulled"].items()}, "written": written,
            "wall_s": data["wall_s"], "status": data["status"]}


def _run_peer(kind: str) -> Callable[[Path, dict[str, str]], dict[str, Any]]:
    def run(config: Path, env: dict[str, str]) -> dict[str, Any]:
        return _child([sys.executable, "-m", "bench.peers", kind, str(config)], env)
    return run


def seed_book(contracts: int, org: Path, env: dict[str, str], *, any_book: bool) -> None:
    """Seed the pinned book into ``org`` and check it against the pinned counts."""
    t = time.monotonic()
    subprocess.run(_sfrenew("localorg", "seed", "--contracts", str(contracts), "--seed",
                            str(BOOK_SEED), "--data-dir", str(org)),
                   check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
    done = subprocess.run(_sfrenew("localorg", "stats", "--json", "--data-dir", str(org)),
                          check=True, capture_output=True, env=env, cwd=ROOT)
    # Objects the schema has but the book leaves empty do not make another book.
    counts = {k: int(v) for k, v in json.loads(done.stdout)["records"].items() if int(v)}
    print(f"book: seed {BOOK_SEED}, day {BOOK_DAY}, {contracts:,} contracts, "
          f"{sum(counts.values()):,} records, seeded in {time.monotonic() - t:.0f}s")
    pinned = PINNED_BOOKS.get(contracts)
    if pinned is None:
        print(f"  (no pinned counts for {contracts:,} contracts: {json.dumps(counts)})")
    elif {k: n for k, n in pinned.items() if n} != counts and not any_book:
        raise SystemExit(
            "the seed generator no longer writes the pinned book (record counts differ): "
            "figures would not compare with the baseline in docs/operations.md. Pinned "
            f"{json.dumps(dict(pinned))}, now {json.dumps(counts)}; run with --any-book "
            "to measure anyway, and record a new baseline")


def bench(contender: str, base: Path, work: Path, env: dict[str, str], *,
          plan_processes: str | None = None) -> None:
    """The runs of one contender on its own copy of the seeded org (``plan_processes``:
    sfrenew's ``run.plan_processes``, None: the example config's)."""
    here = work / contender
    shutil.copytree(base, here / "org")
    config = _config(here, plan_processes=plan_processes)
    run = _run_sfrenew if contender == "sfrenew" else _run_peer(contender)
    server = _serve_with(here / "org", env)
    try:
        org = OrgAdmin(here / "org")
        for label in RUNS:
            if label == "5 % changed":
                org.change_contracts()
            org.admin("POST", "stats/reset")
            cpu = cpu_seconds(server.pid)
            try:
                result = run(config, env)
            except ContenderFailed as failed:  # the others still run; say why this one did not
                print(f"{contender:<8} {label:<12} crashed: {failed}", flush=True)
                return
            org_cpu = cpu_seconds(server.pid) - cpu
            calls = org.calls()
            written = sum(result["written"].values())
            print(f"{contender:<8} {label:<12} calls {calls:>7,}  written {written:>7,}  "
                  f"wall {result['wall_s']:>7.1f}s  REST minimum "
                  f"{formula_minimum(result['read'], result['written']):>6,}  "
                  f"org CPU {org_cpu:>6.1f}s", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def _serve_with(org: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    previous = dict(os.environ)
    os.environ.update(env)  # bench_run's _serve starts the server with this environment
    try:
        return _serve(org)
    finally:
        os.environ.clear()
        os.environ.update(previous)


def main() -> None:
    """Seed once, run every contender on its copy, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--only", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--any-book", action="store_true",
                        help="measure even when the seeded book differs from the pinned one")
    parser.add_argument("--plan-processes", default=None,
                        help="sfrenew's run.plan_processes (a number or auto; default: "
                             "config.example.yaml's)")
    args = parser.parse_args()
    env = _pinned_env()
    work = args.work or Path(tempfile.mkdtemp(prefix="sfrenew-bench-peers-"))
    try:
        seed_book(args.contracts, work / "base", env, any_book=args.any_book)
        for contender in args.only:
            bench(contender, work / "base", work, env, plan_processes=args.plan_processes)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
