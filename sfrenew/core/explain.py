"""Plain-language explanations, written on the records a rep reads in Salesforce.

A rep who has never heard of sfrenew must understand from the text alone why the
renewal has these dates, prices, risk, forecast and tasks. Text is deterministic
(same plan, same words), the opportunity's derivation is at most 32,000 characters
(a long text area) and a line's at most 1,000. What a rep reads first, the talk
track, is :mod:`sfrenew.core.talk`; :func:`explain_parts` here is the full derivation
kept for admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from sfrenew.core.domain import Account, Contract
from sfrenew.core.money import format_money, format_rate, quantum_for, round_to
from sfrenew.core.plan import PlannedLine, PlannedRenewal, RenewalFigures
from sfrenew.core.policy import AnchorPolicy, ForecastCategory, PricingMethod, ProrationMethod
from sfrenew.core.rules.cadence import PlannedTask, StepOutcome, UnplannedStep
from sfrenew.core.rules.coterm import AnchorEnd, CotermGroup, CotermMember, TermChange
from sfrenew.core.rules.proration import Proration, split_months
from sfrenew.core.rules.risk import RiskAssessment
from sfrenew.core.rules.term import ONE_DAY, describe_length, iso, months_and_days
from sfrenew.core.rules.uplift import (
    UpliftBound,
    UpliftDecision,
    UpliftSource,
    is_contractual,
)

LINE_MAX = 1_000
RENEWAL_MAX = 32_000

_ANCHOR_WORDS = {
    AnchorPolicy.EARLIEST: "the renewal end of the contract that ends first",
    AnchorPolicy.LATEST: "the renewal end of the contract that ends last",
    AnchorPolicy.LARGEST: "the renewal end of the largest contract (by annual amount)",
    AnchorPolicy.CALENDAR: "the fixed calendar date set for all renewals",
}
_METHOD_WORDS = {
    ProrationMethod.DAY: "days / 365",
    ProrationMethod.MONTH: "whole months, a part month counted as a full month",
    ProrationMethod.MONTH_DAY: "whole months + leftover days / 365",
    ProrationMethod.ACTUAL_PERIOD: "whole months + leftover days / days of that month",
    ProrationMethod.THIRTY_360: "whole months + leftover days / 30",
    ProrationMethod.CPQ_MONTHLY_DAILY: ("whole months from the start + leftover days / 365, "
                                        "as CPQ's Monthly + Daily"),
}


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so when it had to be cut."""
    if len(text) <= limit:
        return text
    marker = "\n… (cut to fit; the full detail is in sfrenew's plan)"
    return text[: limit - len(marker)] + marker


@lru_cache(maxsize=4096)
def describe_uplift(decision: UpliftDecision) -> str:
    """How the rate was found, in words: ``5% from rule "EMEA", capped at 4% (cap)``.

    Memoised, like :func:`describe_proration`: pure text of an immutable value that
    thousands of lines share.
    """
    if decision.source is UpliftSource.LINE:
        where = "the line's uplift field"
    elif decision.source is UpliftSource.CONTRACT:
        where = "the contract's uplift field"
    elif decision.source is UpliftSource.RULE:
        where = f'uplift rule "{decision.rule_name}"'
    else:
        where = "the default uplift"
    text = f"{format_rate(decision.chosen_rate)} from {where}"
    if is_contractual(decision.source):
        text += " (contractual)"
    if decision.index_rate is not None:
        text += f", index formula gives {format_rate(decision.index_rate)}"
    if decision.risk_rate is not None and decision.risk_level is not None:
        text += f", {decision.risk_level} risk adjusts it to {format_rate(decision.risk_rate)}"
    owner = "contractual" if decision.bound_by_contract else "policy"
    if decision.bound is UpliftBound.CAP:
        text += f", capped at {format_rate(decision.rate)} ({owner} cap)"
    elif decision.bound is UpliftBound.FLOOR:
        text += f", raised to {format_rate(decision.rate)} ({owner} floor)"
    elif decision.rate != decision.chosen_rate:
        text += f"; {format_rate(decision.rate)} applied"
    committed = decision.contract_rate
    if committed is not None and committed != decision.rate:  # overrides_contract
        text += f"; the policy changed the contractual {format_rate(committed)} (needs approval)"
    return text


@lru_cache(maxsize=1 << 14)
def describe_proration(proration: Proration) -> str:
    """``8 months and 17 days, priced as (8 + 17/31)/12 of a year (actual_period)``."""
    months = proration.whole_months
    parts = []
    if proration.method is ProrationMethod.DAY:
        parts.append(f"{proration.days} days")
    else:
        if months:
            parts.append(f"{months} month{'s' if months != 1 else ''}")
        if proration.stub_days:
            parts.append(f"{proration.stub_days} day{'s' if proration.stub_days != 1 else ''}")
    length = " and ".join(parts) or "0 days"
    return (f"{proration.start.isoformat()} to {proration.end.isoformat()} is "
            f"{length}, priced as {proration.fraction_text} of a year "
            f"({proration.method.value}: {_METHOD_WORDS[proration.method]})")


