"""Adopting a renewal a person made without linking it to its contract.

A rep often opens the renewal by hand: an Opportunity of type Renewal on the account,
closing around the contract's end, that names no contract. sfrenew must not create a
second one beside it. The rule: among the account's open Renewal-type opportunities a
person made that name no contract, the one whose close date is nearest the contract's
end date, within ``close_date_window_days`` either side, is the contract's renewal
(equal distances: the earlier close date, then the smaller Id, so the choice is
stable). The others within the window are reported, not adopted.

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
