"""The analytics' input and output values: one renewal as the desk reports on it.

A :class:`RenewalFact` is what the mirror says about one renewal opportunity (its
contract's end, the ARR figures sfrenew wrote on it, where it stands). Every figure in
this package is a pure function of a sequence of them, a reporting currency with its
:class:`~sfrenew.core.analytics._currency.ConversionRates`, and ``today``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Outcome(StrEnum):
    """Where a renewal stands."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class RenewalFact:
    """One renewal opportunity, in its own currency.

    ``due`` is the renewed contract's end date: every figure puts a renewal in the
    period of its ``due`` date (the *cohort*). ``won_arr`` is the annual value the
    renewal closed at (None unless won); ``uplift`` the price escalator sfrenew wrote
    (renewal ARR − prior ARR at the renewed quantities).
    """

    renewal_id: str
    account: str
    currency: str
    due: date
    close_date: date
    outcome: Outcome
    prior_arr: Decimal
    renewal_arr: Decimal
    uplift: Decimal
    won_arr: Decimal | None = None
    loss_reason: str | None = None
    forecast_category: str | None = None
    risk_level: str | None = None
    segment: str | None = None
    region: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class RenewalOutcome:
    """One closed renewal split into the retention movements (reporting currency).

    prior − churn − contraction + uplift + expansion = renewed (the won ARR; 0 when lost).
    """

    renewal_id: str
    period: str
    prior: Decimal
    renewed: Decimal
    uplift: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    loss_reason: str | None