@lru_cache(maxsize=1 << 14)
def describe_term(proration: Proration) -> str:
    """The line's period as a term: ``36-month term``, ``term of 11 months and 10 days``."""
    months, stub, _basis = split_months(proration.start, proration.end)
    if not stub:
        return f"{months}-month term"
    parts = [f"{months} month{'s' if months != 1 else ''}"] if months else []
    parts.append(f"{stub} day{'s' if stub != 1 else ''}")
    return "term of " + " and ".join(parts)


def _unit_words(  # noqa: PLR0917 - once per line: positional is cheaper
        term: str, unit: Decimal, prices: tuple[Decimal, ...], quantity: Decimal,
        amount: Decimal, currency: str) -> str:
    """``UnitPrice 3,150.00 USD for the 36-month term (1,050.00 USD a year) × 10 = …``.

    Says which price is which: Salesforce's UnitPrice (Sales Price) is for the line's
    whole period; the annual price is a field of its own.
    """
    year = " in year one" if len(prices) > 1 and prices[-1] != prices[0] else ""
    return (f"UnitPrice {unit:,} {currency} for the {term} ({prices[0]:,} {currency} a "
            f"year{year}) × {quantity} = {amount:,} {currency}.")


def _price_words(prior: Decimal, prices: tuple[Decimal, ...], decision: UpliftDecision,
                 currency: str, quantum: Decimal) -> str:
    """``1,000.00 USD → 1,050.00 USD a year per unit: uplift 5% (…)``: the line's price
    in words (the per-decision words memoised)."""
    _decision, kind, uplift, note = _decision_words(decision)
    prior = round_to(prior, quantum)
    if kind == 2:
        price = (f"{format_money(prior, currency)} → {format_money(prices[0], currency)} a "
                 f"year per unit: uplift {uplift}{note}")
    elif kind == 0:
        price = f"price kept at {format_money(prior, currency)} a year per unit{note}"
    else:
        price = (f"price book price {format_money(prices[0], currency)} a year per unit "
                 f"(was {format_money(prior, currency)}){note}")
    if len(prices) > 1:
        price += "; later years " + ", ".join([format_money(p, currency) for p in prices[1:]])
    return price


def explain_line(
    *,
    product_name: str,
    quantity: Decimal,
    prior: Decimal,
    prices: tuple[Decimal, ...],
    decision: UpliftDecision,
    proration: Proration,
    term_unit_price: Decimal,
    amount: Decimal,
    currency: str,
    decimals: int,
) -> str:
    """A line's short explanation (at most 1,000 characters)."""
    return explain_priced_line(product_name, quantity, prior, prices, decision,
                               proration_words(proration), term_unit_price, amount, currency,
                               quantum_for(decimals))


# An identity memo for the planner's lines: the key is the decision's id and the value
# holds the decision itself, so the id cannot be reused while the entry lives. Bounded.
_MEMO_MAX = 1 << 12
_DECISION_WORDS: dict[int, tuple[UpliftDecision, int, str, str]] = {}


_PRORATION_MEMO_MAX = 1 << 16  # as many as pricing's period memo holds
_PRORATION_WORDS: dict[int, tuple[Proration, tuple[str, str]]] = {}


def proration_words(proration: Proration) -> tuple[str, str]:
    """(:func:`describe_proration`, :func:`describe_term`), memoised by identity.

    The planner's periods are shared values (see ``pricing``), so the same object
    comes back for every line of a contract and every group with that period;
    hashing a Proration's nine fields per lookup cost more than the words.
    """
    found = _PRORATION_WORDS.get(id(proration))
    if found is None or found[0] is not proration:
        if len(_PRORATION_WORDS) > _PRORATION_MEMO_MAX:
            _PRORATION_WORDS.clear()
        found = _PRORATION_WORDS[id(proration)] = (
            proration, (describe_proration(proration), describe_term(proration)))
    return found[1]


def _decision_words(decision: UpliftDecision) -> tuple[UpliftDecision, int, str, str]:
    """(decision, pricing as 0 same / 1 list / 2 uplift, uplift words, note words)."""
    found = _DECISION_WORDS.get(id(decision))
    if found is None or found[0] is not decision:
        pricing = decision.pricing
        kind = 0 if pricing is PricingMethod.SAME else 1 if pricing is PricingMethod.LIST else 2
        note = f" ({decision.pricing_note})" if decision.pricing_note else ""
        if len(_DECISION_WORDS) > _MEMO_MAX:
            _DECISION_WORDS.clear()
        found = _DECISION_WORDS[id(decision)] = (
            decision, kind, describe_uplift(decision) if kind == 2 else "", note)
    return found


