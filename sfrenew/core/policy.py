"""The rules policy: every knob of the ``rules:`` config section, as frozen values.

The config loader (``sfrenew.config.rules``) validates the YAML with pydantic and
converts it into these values; the core never sees pydantic. Defaults here are the
documented defaults of ``config.example.yaml``, so tests and benchmarks can build a
policy with ``RulesPolicy()`` and override only what they exercise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

# PricingMethod is policy vocabulary, defined in domain (Account uses it) and re-exported.
from sfrenew.core.domain import PricingMethod as PricingMethod  # noqa: PLC0414
from sfrenew.core.domain import RiskLevel
from sfrenew.core.formula import Formula


class AnchorPolicy(StrEnum):
    """Which end date a co-termed group of renewals is aligned to."""

    EARLIEST = "earliest"
    LATEST = "latest"
    LARGEST = "largest"
    CALENDAR = "calendar"


class TermCompatibility(StrEnum):
    """Which renewal terms may share a co-term group."""

    SAME_TERM = "same_term"  # only renewals with the same term length (the default)
    ANY = "any"  # any terms (a line may still move by at most the window, see CotermPolicy)


class ProrationMethod(StrEnum):
    """How a period shorter or longer than a year is priced against an annual price."""

    DAY = "day"
    MONTH = "month"
    MONTH_DAY = "month_day"
    ACTUAL_PERIOD = "actual_period"
    THIRTY_360 = "30_360"
    CPQ_MONTHLY_DAILY = "cpq_monthly_daily"  # CPQ's "Monthly + Daily" prorate precision


class PastDuePolicy(StrEnum):
    """What to do with a cadence step whose date has passed when it is first planned."""

    SKIP = "skip"
    DUE_TODAY = "due_today"


class TaskPriority(StrEnum):
    """Salesforce Task priorities."""

    HIGH = "High"
    NORMAL = "Normal"
    LOW = "Low"


class ForecastCategory(StrEnum):
    """Salesforce forecast categories, from least to most certain."""

    OMITTED = "Omitted"
    PIPELINE = "Pipeline"
    BEST_CASE = "Best Case"
    COMMIT = "Commit"
    CLOSED = "Closed"


FORECAST_ORDER = {c: i for i, c in enumerate(ForecastCategory)}


def _no_values() -> Mapping[str, Decimal]:
    return MappingProxyType({})


def _no_adjustments() -> Mapping[RiskLevel, RiskAdjustment]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class EligibilityPolicy:
    """Which contracts are renewed now."""

    statuses: frozenset[str] = frozenset({"Activated"})
    horizon_days: int = 180  # contracts ending within [today, today + horizon] renew
    # Month-to-month and evergreen contracts renew by themselves: no opportunity by default.
    min_term_months: int = 3  # renewal terms shorter than this get no renewal opportunity
    renew_evergreen: bool = False  # evergreen (auto-renewing) contracts get one only if set


@dataclass(frozen=True, slots=True)
class AdoptionPolicy:
    """Which renewal opportunities a person made sfrenew recognises without a link.

    An open opportunity of type Renewal on the contract's account, naming no contract,
    whose close date lies within ``close_date_window_days`` of the contract's end date
    is the contract's renewal: sfrenew links it and never creates a second one.
    """

    close_date_window_days: int = 45


@dataclass(frozen=True, slots=True)
class CotermPolicy:
    """How renewals of one account are grouped and aligned."""

    enabled: bool = True
    window_days: int = 60
    anchor: AnchorPolicy = AnchorPolicy.EARLIEST
    calendar_month: int = 12
    calendar_day: int = 31
    calendar_min_days: int = 30  # shortest stub the calendar anchor may create
    term_compatibility: TermCompatibility = TermCompatibility.SAME_TERM
    # False: a contract anchor never moves a line's end by more than window_days (a line
    # that would move further renews on its own). True: it may, and such renewals are
    # explained and flagged for approval (as every calendar-anchor move beyond the window).
    allow_term_change: bool = False


@dataclass(frozen=True, slots=True)
class UpliftRule:
    """One entry of the ordered uplift rule list; empty criteria match everything."""

    name: str
    rate: Decimal
    segment: str | None = None
    product_family: str | None = None
    region: str | None = None

    @property
    def is_catch_all(self) -> bool:
        """True when the rule matches every line."""
        return self.segment is None and self.product_family is None and self.region is None


@dataclass(frozen=True, slots=True)
class RiskAdjustment:
    """How a risk level changes the uplift rate: add ``add``, then cap at ``max_rate``."""

    add: Decimal = Decimal(0)
    max_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ContractualUplift:
    """Which policy steps may change a contractual rate (the line's or contract's field).

    A rate written on the line or contract is a commitment: by default only the
    contract's own cap and floor bound it. Each flag lets one policy step change it
    too; a rate changed that way is flagged for approval
    (:attr:`~sfrenew.core.rules.uplift.UpliftDecision.overrides_contract`).
    """

    index: bool = False  # the index formula
    policy_bounds: bool = False  # uplift.cap / uplift.floor where the contract has none
    risk: bool = False  # the risk adjustments


@dataclass(frozen=True, slots=True)
class UpliftPolicy:
    """Uplift precedence, bounds and pricing.

    ``compound_multi_year`` None means "auto": compound, except for an account whose
    own pricing method decides its renewals (CPQ's Renewal Pricing Method applies the
    uplift once to the renewal term).
    """

    default_rate: Decimal = Decimal("0.05")
    pricing: PricingMethod = PricingMethod.UPLIFT
    cap: Decimal | None = None
    floor: Decimal | None = None
    compound_multi_year: bool | None = None
    contractual: ContractualUplift = field(default_factory=ContractualUplift)
    rules: tuple[UpliftRule, ...] = ()
    index_formula: Formula | None = None
    index_values: Mapping[str, Decimal] = field(default_factory=_no_values)
    risk_adjustments: Mapping[RiskLevel, RiskAdjustment] = field(default_factory=_no_adjustments)


class SignalName(StrEnum):
    """The risk signals sfrenew knows; each is also the reason code it reports."""

    LOW_HEALTH_SCORE = "low_health_score"
    OPEN_HIGH_SEVERITY_CASES = "open_high_severity_cases"
    NO_RECENT_ACTIVITY = "no_recent_activity"
    USAGE_DECLINE = "usage_decline"
    CHAMPION_GONE = "champion_gone"
    LATE_PREVIOUS_RENEWAL = "late_previous_renewal"
    PAYMENT_OVERDUE = "payment_overdue"
    LARGE_UPLIFT = "large_uplift"


@dataclass(frozen=True, slots=True)
class SignalPolicy:
    """One risk signal: its points and the threshold that makes it fire.

    ``threshold`` means, per signal: health score below it; at least that many
    open high-severity cases; at least that many days since the last completed
    activity; usage fell by at least that fraction (0.20: 20%); the previous renewal was
    signed at least that many days late; payment at least that many days overdue;
    an uplift rate of at least it. ``champion_gone`` ignores it.
    """

    name: SignalName
    points: int
    threshold: Decimal = Decimal(0)


def _default_signals() -> tuple[SignalPolicy, ...]:
    return (
        SignalPolicy(SignalName.LOW_HEALTH_SCORE, 20, Decimal(60)),
        SignalPolicy(SignalName.OPEN_HIGH_SEVERITY_CASES, 15, Decimal(1)),
        SignalPolicy(SignalName.NO_RECENT_ACTIVITY, 10, Decimal(60)),
        SignalPolicy(SignalName.USAGE_DECLINE, 15, Decimal("0.20")),
        SignalPolicy(SignalName.CHAMPION_GONE, 15),
        SignalPolicy(SignalName.LATE_PREVIOUS_RENEWAL, 5, Decimal(1)),
        SignalPolicy(SignalName.PAYMENT_OVERDUE, 10, Decimal(30)),
        SignalPolicy(SignalName.LARGE_UPLIFT, 10, Decimal("0.07")),
    )


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Risk signals (points add to 100) and the score thresholds for each level."""

    signals: tuple[SignalPolicy, ...] = field(default_factory=_default_signals)
    medium_at: int = 30
    high_at: int = 60

    def __post_init__(self) -> None:
        """Refuse a policy whose scores would not mean "out of 100"."""
        total = sum(s.points for s in self.signals)
        if self.signals and total != 100:
            raise ValueError(f"risk signal points add up to {total}; they must add up to 100")
        if any(s.points < 0 for s in self.signals):
            raise ValueError("risk signal points must not be negative")
        if not 0 <= self.medium_at <= self.high_at:
            raise ValueError(f"risk thresholds must satisfy 0 <= medium ({self.medium_at}) "
                             f"<= high ({self.high_at})")


