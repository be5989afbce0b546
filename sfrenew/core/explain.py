"""Plain-language explanations, written on the records a rep reads in Salesforce.

A rep who has never heard of sfrenew must understand from the text alone why the
renewal has these dates, prices, risk, forecast and tasks. Text is deterministic
(same plan, same words), the opportunity's summary is at most 32,000 characters
(a long text area) and a line's at most 1,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import NamedTuple

from sfrenew.core.domain import Account, Contract
from sfrenew.core.money import format_money, format_rate, round_money
from sfrenew.core.plan import PlannedLine, PlannedRenewal
from sfrenew.core.policy import AnchorPolicy, ForecastCategory, PricingMethod, ProrationMethod
from sfrenew.core.rules.cadence import PlannedTask, StepOutcome, UnplannedStep
from sfrenew.core.rules.coterm import CotermGroup
from sfrenew.core.rules.proration import Proration
from sfrenew.core.rules.risk import RiskAssessment
from sfrenew.core.rules.term import ONE_DAY, iso
from sfrenew.core.rules.uplift import UpliftBound, UpliftDecision, UpliftSource

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
    if decision.index_rate is not None:
        text += f", index formula gives {format_rate(decision.index_rate)}"
    if decision.risk_rate is not None and decision.risk_level is not None:
        text += f", {decision.risk_level} risk adjusts it to {format_rate(decision.risk_rate)}"
    if decision.bound is UpliftBound.CAP:
        text += f", capped at {format_rate(decision.rate)} (contractual cap)"
    elif decision.bound is UpliftBound.FLOOR:
        text += f", raised to {format_rate(decision.rate)} (contractual floor)"
    elif decision.rate != decision.chosen_rate:
        text += f"; {format_rate(decision.rate)} applied"
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


def _price_words(prior: Decimal, prices: tuple[Decimal, ...], decision: UpliftDecision,
                 currency: str, decimals: int) -> str:
    prior = round_money(prior, decimals)
    if decision.pricing is PricingMethod.SAME:
        price = f"price kept at {format_money(prior, currency)} a year per unit"
    elif decision.pricing is PricingMethod.LIST:
        price = (f"price book price {format_money(prices[0], currency)} a year per unit "
                 f"(was {format_money(prior, currency)})")
    else:
        price = (f"{format_money(prior, currency)} → {format_money(prices[0], currency)} "
                 f"a year per unit: uplift {describe_uplift(decision)}")
    if decision.pricing_note:
        price += f" ({decision.pricing_note})"
    if len(prices) > 1:
        price += "; later years " + ", ".join(format_money(p, currency) for p in prices[1:])
    return price


def explain_line(
    *,
    product_name: str,
    quantity: Decimal,
    prior: Decimal,
    prices: tuple[Decimal, ...],
    decision: UpliftDecision,
    proration: Proration,
    amount: Decimal,
    currency: str,
    decimals: int,
) -> str:
    """A line's short explanation (at most 1,000 characters)."""
    price = _price_words(prior, prices, decision, currency, decimals)
    text = (f"{product_name} × {quantity}: {price}. "
            f"{describe_proration(proration)}: {format_money(amount, currency)}.")
    return truncate(text, LINE_MAX)


# An identity memo for the planner's lines: the key is the decision's id and the value
# holds the decision itself, so the id cannot be reused while the entry lives. Bounded.
_MEMO_MAX = 1 << 12
_DECISION_WORDS: dict[int, tuple[UpliftDecision, int, str, str]] = {}


_PRORATION_MEMO_MAX = 1 << 16  # as many as pricing's period memo holds
_PRORATION_WORDS: dict[int, tuple[Proration, str]] = {}


def proration_words(proration: Proration) -> str:
    """:func:`describe_proration`, memoised by identity for the planner's lines.

    The planner's periods are shared values (see ``pricing``), so the same object
    comes back for every line of a contract and every group with that period;
    hashing a Proration's nine fields per lookup cost more than the words.
    """
    found = _PRORATION_WORDS.get(id(proration))
    if found is None or found[0] is not proration:
        if len(_PRORATION_WORDS) > _PRORATION_MEMO_MAX:
            _PRORATION_WORDS.clear()
        found = _PRORATION_WORDS[id(proration)] = (proration, describe_proration(proration))
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
                        period_words: str, amount: Decimal, currency: str,
                        quantum: Decimal) -> str:
    """:func:`explain_line`, word for word, for the planner's hot loop.

    Positional; ``period_words`` is ``describe_proration(proration)`` (the planner
    describes each contract's period once, not once per line), ``quantum`` the
    currency's (``quantum_for(decimals)``); the per-decision words are memoised and
    ``format_money`` is written inline.
    """
    found = _DECISION_WORDS.get(id(decision))  # _decision_words' hit, inline
    if found is None or found[0] is not decision:
        found = _decision_words(decision)
    _decision, kind, uplift, note = found
    prior = prior.quantize(quantum, rounding=ROUND_HALF_UP)  # round_money, inline
    if kind == 2:
        price = (f"{prior:,} {currency} → {prices[0]:,} {currency} a year per unit: "
                 f"uplift {uplift}{note}")
    elif kind == 0:
        price = f"price kept at {prior:,} {currency} a year per unit{note}"
    else:
        price = (f"price book price {prices[0]:,} {currency} a year per unit "
                 f"(was {prior:,} {currency}){note}")
    if len(prices) > 1:
        price += "; later years " + ", ".join([f"{p:,} {currency}" for p in prices[1:]])
    text = f"{product_name} × {quantity}: {price}. {period_words}: {amount:,} {currency}."
    return text if len(text) <= LINE_MAX else truncate(text, LINE_MAX)


def explain_renewal(renewal: PlannedRenewal, *, account: Account,
                    contracts: Mapping[str, Contract], window_days: int) -> str:
    """The opportunity's plain-language summary (at most 32,000 characters)."""
    return explain_parts(RenewalParts(
        renewal.coterm, renewal.start_date, renewal.end_date, renewal.amount,
        renewal.currency, renewal.lines, renewal.risk, renewal.forecast, renewal.stage,
        renewal.forecast_capped, renewal.tasks, renewal.unplanned_steps),
        account=account, contracts=contracts, window_days=window_days)


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
    left_out: tuple[str, ...] = ()  # lines that do not renew (see rules.lines), in words


# Enum members below are formatted directly: a StrEnum formats as its value.
def explain_parts(renewal: RenewalParts, *, account: Account,
                  contracts: Mapping[str, Contract], window_days: int) -> str:
    """:func:`explain_renewal` of a renewal not built yet."""
    group = renewal.coterm
    n = len(group.members)
    end_text = iso(renewal.end_date)
    out = [f"Renewal of {n} contract{'s' if n != 1 else ''} for {account.name}, "
           f"{iso(renewal.start_date)} to {end_text}, "
           f"{format_money(renewal.amount, renewal.currency)}.", "", "Contracts renewed"]
    for m in group.members:
        contract = contracts.get(m.contract_id)
        number = contract.number if contract is not None else m.contract_id
        out.append(f"- Contract {number} ends {iso(m.start - ONE_DAY)}; "
                   f"its renewal starts {iso(m.start)} "
                   f"(a {m.term_months}-month term would end {iso(m.natural_end)}).")
    out += ["", "Why these dates"]
    if n > 1:
        out.append(f"These contracts renew within {window_days} days of each other, so they "
                   f"are renewed together on one opportunity and all lines end on the same "
                   f"day (co-terming).")
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
                   f"{o.amount:,} {currency}.")  # format_money, inline
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
        if t.due_date != t.scheduled_date:  # t.moved, inline
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