def explain_priced_line(  # noqa: PLR0917 - called once per line: positional is cheaper
                        product_name: str, quantity: Decimal, prior: Decimal,
                        prices: tuple[Decimal, ...], decision: UpliftDecision,
                        period_words: tuple[str, str], unit: Decimal, amount: Decimal,
                        currency: str, quantum: Decimal) -> str:
    """:func:`explain_line` with positional arguments, for the planner's loop over lines.

    ``period_words`` is ``proration_words(proration)`` (the planner describes each
    contract's period once, not once per line), ``quantum`` the currency's
    (``quantum_for(decimals)``).
    """
    text = (f"{product_name} × {quantity}: "
            f"{_price_words(prior, prices, decision, currency, quantum)}. {period_words[0]}. "
            + _unit_words(period_words[1], unit, prices, quantity, amount, currency))
    return text if len(text) <= LINE_MAX else truncate(text, LINE_MAX)


def explain_renewal(renewal: PlannedRenewal, *, account: Account,
                    contracts: Mapping[str, Contract], window_days: int) -> str:
    """The renewal's full derivation for admins (at most 32,000 characters)."""
    return explain_parts(RenewalParts(
        renewal.coterm, renewal.start_date, renewal.end_date, renewal.amount,
        renewal.currency, renewal.lines, renewal.risk, renewal.forecast, renewal.stage,
        renewal.forecast_capped, renewal.tasks, renewal.unplanned_steps, renewal.figures,
        renewal.approval_reasons), account=account, contracts=contracts,
        window_days=window_days)


class RenewalParts(NamedTuple):
    """What :func:`explain_parts` reads of a renewal (the planner has them before it)."""

    coterm: CotermGroup
    start_date: date
    end_date: date
    amount: Decimal
    currency: str
    lines: tuple[PlannedLine, ...]
    risk: RiskAssessment
    forecast: ForecastCategory
    stage: str
    forecast_capped: bool
    tasks: tuple[PlannedTask, ...]
    unplanned_steps: tuple[UnplannedStep, ...]
    figures: RenewalFigures
    approval_reasons: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()  # lines that do not renew (see rules.lines), in words


def figures_words(figures: RenewalFigures, currency: str) -> str:
    """``Annual value: 10,000.00 USD before, 10,500.00 USD in year one (+500.00 USD); …``."""
    change = figures.uplift_amount
    sign = "+" if change >= 0 else "−"
    return (f"Annual value (ARR): {figures.prior_arr:,} {currency} before, "
            f"{figures.renewal_arr:,} {currency} in the renewal's first year "
            f"({sign}{abs(change):,} {currency}); term {figures.term_months} months.")


def _number(contract_id: str, contracts: Mapping[str, Contract]) -> str:
    contract = contracts.get(contract_id)
    return contract.number if contract is not None and contract.number else contract_id


def term_change_words(change: TermChange, *, anchor: AnchorEnd,
                      contracts: Mapping[str, Contract]) -> str:
    """A term change in plain words, e.g. "the 36-month term of contract 00000005 is
    shortened to 11 months and 9 days (2027-03-03 to 2028-02-11 instead of 2030-03-02)
    to co-term with contract 00000001"."""
    length = describe_length(*months_and_days(change.start, change.end_date))
    verb = "shortened" if change.shift_days < 0 else "extended"
    if anchor.anchor_contract_id is None:
        target = f"the fixed calendar date {iso(anchor.end_date)}"
    elif anchor.anchor_contract_id == change.contract_id:
        target = "the other contracts of this renewal"
    else:
        target = f"contract {_number(anchor.anchor_contract_id, contracts)}"
    return (f"the {change.term_months}-month term of contract "
            f"{_number(change.contract_id, contracts)} is {verb} to {length} "
            f"({iso(change.start)} to {iso(change.end_date)} instead of "
            f"{iso(change.natural_end)}) to co-term with {target}")


def _member_words(m: CotermMember, end: date, number: str, changed: bool) -> str:
    """One contract of the renewal: its dates, its term and what co-terming did to it."""
    text = f"- Contract {number} ends {iso(m.start - ONE_DAY)}; its renewal starts {iso(m.start)}"
    shift = (end - m.natural_end).days
    if shift == 0:
        return f"{text} and runs its full {m.term_months}-month term to {iso(end)}."
    length = describe_length(*months_and_days(m.start, end))
    if shift < 0:
        moved = f"{-shift} day{'s' if shift != -1 else ''} sooner"
    else:
        moved = f"{shift} day{'s' if shift != 1 else ''} later"
    text += (f". Its {m.term_months}-month term would end {iso(m.natural_end)}; co-terming "
             f"ends it on {iso(end)}, {moved}: {length}")
    if changed:
        return text + ". That changes the contract's term, so the renewal needs approval."
    return text + " (a stub within the co-term window, not a change of term)."


