"""Adopting a renewal a person made without linking it to its contract.

A rep often opens the renewal by hand: an Opportunity of type Renewal on the account,
closing around the contract's end, that names no contract. sfrenew must not create a
second one beside it. The rule: among the account's open Renewal-type opportunities a
person made that name no contract, the one whose close date is nearest the contract's
end date, within ``close_date_window_days`` either side, is the contract's renewal
(equal distances: the earlier close date, then the smaller Id, so the choice is
stable). The others within the window are reported, not adopted.

An adopted renewal stays the person's: sfrenew plans it as its own group (its contracts
are never co-termed into another renewal) and writes on it only what sfrenew owns,
:data:`OWNED_FIELDS` (its talk track and derivation, risk, approval and overdue
fields) and its own cadence tasks, never the person's lines, stage, amount, close
date, name or owner. It keeps doing so on later runs, through the contract's link and
the ledger, until a person closes the opportunity.

Worked example (window 45 days): a contract ends 2026-06-30; the account has open
Renewal opportunities closing 2026-06-20 (10 days before), 2026-07-15 (15 days after)
and 2026-09-30 (92 days after). The first is adopted; the second is reported as
another candidate; the third is outside the window and ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from sfrenew.core.domain import Contract, ExistingRenewal
from sfrenew.core.policy import AdoptionPolicy

# The renewal_opportunity concept fields sfrenew writes on an adopted opportunity: its
# own view of the renewal. Everything else on the opportunity is the person's.
OWNED_FIELDS = ("explanation", "derivation", "risk_level", "risk_score", "risk_reasons",
                "needs_approval", "approval_reason", "overdue", "days_overdue")


class Adoption(NamedTuple):
    """A person's renewal opportunity adopted as a contract's renewal."""

    contract_id: str
    opportunity_id: str
    close_date: date
    days_from_end: int  # close date minus contract end date (negative: before the end)
    others: tuple[str, ...]  # other candidates within the window, nearest first


def adopt(contract: Contract, candidates: Iterable[ExistingRenewal],
          policy: AdoptionPolicy) -> Adoption | None:
    """The opportunity ``contract`` adopts among ``candidates`` (see the module), or None."""
    end = contract.end_date
    if end is None:
        return None
    window = policy.close_date_window_days
    found: list[tuple[int, date, str]] = []
    for candidate in candidates:
        close = candidate.close_date
        if not candidate.adoptable or close is None:
            continue
        days = (close - end).days
        if abs(days) <= window:
            found.append((abs(days), close, candidate.opportunity_id))
    if not found:
        return None
    found.sort()
    _, close, chosen = found[0]
    return Adoption(contract.id, chosen, close, (close - end).days,
                    tuple(opp for _, _, opp in found[1:]))


def describe(adoption: Adoption, window_days: int) -> str:
    """How ``adoption`` was chosen, for the run that adopts (the plan and its report)."""
    days = adoption.days_from_end
    when = (f"{-days} day{'s' if days != -1 else ''} before" if days < 0 else
            f"{days} day{'s' if days != 1 else ''} after" if days > 0 else "on")
    said = (f"adopted opportunity {adoption.opportunity_id}, an open Renewal a person made, "
            f"closing {adoption.close_date.isoformat()} ({when} the contract's end; "
            f"rules.adoption.close_date_window_days is {window_days}): linked to the "
            f"contract, never duplicated; its lines, stage, amount and dates stay the "
            f"person's")
    if adoption.others:
        said += f"; other candidates not adopted: {', '.join(adoption.others)}"
    return said