class AssigneeRole(StrEnum):
    """Who a cadence task goes to; each role resolves to a user (``rules.owners``)."""

    RENEWAL_OWNER = "renewal_owner"
    RENEWAL_MANAGER = "renewal_manager"
    ACCOUNT_EXECUTIVE = "account_executive"


@dataclass(frozen=True, slots=True)
class OwnerTableRow:
    """One row of the territory table: accounts matching segment and region (empty:
    any) go to ``user_id``. The first matching row wins."""

    user_id: str
    segment: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class OwnerPolicy:
    """How the assignee roles resolve to users (see ``sfrenew.core.rules.owners``).

    ``renewal_owner``: ``account_owner``, ``contract_owner``, ``table`` or
    ``account_field:<account concept field>`` (e.g. ``account_field:renewal_rep``);
    ``renewal_manager``: ``owner_manager`` (the renewal owner's ``User.ManagerId``) or
    ``account_field:<field>``; ``account_executive``: ``account_owner`` or
    ``account_field:<field>``. A role that cannot be resolved, or resolves to an
    inactive user, falls back to the account owner with a reason.
    """

    renewal_owner: str = "account_owner"
    renewal_manager: str = "owner_manager"
    account_executive: str = "account_owner"
    table: tuple[OwnerTableRow, ...] = ()


