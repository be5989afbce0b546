"""Planning cost in CPU instructions per contract: a figure a shared machine cannot blur.

    python -m bench.plan_instructions [--contracts N] [--ends-within DAYS]

Wall-clock and even CPU-time figures from ``bench_plan`` move by ±25 % on a machine
other work shares (one commit measured 6,115 and then 4,812 contracts/s minutes
apart). Instruction counts do not: this runs the planner under valgrind's callgrind
twice, once planning book A and once planning books A and B (two generated books of
``--contracts`` each, loaded from a pickle so generating them is not counted), and
prints the difference divided by B's contracts. Planning A first warms the memos, as
the first part of a large run does. ``PYTHONHASHSEED`` is fixed so dict layouts, and
so the count, repeat exactly.

Needs valgrind (``apt-get install valgrind``); takes about a minute for 1,000
contracts. Compare two versions of the planner by running it in each checkout.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_plan import TODAY, Book, generate, policy
from sfrenew.core.planner import plan_account


def _plan(books: list[Book]) -> None:
    rules = policy()
    for book in books:
        for account, items, signals in book:
            plan_account(account=account, contracts=items, today=TODAY, policy=rules,
                         signals=signals)


def _instructions(books: Path, count: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-m", "bench.plan_instructions", "--child", str(books), str(count)],
        capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    """Measure, or (``--child``) plan the pickled books under valgrind."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--ends-within", type=int, default=200)
    parser.add_argument("--child", nargs=2, metavar=("BOOKS", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with Path(args.child[0]).open("rb") as file:
            books = pickle.load(file)  # our own file, written just before
        _plan(books[: int(args.child[1])])
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    books = [generate(args.contracts, seed, args.ends_within) for seed in (4, 5)]
    contracts = sum(len(items) for _a, items, _s in books[1])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "books.pickle"
        path.write_bytes(pickle.dumps(books))
        one, both = _instructions(path, 1), _instructions(path, 2)
    per = (both - one) / contracts
    print(f"planning {contracts:,} contracts (ends within {args.ends_within} days, memos warm): "
          f"{both - one:,} instructions, {per:,.0f} per contract")


if __name__ == "__main__":
    main()
