"""What the planner produces for one account: the desired renewal state, as values.

The values the planner makes by the hundred thousand (lines, renewals, tasks, anchor
outcomes, prorations, risk reasons, here and in ``rules``) are ``NamedTuple``s: as
immutable as frozen dataclasses, compared and hashed by value and with the same
``repr``, but built by one C call instead of a store per field (planning 100,000
contracts builds about two million of them). Read them by field name only: that they
are also tuples (indexable, iterable, equal to a plain tuple of the same values) is
an implementation detail no code should rely on. The plan itself stays a dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from sfrenew.core.domain import RiskLevel
from sfrenew.core.policy import ForecastCategory
from sfrenew.core.rules.adoption import Adoption
from sfrenew.core.rules.cadence import PlannedTask, UnplannedStep
from sfrenew.core.rules.coterm import CotermGroup
from sfrenew.core.rules.proration import Proration
from sfrenew.core.rules.risk import RiskAssessment
from sfrenew.core.rules.uplift import UpliftDecision


class SkipReason(StrEnum):
    """Why a contract has no renewal in the plan (reported, never silently dropped)."""

    STATUS_NOT_ELIGIBLE = "status_not_eligible"
    DO_NOT_RENEW = "do_not_renew"
    ALREADY_RENEWED_BY_PERSON = "already_renewed_by_person"
    RENEWAL_DELETED_BY_PERSON = "renewal_deleted_by_person"
    RENEWAL_CLOSED = "renewal_closed"
    EVERGREEN = "evergreen"
    BELOW_MIN_TERM = "below_min_term"
    MISSING_END_DATE = "missing_end_date"
    ALREADY_ENDED = "already_ended"
    BEYOND_HORIZON = "beyond_horizon"
    UNKNOWN_CURRENCY = "unknown_currency"
    NO_LINES = "no_lines"
    LINE_WITHOUT_PRICE = "line_without_price"
    NON_POSITIVE_AMOUNT = "non_positive_amount"
    INVALID_TERM = "invalid_term"
    # Dirty data: reported with what to fix, never renewed on a guess.
    END_BEFORE_START = "end_before_start"
    CURRENCY_MISMATCH = "currency_mismatch"
    ACCOUNT_DELETED = "account_deleted"


class SkippedContract(NamedTuple):
    """A contract left without a renewal, with a reason code and a sentence."""

    contract_id: str
    reason: SkipReason
    detail: str


class LeftAloneRenewal(NamedTuple):
    """An open renewal sfrenew made earlier for a contract it no longer renews.

    A month-to-month or evergreen contract may have one from an earlier version or
    policy: it is neither updated nor closed (its lines and open tasks stay as they
    are), and the run reports it so a person can decide.
    """

    opportunity_id: str
    key: str | None
    contract_id: str
    reason: SkipReason


class PlannedLine(NamedTuple):
    """One renewal line: the product, its period, price and every decision behind it.

    ``unit_prices`` holds the annual unit price for each year of the line (one entry
    unless the line runs longer than a year); ``unit_price`` is the first year's.
    ``term_unit_price`` is the price of one unit for the line's whole period (what
    Salesforce's ``UnitPrice`` holds), rounded to the currency; ``amount`` is the
    line total, ``quantity × term_unit_price`` (Salesforce's ``TotalPrice``).
    """

    key: str
    contract_id: str
    source_line_id: str
    product_id: str
    product_name: str
    quantity: Decimal
    start_date: date
    end_date: date
    prior_unit_price: Decimal
    unit_prices: tuple[Decimal, ...]
    term_unit_price: Decimal
    amount: Decimal
    uplift: UpliftDecision
    proration: Proration
    explanation: str

    @property
    def unit_price(self) -> Decimal:
        """The first year's annual unit price."""
        return self.unit_prices[0]


class RenewalFigures(NamedTuple):
    """The numbers a desk forecasts with, written on the renewal opportunity.

    Made by :func:`sfrenew.core.figures.renewal_figures` (their one definition):
    ``prior_arr`` is the annual value of the renewed lines at their prior prices,
    ``renewal_arr`` their annual value at the renewal's first-year prices,
    ``uplift_amount`` the difference, ``term_months`` the renewal's length in months
    (a part month counted as a whole one). Money is rounded to the currency.
    """

    prior_arr: Decimal
    renewal_arr: Decimal
    uplift_amount: Decimal
    term_months: int


class PlannedRenewal(NamedTuple):
    """One renewal opportunity: a co-term group of contracts renewed together.

    ``amount`` is the total contract value of the renewal term, the sum of the lines'
    amounts (what Salesforce rolls up into Opportunity.Amount).
    """

    key: str
    account_id: str
    name: str
    currency: str
    start_date: date
    end_date: date
    close_date: date
    stage: str
    amount: Decimal
    coterm: CotermGroup
    lines: tuple[PlannedLine, ...]
    tasks: tuple[PlannedTask, ...]
    unplanned_steps: tuple[UnplannedStep, ...]
    risk: RiskAssessment
    forecast: ForecastCategory
    forecast_capped: bool
    existing_opportunity_id: str | None
    explanation: str
    figures: RenewalFigures
    # Why a person must approve the renewal before it goes to the customer, in plain
    # words (empty: no approval needed); see ``planner.approval_reasons``.
    approval_reasons: tuple[str, ...] = ()
    # The full derivation for admins (``explain.explain_parts``); ``explanation`` is the
    # rep's talk track (``talk.talk_track``).
    derivation: str = ""
    # Days since the contract ended, unsigned (0: not lapsed); see ``rules.lapse``.
    days_overdue: int = 0
    # A renewal a person made that sfrenew adopted (``rules.adoption``): the opportunity
    # is ``existing_opportunity_id``; sfrenew writes only its own fields and tasks on it.
    adopted: bool = False

    @property
    def contract_ids(self) -> tuple[str, ...]:
        """The renewed contracts, sorted."""
        return self.coterm.contract_ids

    @property
    def is_overdue(self) -> bool:
        """True when the renewal is past its start date and still unsigned (lapsed)."""
        return self.days_overdue > 0

    @property
    def needs_approval(self) -> bool:
        """True when the renewal must be approved (see ``approval_reasons``)."""
        return bool(self.approval_reasons)


@dataclass(frozen=True, slots=True)
class RenewalPlan:
    """The desired renewal state of one account."""

    account_id: str
    renewals: tuple[PlannedRenewal, ...]
    skipped: tuple[SkippedContract, ...]
    left_alone: tuple[LeftAloneRenewal, ...] = ()
    # Renewals people made without a link, adopted by contracts on this run
    # (rules.adoption); each is planned as a renewal with ``adopted`` set.
    adopted: tuple[Adoption, ...] = ()

    @property
    def account_risk(self) -> RiskLevel | None:
        """The highest risk among the account's renewals (None when it has none)."""
        order = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}
        levels = [r.risk.level for r in self.renewals]
        return max(levels, key=order.__getitem__) if levels else None
