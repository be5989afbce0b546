"""Fingerprints of the planner's output, to prove an optimisation changes nothing.

    python -m bench.plan_fingerprint --write baseline.json     # before the change
    python -m bench.plan_fingerprint --check baseline.json     # after it
    python -m bench.plan_fingerprint --calendar 90             # re-planning by date
    python -m bench.plan_fingerprint --calendar 30 --contracts 200 --variant default  # quick


Plans the benchmark's generated books under a range of policies (every anchor and
proration method, compounding on/off/auto, ``same`` and ``list`` pricing, risk
adjustments, co-terming off, co-terming any terms with and without term changes, the
minimum term and evergreen eligibility knobs, the contractual-uplift knobs, the
``skip`` past-due policy, an index formula) and hashes the
``repr`` of every plan: every field of every value, keys and explanation text
included, Decimals with their exponent (``1.0`` is not ``1.00``). ``--check``
names the first account whose plan differs, under which variant, and shows the
first differing characters.

``--calendar DAYS`` runs the date-driven cases: every variant over DAYS daily runs from
the benchmark's date, each account planned again only on the day ``replan_on`` named
(and kept as it was before), compared each day with a full re-plan; it names the first
account, variant and day that differ, and prints how many plans were made.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench.bench_plan import TODAY, Book, policy
from bench.bench_plan import generate as generate_book
from sfrenew.core.domain import Contract, ContractLine, RiskLevel
from sfrenew.core.formula import parse
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import (
    AnchorPolicy,
    CadencePolicy,
    ContractualUplift,
    CotermPolicy,
    EligibilityPolicy,
    PastDuePolicy,
    PricingMethod,
    ProrationMethod,
    RiskAdjustment,
    RulesPolicy,
    TermCompatibility,
)
from sfrenew.core.replan import replan_on


def generate(contracts: int, seed: int, ends_within: int) -> Book:
    """The benchmark's book with the shapes issue 13's rules read, deterministically.

    Every third line has a price book entry (for ``list``). From a second generator
    seeded from ``seed`` (so the benchmark's own book is unchanged): a quarter of the
    accounts carry a Renewal Pricing Method (Same, List, Uplift); some contracts are
    month-to-month (a 1-month term), some evergreen (the contract or one line), some
    have a renewal term of their own, a contractual rate or floor; some lines are
    amended (a second line of the same product with fewer units, or the whole line
    taken away), ended early or terminated before the contract end.
    """
    book = generate_book(contracts, seed, ends_within)
    rng = random.Random(f"fingerprint-{seed}-{ends_within}")
    methods = (PricingMethod.SAME, PricingMethod.LIST, PricingMethod.UPLIFT)
    out: Book = []
    for generated, items, signals in book:
        account = generated
        if rng.random() < 0.25:
            account = replace(generated, renewal_pricing=rng.choice(methods))
        out.append((account, [_vary(rng, c) for c in items], signals))
    return out


def _vary(rng: random.Random, contract: Contract) -> Contract:
    """One contract with (sometimes) issue 13's shapes; the random draws are fixed in order."""
    lines: list[ContractLine] = []
    for n, generated in enumerate(contract.lines):
        line = generated
        if generated.annual_price is not None and n % 3 == 0:
            line = replace(generated, list_price=generated.annual_price * Decimal("1.1"))
        draw = rng.random()
        lines.append(line)
        if draw < 0.05:  # an amendment taking some units away: +q and -q//3 net
            lines.append(replace(line, id=f"{line.id}A", quantity=-(line.quantity // 3),
                                 start_date=contract.start_date))
        elif draw < 0.07:  # an amendment taking every unit away: nothing renews
            lines.append(replace(line, id=f"{line.id}Z", quantity=-line.quantity))
        elif draw < 0.09 and contract.end_date is not None:  # ended before the contract
            lines[-1] = replace(line, end_date=contract.end_date - timedelta(days=30))
        elif draw < 0.10 and contract.end_date is not None:  # terminated early
            lines[-1] = replace(line, terminated_date=contract.end_date - timedelta(days=10))
    draw = rng.random()
    changes: dict[str, object] = {"lines": tuple(lines)}
    if draw < 0.04:
        changes["term_months"] = 1  # month-to-month
    elif draw < 0.06:
        changes["evergreen"] = True
    elif draw < 0.08 and lines:
        changes["lines"] = (replace(lines[0], evergreen=True), *lines[1:])
    elif draw < 0.14:
        changes["renewal_term_months"] = rng.choice((6, 12, 24))
    elif draw < 0.18:
        changes["uplift_rate"] = Decimal("0.04")
    elif draw < 0.20:
        changes["uplift_floor"] = Decimal("0.02")
    return replace(contract, **changes)  # type: ignore[arg-type]


def variants() -> dict[str, RulesPolicy]:
    """Policies that between them take every branch of the planner."""
    base = policy()
    out: dict[str, RulesPolicy] = {"default": base}
    for anchor in AnchorPolicy:
        for method in ProrationMethod:
            out[f"{anchor}-{method}"] = replace(
                base, coterm=replace(base.coterm, anchor=anchor), proration=method)
    out["simple-interest"] = replace(base, uplift=replace(base.uplift, compound_multi_year=False))
    out["compound"] = replace(base, uplift=replace(base.uplift, compound_multi_year=True))
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
    # issue 13's knobs
    for window in (60, 400):
        for allow in (False, True):
            out[f"any-term-{window}-{'change' if allow else 'keep'}"] = replace(
                base, coterm=CotermPolicy(window_days=window,
                                          term_compatibility=TermCompatibility.ANY,
                                          allow_term_change=allow))
    out["calendar-any-term"] = replace(base, coterm=CotermPolicy(
        anchor=AnchorPolicy.CALENDAR, term_compatibility=TermCompatibility.ANY))
    out["min-term-1-evergreen"] = replace(base, eligibility=EligibilityPolicy(
        min_term_months=1, renew_evergreen=True))
    out["min-term-13"] = replace(base, eligibility=EligibilityPolicy(min_term_months=13))
    out["contractual-all"] = replace(base, uplift=replace(
        base.uplift, cap=Decimal("0.035"), floor=Decimal("0.045"),
        index_formula=parse("cpi + 0.01"), index_values={"cpi": Decimal("0.031")},
        risk_adjustments={RiskLevel.HIGH: RiskAdjustment(add=Decimal("-0.02"))},
        contractual=ContractualUplift(index=True, policy_bounds=True, risk=True)))
    out["contractual-index-only"] = replace(base, uplift=replace(
        base.uplift, index_formula=parse("max(0.02, cpi)"), index_values={"cpi": Decimal("0.05")},
        contractual=ContractualUplift(index=True)))
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


@dataclass
class Calendar:
    """What :func:`calendar` found: plans made incrementally and fully, and differences."""

    days: int
    accounts: int = 0
    planned: int = 0  # plans the incremental runs made (first day included)
    differences: list[str] = field(default_factory=list)


def calendar(book: Book, rules: RulesPolicy, *, days: int, name: str = "",
             start: date = TODAY, out: Calendar | None = None) -> Calendar:
    """Daily runs from ``start`` for ``days`` days: each account planned again only when
    ``replan_on`` says so, else kept; every day compared with a full re-plan."""
    found = out if out is not None else Calendar(days)
    for account, items, signals in book:
        kept = plan_account(account=account, contracts=items, today=start, policy=rules,
                            signals=signals)
        due = replan_on(plan=kept, contracts=items, today=start, policy=rules,
                        signals=signals)
        found.planned += 1
        found.accounts += 1
        for n in range(1, days):
            today = start + timedelta(days=n)
            if due is not None and today >= due:
                kept = plan_account(account=account, contracts=items, today=today,
                                    policy=rules, signals=signals)
                due = replan_on(plan=kept, contracts=items, today=today, policy=rules,
                                signals=signals)
                found.planned += 1
            full = plan_account(account=account, contracts=items, today=today, policy=rules,
                                signals=signals)
            if full != kept and repr(full) != repr(kept):
                found.differences.append(f"{name} account {account.id} on {today}: kept the "
                                         f"plan of an earlier day, which differs")
                break
    return found


def main() -> None:
    """Write or check the fingerprints, or run the calendar."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path)
    group.add_argument("--check", type=Path)
    group.add_argument("--calendar", type=int, metavar="DAYS")
    parser.add_argument("--variant", action="append", default=None, metavar="NAME",
                        help="with --calendar: only this policy variant (repeat); a quick "
                             "check is --calendar 30 --contracts 200 --variant default")
    parser.add_argument("--contracts", type=int, default=3000)
    parser.add_argument("--keep-reprs", action="store_true",
                        help="with --write: keep every plan's repr, to locate a difference")
    args = parser.parse_args()
    if args.calendar:
        _calendar_main(args.calendar, args.contracts, args.variant)
        return
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


def _calendar_main(days: int, contracts: int, only: list[str] | None) -> None:
    chosen = {n: r for n, r in variants().items() if not only or n in only}
    if not chosen:
        sys.exit(f"no variant named {', '.join(only or ())}: {', '.join(variants())}")
    total = Calendar(days)
    for ends_within in (200, 1095):
        book = generate(contracts, 11, ends_within)
        for name, rules in chosen.items():
            calendar(book, rules, days=days, name=f"{ends_within}/{name}", out=total)
    every_day = total.accounts * days
    print(f"{days} daily runs, {len(chosen) * 2} variants, {total.accounts} account "
          f"plans a day: {total.planned} plans made instead of {every_day} "
          f"({total.planned / every_day:.1%}); {len(total.differences)} differ")
    for line in total.differences[:20]:
        print(f"DIFFERS {line}")
    sys.exit(1 if total.differences else 0)


if __name__ == "__main__":
    main()
