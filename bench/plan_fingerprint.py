"""Fingerprints of the planner's output, to prove an optimisation changes nothing.

    python -m bench.plan_fingerprint --write baseline.json     # before the change
    python -m bench.plan_fingerprint --check baseline.json     # after it

Plans the benchmark's generated books under a range of policies (every anchor and
proration method, compounding off, ``same`` and ``list`` pricing, risk adjustments,
co-terming off, the ``skip`` past-due policy, an index formula) and hashes the
``repr`` of every plan: every field of every value, keys and explanation text
included, Decimals with their exponent (``1.0`` is not ``1.00``). ``--check``
names the first account whose plan differs, under which variant, and shows the
first differing characters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from bench.bench_plan import TODAY, Book, policy
from bench.bench_plan import generate as generate_book
from sfrenew.core.domain import RiskLevel
from sfrenew.core.formula import parse
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import (
    AnchorPolicy,
    CadencePolicy,
    CotermPolicy,
    PastDuePolicy,
    PricingMethod,
    ProrationMethod,
    RiskAdjustment,
    RulesPolicy,
)


def generate(contracts: int, seed: int, ends_within: int) -> Book:
    """The benchmark's book, every third line with a price book entry (for ``list``)."""
    book = generate_book(contracts, seed, ends_within)
    out: Book = []
    for account, items, signals in book:
        changed = []
        for contract in items:
            lines = tuple(
                replace(line, list_price=line.annual_price * Decimal("1.1"))
                if line.annual_price is not None and n % 3 == 0 else line
                for n, line in enumerate(contract.lines))
            changed.append(replace(contract, lines=lines))
        out.append((account, changed, signals))
    return out


def variants() -> dict[str, RulesPolicy]:
    """Policies that between them take every branch of the planner."""
    base = policy()
    out: dict[str, RulesPolicy] = {"default": base}
    for anchor in AnchorPolicy:
        for method in ProrationMethod:
            out[f"{anchor}-{method}"] = replace(
                base, coterm=replace(base.coterm, anchor=anchor), proration=method)
    out["simple-interest"] = replace(base, uplift=replace(base.uplift, compound_multi_year=False))
    out["same"] = replace(base, uplift=replace(base.uplift, pricing=PricingMethod.SAME))
    out["list"] = replace(base, uplift=replace(base.uplift, pricing=PricingMethod.LIST))
    out["risk-adjusted"] = replace(base, uplift=replace(base.uplift, cap=Decimal("0.08"),
                                                        risk_adjustments={
        RiskLevel.HIGH: RiskAdjustment(add=Decimal("-0.02")),
        RiskLevel.MEDIUM: RiskAdjustment(add=Decimal("0.01"), max_rate=Decimal("0.055"))}))
    out["index"] = replace(base, uplift=replace(
        base.uplift, index_formula=parse("cpi + 0.01"),
        index_values={"cpi": Decimal("0.031")}))
    out["no-coterm"] = replace(base, coterm=CotermPolicy(enabled=False))
    out["wide-window"] = replace(base, coterm=CotermPolicy(window_days=400))
    out["past-due-skip"] = replace(base, cadence=CadencePolicy(past_due=PastDuePolicy.SKIP))
    return out


def _plan_reprs(book: Book, rules: RulesPolicy) -> list[str]:
    """The ``repr`` of every account's plan, in book order."""
    return [repr(plan_account(account=account, contracts=items, today=TODAY, policy=rules,
                              signals=signals))
            for account, items, signals in book]


def fingerprints(contracts: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Per variant and book, the digest of every plan's repr, and the reprs themselves."""
    digests: dict[str, str] = {}
    reprs: dict[str, list[str]] = {}
    for ends_within in (200, 1095):
        book = generate(contracts, 11, ends_within)
        for name, rules in variants().items():
            key = f"{ends_within}/{name}"
            reprs[key] = _plan_reprs(book, rules)
            digests[key] = hashlib.sha256("".join(reprs[key]).encode()).hexdigest()
    return digests, reprs


def _first_difference(new_reprs: list[str], old_reprs: list[str] | None, book: Book) -> str:
    if old_reprs is None:
        return "(write with --keep-reprs to see the first differing plan)"
    for (account, _items, _signals), new, old in zip(book, new_reprs, old_reprs, strict=True):
        if new != old:
            at = next(i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
            begin = max(at - 80, 0)
            return (f"account {account.id}: at character {at}\n  was {old[begin:at + 80]!r}"
                    f"\n  now {new[begin:at + 80]!r}")
    return "(no account differs)"


def main() -> None:
    """Write or check the fingerprints."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path)
    group.add_argument("--check", type=Path)
    parser.add_argument("--contracts", type=int, default=3000)
    parser.add_argument("--keep-reprs", action="store_true",
                        help="with --write: keep every plan's repr, to locate a difference")
    args = parser.parse_args()
    found, reprs = fingerprints(args.contracts)
    if args.write:
        data: dict[str, object] = {"contracts": args.contracts, "digests": found}
        if args.keep_reprs:
            data["reprs"] = reprs
        args.write.write_text(json.dumps(data))
        print(f"wrote {len(found)} fingerprints to {args.write}")
        return
    reference = json.loads(args.check.read_text())
    if reference["contracts"] != args.contracts:
        sys.exit(f"{args.check} was written for --contracts {reference['contracts']}")
    differ = [k for k, v in found.items() if reference["digests"].get(k) != v]
    print(f"{len(found) - len(differ)} of {len(found)} variants give identical plans")
    for key in differ:
        book = generate(args.contracts, 11, int(key.split("/", 1)[0]))
        where = _first_difference(reprs[key], reference.get("reprs", {}).get(key), book)
        print(f"DIFFERS {key}: {where}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