# Enum members below are formatted directly: a StrEnum formats as its value.
def explain_parts(renewal: RenewalParts, *, account: Account,
                  contracts: Mapping[str, Contract], window_days: int) -> str:
    """:func:`explain_renewal` of a renewal not built yet."""
    group = renewal.coterm
    n = len(group.members)
    end_text = iso(renewal.end_date)
    months, days = months_and_days(renewal.start_date, renewal.end_date)
    out = [f"Renewal of {n} contract{'s' if n != 1 else ''} for {account.name}, "
           f"{iso(renewal.start_date)} to {end_text} ({describe_length(months, days)}), "
           f"{format_money(renewal.amount, renewal.currency)} for the term.",
           figures_words(renewal.figures, renewal.currency)]
    if renewal.approval_reasons:
        out += ["", "Needs approval"]
        for reason in renewal.approval_reasons:
            out.append(f"- {reason[:1].upper()}{reason[1:]}.")
    out += ["", "Contracts renewed"]
    changed = set()
    for change in group.term_changes:
        changed.add(change.contract_id)
    for m in group.members:
        out.append(_member_words(m, renewal.end_date, _number(m.contract_id, contracts),
                                 m.contract_id in changed))
    out += ["", "Why these dates"]
    if n > 1:
        terms = set()
        for m in group.members:
            terms.add(m.term_months)
        same = (f"have the same {group.members[0].term_months}-month term"
                if len(terms) == 1 else "have terms the co-terming policy lets share a renewal")
        out.append(f"These contracts renew within {window_days} days of each other and {same}, "
                   f"so they are renewed together on one opportunity and all lines end on the "
                   f"same day (co-terming). Co-terming moves a line's end by at most "
                   f"{window_days} days unless the policy allows a change of term.")
    out.append(f"Lines end on {end_text}: "
               f"{_ANCHOR_WORDS[group.anchor.policy]} "
               f"(co-terming policy \"{group.anchor.policy}\").")
    if group.anchor.rolled_forward:
        out.append("That date fell before a line's start, so it was moved on by one term.")
    out.append("A term ends the day before the same day of the month it started on; when "
               "that month is too short, it ends on the month's last day.")
    out.append("Other policies, for comparison:")
    currency = renewal.currency
    # Loops rather than comprehensions: a comprehension is a call, and this runs per renewal.
    for o in group.comparison:
        out.append(f"- {o.policy}{' (chosen)' if o.chosen else ''}: ends {iso(o.end_date)}, "
                   f"gap {o.gap_days} days (lines ending before their normal renewal end), "
                   f"overlap {o.overlap_days} days (lines running past it), "
                   f"{format_money(o.amount, currency)}.")
    out += ["", f"Price (total {renewal.amount:,} {currency})"]
    for line in renewal.lines:
        out.append(f"- {line.explanation}")
    if renewal.left_out:
        out += ["", "Not renewed"]
        for said in renewal.left_out:
            out.append(f"- {said}.")
    risk = renewal.risk
    out += ["", f"Risk: {risk.level} ({risk.score} of 100 points)"]
    if risk.reasons:
        for r in risk.reasons:
            out.append(f"- {r.text} ({r.points} points, {r.code})")
    else:
        out.append("- no risk signal fired")
    forecast = f"Forecast: {renewal.forecast} (stage \"{renewal.stage}\")"
    if renewal.forecast_capped:
        forecast += f"; lowered because the risk is {risk.level}"
    out += ["", forecast + ".", "", "Tasks"]
    for t in renewal.tasks:
        if t.moved:
            out.append(f"- {iso(t.due_date)}: {t.subject} ({t.priority}, {t.assignee_role})"
                       f" — scheduled for {iso(t.scheduled_date)}, which had passed")
        else:
            out.append(f"- {iso(t.due_date)}: {t.subject} ({t.priority}, {t.assignee_role})")
    for s in renewal.unplanned_steps:
        out.append(f"- no task for step \"{s.step}\" ({iso(s.scheduled_date)}): "
                   f"{_STEP_WORDS[s.outcome]}")
    text = "\n".join(out)
    return text if len(text) <= RENEWAL_MAX else truncate(text, RENEWAL_MAX)


_STEP_WORDS = {
    StepOutcome.PAST_DUE_SKIPPED: "its date had passed when the renewal was first planned",
    StepOutcome.COMPLETED: "already completed",
    StepOutcome.NOT_HIGH_RISK: "only for High-risk renewals",
}