@dataclass(frozen=True, slots=True)
class CadenceStep:
    """One task of the renewal cadence, ``days_before`` the renewal starts."""

    name: str
    days_before: int
    subject: str
    priority: TaskPriority = TaskPriority.NORMAL
    assignee_role: str = "renewal_owner"
    high_risk_only: bool = False
    instructions: str = ""  # what to do, first line of the task's Description


def _default_steps() -> tuple[CadenceStep, ...]:
    return (
        CadenceStep("kickoff", 120, "Renewal kickoff: {account}", instructions=(
            "confirm the decision maker, usage and any change in scope with the customer")),
        CadenceStep("quote", 90, "Send renewal quote: {account} ({amount} {currency})",
                    instructions="send the renewal quote with the amount and dates below"),
        CadenceStep("negotiation", 60, "Negotiate renewal: {account}",
                    instructions="agree price and terms; get any approval noted below"),
        CadenceStep("escalation", 30, "Escalate unsigned renewal: {account}",
                    TaskPriority.HIGH, "renewal_manager", instructions=(
                        "the renewal is unsigned 30 days before it starts: review it with "
                        "the rep and the customer's sponsor")),
        CadenceStep("executive_sponsor", 100, "Executive check-in (risk {risk}): {account}",
                    TaskPriority.HIGH, "account_executive", high_risk_only=True,
                    instructions="call the customer's executive sponsor about the risks below"),
    )


@dataclass(frozen=True, slots=True)
class CadencePolicy:
    """Task steps counted back from the renewal start."""

    steps: tuple[CadenceStep, ...] = field(default_factory=_default_steps)
    past_due: PastDuePolicy = PastDuePolicy.DUE_TODAY


@dataclass(frozen=True, slots=True)
class LapseEscalation:
    """The task a lapsed renewal gets, due the day its grace period ends."""

    name: str = "overdue_escalation"  # keys the task, like a cadence step's name
    subject: str = "Overdue renewal, contract ended {contract_end}: {account}"
    priority: TaskPriority = TaskPriority.HIGH
    assignee_role: str = "renewal_manager"


@dataclass(frozen=True, slots=True)
class LapsePolicy:
    """Lapsed renewals: past their start date (the contract ended), still unsigned.

    A lapsed renewal stays open and sfrenew's to maintain; it is marked overdue from
    its first day and escalated by a task due ``grace_days`` after the contract
    ended (None: no escalation task).
    """

    grace_days: int = 14
    escalation: LapseEscalation | None = field(default_factory=LapseEscalation)


def _default_stage_categories() -> Mapping[str, ForecastCategory]:
    return MappingProxyType({
        "Prospecting": ForecastCategory.PIPELINE,
        "Qualification": ForecastCategory.PIPELINE,
        "Proposal/Price Quote": ForecastCategory.BEST_CASE,
        "Negotiation/Review": ForecastCategory.COMMIT,
        "Closed Won": ForecastCategory.CLOSED,
        "Closed Lost": ForecastCategory.OMITTED,
    })


def _default_risk_caps() -> Mapping[RiskLevel, ForecastCategory]:
    return MappingProxyType({RiskLevel.HIGH: ForecastCategory.BEST_CASE})


@dataclass(frozen=True, slots=True)
class ForecastPolicy:
    """Forecast category by stage, capped by risk level."""

    initial_stage: str = "Prospecting"
    stage_categories: Mapping[str, ForecastCategory] = field(
        default_factory=_default_stage_categories)
    default_category: ForecastCategory = ForecastCategory.PIPELINE
    risk_caps: Mapping[RiskLevel, ForecastCategory] = field(default_factory=_default_risk_caps)


def _default_currencies() -> Mapping[str, int]:
    return MappingProxyType({"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2,
                             "JPY": 0})


@dataclass(frozen=True, slots=True)
class RulesPolicy:
    """Every renewal rule knob, as the core uses it."""

    eligibility: EligibilityPolicy = field(default_factory=EligibilityPolicy)
    adoption: AdoptionPolicy = field(default_factory=AdoptionPolicy)
    default_term_months: int = 12
    currencies: Mapping[str, int] = field(default_factory=_default_currencies)
    coterm: CotermPolicy = field(default_factory=CotermPolicy)
    proration: ProrationMethod = ProrationMethod.MONTH_DAY
    uplift: UpliftPolicy = field(default_factory=UpliftPolicy)
    risk: RiskPolicy = field(default_factory=RiskPolicy)
    cadence: CadencePolicy = field(default_factory=CadencePolicy)
    owners: OwnerPolicy = field(default_factory=OwnerPolicy)
    forecast: ForecastPolicy = field(default_factory=ForecastPolicy)
    lapse: LapsePolicy = field(default_factory=LapsePolicy)
    opportunity_name: str = "{account} renewal {start_date}"
    explanation_max_chars: int = 32_000
