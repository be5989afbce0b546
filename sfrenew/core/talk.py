"""What a rep reads first: the talk track on the renewal, its next step and task notes.

The opportunity's explanation leads with what a rep says to the customer, in under
:data:`TALK_MAX` characters: last term's total and annual value, this renewal's total
and annual value, the uplift in % and money and its reason (contract clause, pricing
rule, risk), the dates and term, any change of term and any approval needed, then the
next step. The full derivation (co-term policy comparison, proration fractions, the
index formula, every line, risk points, every task) is
:func:`sfrenew.core.explain.explain_parts`, kept for admins (the ``derivation`` field,
``sfrenew plan``).

Worked example (contract 00000012, 2025-07-01 → 2026-06-30, 10 units at 1,000.00 USD
a year, a contractual uplift of 7 %): last term 10 × 1,000.00 × 12/12 = 10,000.00;
this renewal 10 × 1,070.00 = 10,700.00; uplift 700.00 = 7 % of 10,000.00:

    Acme renewal: 2026-07-01 to 2027-06-30 (12 months), contract 00000012.
    Last term: 10,000.00 USD total (2025-07-01 to 2026-06-30), 10,000.00 USD a year.
    This renewal: 10,700.00 USD total, 10,700.00 USD a year in its first year.
    Uplift: +7% (+700.00 USD a year): 7% from the contract's renewal uplift clause.
    Next step: 2026-03-03 Renewal kickoff: Acme (renewal owner).
    Full derivation (co-term options, proration, formula, every line): the Renewal
    Derivation field or sfrenew plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from sfrenew.core.domain import Account, Contract, RiskLevel
from sfrenew.core.explain import RenewalParts, term_change_words
from sfrenew.core.figures import last_term_total
from sfrenew.core.money import format_money, format_rate
from sfrenew.core.plan import PlannedRenewal
from sfrenew.core.policy import CadencePolicy, PricingMethod
from sfrenew.core.rules.cadence import PlannedTask
from sfrenew.core.rules.term import describe_length, iso, months_and_days
from sfrenew.core.rules.uplift import UpliftBound, UpliftDecision, UpliftSource

TALK_MAX = 1_500
NEXT_STEP_MAX = 255  # Opportunity.NextStep
DESCRIPTION_MAX = 32_000  # Task.Description
DERIVATION_HINT = ("Full derivation (co-term options, proration, formula, every line): the "
                   "Renewal Derivation field or sfrenew plan.")
_SHOWN_REASONS = 3
_SHOWN_STUBS = 2  # co-term stubs and term changes said one by one; more are summed up
_RATE_STEP = Decimal("0.0001")  # an overall uplift is shown to 0.01 %

_SOURCE_WORDS = {
    UpliftSource.LINE: "the renewal uplift written on the contract line (contract clause)",
    UpliftSource.CONTRACT: "the contract's renewal uplift clause",
    UpliftSource.DEFAULT: "the standard renewal uplift",
}


# Bounded identity memo, as explain's: the planner shares one decision between many
# lines, and hashing its fields per line cost more than the words.
_REASON_MEMO_MAX = 1 << 12
_REASONS: dict[int, tuple[UpliftDecision, str]] = {}


def _reason_of(decision: UpliftDecision) -> str:
    found = _REASONS.get(id(decision))
    if found is None or found[0] is not decision:
        if len(_REASONS) > _REASON_MEMO_MAX:
            _REASONS.clear()
        found = _REASONS[id(decision)] = (decision, uplift_reason(decision))
    return found[1]


@lru_cache(maxsize=1 << 12)
def _length(start: date, end: date) -> str:
    return describe_length(*months_and_days(start, end))


def uplift_reason(decision: UpliftDecision) -> str:
    """Why a line's price moved, in a customer's words (no formulas):
    ``5% from the contract's renewal uplift clause, capped at 4% by the contract's cap``."""
    if decision.pricing is PricingMethod.SAME:
        return "prices kept as they were"
    if decision.pricing is PricingMethod.LIST:
        return "current price book prices"
    if decision.source is UpliftSource.RULE:
        where = f'the "{decision.rule_name}" pricing rule'
    else:
        where = _SOURCE_WORDS[decision.source]
    text = f"{format_rate(decision.chosen_rate)} from {where}"
    last = decision.chosen_rate
    if decision.index_rate is not None and decision.index_rate != last:
        text += f", {format_rate(decision.index_rate)} by the price index"
        last = decision.index_rate
    if decision.risk_rate is not None and decision.risk_level is not None:
        text += f", {format_rate(decision.risk_rate)} for {decision.risk_level} risk"
        last = decision.risk_rate
    whose = "the contract's" if decision.bound_by_contract else "the policy"
    if decision.bound is UpliftBound.CAP:
        text += f", capped at {format_rate(decision.rate)} by {whose} cap"
    elif decision.bound is UpliftBound.FLOOR:
        text += f", raised to {format_rate(decision.rate)} by {whose} floor"
    elif decision.rate != last:
        text += f"; {format_rate(decision.rate)} applied"
    return text


def _reasons(parts: RenewalParts) -> str:
    counts: dict[str, int] = {}
    for line in parts.lines:
        words = _reason_of(line.uplift)
        counts[words] = counts.get(words, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    said = [f"{w} ({n} line{'s' if n != 1 else ''})" for w, n in ranked[:_SHOWN_REASONS]]
    if len(ranked) > _SHOWN_REASONS:
        said.append(f"{len(ranked) - _SHOWN_REASONS} more in the derivation")
    return "; ".join(said)


def overall_rate(prior_arr: Decimal, renewal_arr: Decimal) -> Decimal | None:
    """The renewal's annual value change as a fraction of last term's (None: no base)."""
    if not prior_arr:
        return None
    return ((renewal_arr - prior_arr) / prior_arr).quantize(_RATE_STEP, rounding=ROUND_HALF_UP)


def _signed(amount: Decimal, currency: str) -> str:
    return f"{'+' if amount >= 0 else '−'}{format_money(abs(amount), currency)}"


def _role(role: str) -> str:
    return role.replace("_", " ")


def next_step_words(tasks: tuple[PlannedTask, ...]) -> str | None:
    """The next open cadence step (the earliest due): ``2026-03-03 Renewal kickoff: Acme
    (renewal owner)``, at most 255 characters; None without open tasks."""
    if not tasks:
        return None
    task = min(tasks, key=lambda t: (t.due_date, t.step))
    text = f"{iso(task.due_date)} {task.subject} ({_role(task.assignee_role)})"
    return text if len(text) <= NEXT_STEP_MAX else text[:NEXT_STEP_MAX - 1] + "…"


def _number(contract_id: str, contracts: Mapping[str, Contract]) -> str:
    c = contracts.get(contract_id)
    return c.number if c is not None and c.number else contract_id


def _contract_words(parts: RenewalParts, contracts: Mapping[str, Contract]) -> str:
    numbers = [_number(m.contract_id, contracts) for m in parts.coterm.members]
    if len(numbers) == 1:
        return f"contract {numbers[0]}"
    shown = ", ".join(numbers[:3]) + (f" and {len(numbers) - 3} more" if len(numbers) > 3
                                      else "")
    return f"{len(numbers)} contracts co-termed ({shown})"


def _last_term(parts: RenewalParts, contracts: Mapping[str, Contract],
               quantum: Decimal) -> str:
    terms: dict[str, tuple[date, date]] = {}
    for m in parts.coterm.members:
        c = contracts.get(m.contract_id)
        if c is not None and c.start_date is not None and c.end_date is not None:
            terms[m.contract_id] = (c.start_date, c.end_date)
    total = last_term_total(parts.lines, terms, quantum=quantum)
    annual = format_money(parts.figures.prior_arr, parts.currency)
    if total is None:
        return f"Last term: {annual} a year."
    if terms:
        starts, ends = sorted(s for s, _ in terms.values()), sorted(e for _, e in terms.values())
        when = f" ({iso(starts[0])} to {iso(ends[-1])})"
    else:
        when = ""
    return f"Last term: {format_money(total, parts.currency)} total{when}, {annual} a year."


def talk_track(parts: RenewalParts, *, account: Account, contracts: Mapping[str, Contract],
               quantum: Decimal, lead: str | None = None) -> str:
    """The rep's talk track (see the module docstring), at most :data:`TALK_MAX` characters.

    ``lead`` is said first (a lapsed renewal's "OVERDUE: ..." line).
    """
    cur = parts.currency
    fig = parts.figures
    length = _length(parts.start_date, parts.end_date)
    out = [lead] if lead else []
    out += [f"{account.name} renewal: {iso(parts.start_date)} to {iso(parts.end_date)} "
           f"({length}), {_contract_words(parts, contracts)}.",
           _last_term(parts, contracts, quantum),
           f"This renewal: {format_money(parts.amount, cur)} total, "
           f"{format_money(fig.renewal_arr, cur)} a year in its first year."]
    rate = overall_rate(fig.prior_arr, fig.renewal_arr)
    change = (f"{'+' if rate >= 0 else '−'}{format_rate(abs(rate))} ("
              if rate is not None else "(")
    out.append(f"Uplift: {change}{_signed(fig.uplift_amount, cur)} a year): {_reasons(parts)}.")
    changed = {t.contract_id for t in parts.coterm.term_changes}
    stubs = [m for m in parts.coterm.members
             if m.natural_end != parts.end_date and m.contract_id not in changed]
    if len(stubs) > _SHOWN_STUBS:  # one line, not one per contract: the text stays short
        out.append(f"Co-term: {len(stubs)} contracts renew for less or more than their term "
                   f"to end with the others on {iso(parts.end_date)} (each priced for its "
                   f"period; not a change of term).")
    else:
        for m in stubs:
            short = _length(m.start, parts.end_date)
            out.append(f"Co-term: contract {_number(m.contract_id, contracts)} renews for "
                       f"{short} instead of {m.term_months} months, to end with the others "
                       f"(priced for that period; not a change of term).")
    said = set()
    for term in parts.coterm.term_changes:
        said.add(term_change_words(term, anchor=parts.coterm.anchor, contracts=contracts))
    for words in sorted(said)[:_SHOWN_STUBS]:
        out.append(f"Change of term: {words}.")
    if len(said) > _SHOWN_STUBS:
        out.append(f"Change of term: {len(said) - _SHOWN_STUBS} more contracts (see the "
                   f"derivation).")
    if parts.left_out:  # products not renewed: removed by a person, netted out or ended
        shown = "; ".join(parts.left_out[:_SHOWN_STUBS])
        more = len(parts.left_out) - _SHOWN_STUBS
        out.append(f"Not renewed: {shown}" + (f"; and {more} more (see the derivation)."
                                              if more > 0 else "."))
    if parts.approval_reasons:
        # A change of term was said above; other reasons (a contractual uplift the policy
        # changed) are said here, the first two in full.
        others = [r for r in parts.approval_reasons if r not in said]
        text = "Needs approval before it goes to the customer"
        if others:
            text += ": " + "; ".join(others[:_SHOWN_STUBS])
            if len(others) > _SHOWN_STUBS:
                text += f"; and {len(others) - _SHOWN_STUBS} more (Approval Reason field)"
        out.append(text + ".")
    if parts.risk.reasons and parts.risk.level is not RiskLevel.LOW:
        out.append(f"Risk {parts.risk.level}: "
                   + "; ".join(r.text for r in parts.risk.reasons[:2]) + ".")
    step = next_step_words(parts.tasks)
    if step is not None:
        out.append(f"Next step: {step}.")
    out.append(DERIVATION_HINT)
    text = "\n".join(out)
    if len(text) <= TALK_MAX:
        return text
    keep = TALK_MAX - len(DERIVATION_HINT) - 3
    return text[:keep].rstrip() + "…\n" + DERIVATION_HINT


def task_description(parts: RenewalParts, task: PlannedTask, *, opportunity: str,
                     instructions: str = "") -> str:
    """A task's Description: what to do, the renewal's numbers and the renewal it is for.

    The renewal is named, not linked by Id: the task's Related To (WhatId) is the link,
    and an Id that only exists after the first run would rewrite every task once.
    """
    cur = parts.currency
    fig = parts.figures
    rate = overall_rate(fig.prior_arr, fig.renewal_arr)
    pct = f", {'+' if rate >= 0 else '−'}{format_rate(abs(rate))}" if rate is not None else ""
    before = (parts.start_date - task.scheduled_date).days
    length = _length(parts.start_date, parts.end_date)
    lines = [f"What to do: {instructions or task.subject}",
             f"Renewal: {opportunity} (the task's Related To)",
             f"Amount: {format_money(parts.amount, cur)} for {iso(parts.start_date)} to "
             f"{iso(parts.end_date)} ({length}).",
             f"Annual value: {format_money(fig.prior_arr, cur)} last term → "
             f"{format_money(fig.renewal_arr, cur)} ({_signed(fig.uplift_amount, cur)}{pct}).",
             f"Risk: {parts.risk.level}"
             + (f" ({', '.join(parts.risk.reason_codes)})" if parts.risk.reason_codes else "")
             + ".",
             f"Step \"{task.step}\", {before} days before the renewal starts; for the "
             f"{_role(task.assignee_role)}."]
    if parts.approval_reasons:
        lines.append("Needs approval: " + "; ".join(parts.approval_reasons) + ".")
    text = "\n".join(lines)
    return text if len(text) <= DESCRIPTION_MAX else text[:DESCRIPTION_MAX - 1] + "…"


def parts_of(renewal: PlannedRenewal) -> RenewalParts:
    """What the explanations read of a planned renewal."""
    return RenewalParts(
        renewal.coterm, renewal.start_date, renewal.end_date, renewal.amount,
        renewal.currency, renewal.lines, renewal.risk, renewal.forecast, renewal.stage,
        renewal.forecast_capped, renewal.tasks, renewal.unplanned_steps, renewal.figures,
        renewal.approval_reasons)


def task_descriptions(renewal: PlannedRenewal, cadence: CadencePolicy) -> dict[str, str]:
    """Every task's Description, by task key (instructions from the cadence steps)."""
    if not renewal.tasks:
        return {}
    parts = parts_of(renewal)
    steps = {s.name: s.instructions for s in cadence.steps}
    return {t.key: task_description(parts, t, opportunity=renewal.name,
                                    instructions=steps.get(t.step, ""))
            for t in renewal.tasks}
