"""Pydantic models of the ``rules:`` config sections (strict: unknown keys are errors).

Validators here check what one section can check on its own (a formula parses, a
template names known placeholders, points add up to 100, High risk is never
Commit); :mod:`sfrenew.config.rules` assembles them and converts to the core policy.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sfrenew.core.domain import RiskLevel
from sfrenew.core.formula import FormulaError, parse
from sfrenew.core.money import rate_problem
from sfrenew.core.policy import (
    FORECAST_ORDER,
    AnchorPolicy,
    AssigneeRole,
    ForecastCategory,
    PastDuePolicy,
    PricingMethod,
    ProrationMethod,
    SignalName,
    SignalPolicy,
    TaskPriority,
    TermCompatibility,
)
from sfrenew.core.rules.cadence import NAME_PLACEHOLDERS, SUBJECT_PLACEHOLDERS, template_problems
from sfrenew.core.rules.lapse import ESCALATION_PLACEHOLDERS
from sfrenew.core.rules.owners import (
    EXECUTIVE_SOURCES,
    MANAGER_SOURCES,
    OWNER_SOURCES,
    source_problem,
)
from sfrenew.core.rules.term import days_in_month
from sfrenew.mapping import ACCOUNT_USER_FIELDS


def _fraction(value: Decimal) -> Decimal:
    problem = rate_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Rate = Annotated[Decimal, AfterValidator(_fraction),
                 Field(description="a fraction: 0.05 is 5% (at most 1, 100%)")]
FORMULA_BUILTINS = frozenset({"rate", "floor", "cap"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EligibilityModel(_Strict):
    """Which contracts renew now."""

    statuses: list[str] = Field(default_factory=lambda: ["Activated"], min_length=1)
    horizon_days: int = Field(default=180, ge=0, le=3660)
    min_term_months: int = Field(
        default=3, ge=1, le=120,
        description="renewal terms shorter than this (month-to-month) get no renewal "
                    "opportunity; 1 renews every term")
    renew_evergreen: bool = Field(
        default=False, description="give evergreen (auto-renewing) contracts a renewal "
                                   "opportunity too")


class AdoptionModel(_Strict):
    """Renewal opportunities people made without a link, adopted instead of duplicated."""

    close_date_window_days: int = Field(
        default=45, ge=0, le=366,
        description="an open Renewal-type opportunity on the account, naming no contract, "
                    "whose close date is within this many days of a contract's end date is "
                    "that contract's renewal: linked, never duplicated")


class TermModel(_Strict):
    """The renewal term when a contract names none."""

    default_months: int = Field(default=12, ge=1, le=120)


class CalendarModel(_Strict):
    """A month and day, e.g. the fiscal year end."""

    month: int = Field(default=12, ge=1, le=12)
    day: int = Field(default=31, ge=1, le=31)

    @model_validator(mode="after")
    def _real_day(self) -> Self:
        if self.day > days_in_month(2024, self.month):  # 2024: Feb 29 is allowed (clamped)
            raise ValueError(f"month {self.month} has no day {self.day}")
        return self


class CotermModel(_Strict):
    """Co-terming of an account's renewals."""

    enabled: bool = True
    window_days: int = Field(default=60, ge=0, le=366)
    anchor: AnchorPolicy = AnchorPolicy.EARLIEST
    calendar: CalendarModel = CalendarModel()
    calendar_min_days: int = Field(default=30, ge=1, le=366)
    term_compatibility: TermCompatibility = Field(
        default=TermCompatibility.SAME_TERM,
        description="same_term: only renewals with the same term length share a group; "
                    "any: any terms may")
    allow_term_change: bool = Field(
        default=False,
        description="let the anchor move a line's end by more than window_days (the "
                    "renewal is then explained and flagged for approval)")


class ProrationModel(_Strict):
    """How partial periods are priced."""

    method: ProrationMethod = ProrationMethod.MONTH_DAY


class WhenModel(_Strict):
    """Criteria of an uplift rule; a rule with none matches every line."""

    segment: str | None = None
    product_family: str | None = None
    region: str | None = None


class UpliftRuleModel(_Strict):
    """One entry of the ordered uplift rule list."""

    name: str = Field(min_length=1)
    when: WhenModel = WhenModel()
    rate: Rate


class IndexModel(_Strict):
    """An index-linked formula that replaces the chosen rate."""

    formula: str
    values: dict[str, Rate] = Field(default_factory=dict)

    @field_validator("formula")
    @classmethod
    def _parses(cls, text: str) -> str:
        try:
            parse(text)
        except FormulaError as exc:
            raise ValueError(f"invalid formula: {exc}") from None
        return text

    @model_validator(mode="after")
    def _known_variables(self) -> Self:
        unknown = parse(self.formula).variables - FORMULA_BUILTINS - set(self.values)
        if unknown:
            raise ValueError(f"formula uses {', '.join(sorted(unknown))}, which is neither "
                             f"rate, floor, cap nor a name under values")
        return self


class RiskAdjustmentModel(_Strict):
    """How a risk level changes the uplift: add ``add``, then cap at ``max_rate``."""

    add: Decimal = Decimal(0)
    max_rate: Rate | None = None


class ContractualModel(_Strict):
    """Which policy steps may change a rate written on the line or contract.

    Off by default: a contractual rate is a commitment, bounded only by the contract's
    own cap and floor. A step switched on here applies to contractual rates too, and
    a renewal whose contractual rate it changes is flagged for approval.
    """

    index: bool = False
    policy_bounds: bool = False
    risk: bool = False


class UpliftModel(_Strict):
    """Uplift precedence, bounds, formula, risk adjustment and pricing."""

    default_rate: Rate = Decimal("0.05")
    pricing: PricingMethod = PricingMethod.UPLIFT
    cap: Rate | None = None
    floor: Rate | None = None
    compound_multi_year: bool | Literal["auto"] = "auto"
    contractual: ContractualModel = ContractualModel()
    rules: list[UpliftRuleModel] = Field(default_factory=list)
    index: IndexModel | None = None
    risk_adjustment: dict[RiskLevel, RiskAdjustmentModel] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            problems.append(f"floor {self.floor} is above cap {self.cap}")
        for i, rule in enumerate(self.rules[:-1]):
            if rule.when == WhenModel():
                problems.append(f"rules[{i}] ({rule.name!r}) matches every line, so the rules "
                                f"after it never apply; put the catch-all last")
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"rule names must be unique: {', '.join(dupes)}")
        if (self.index is not None and self.cap is None
                and "cap" in parse(self.index.formula).variables):
            problems.append("index.formula uses cap, but no cap is configured")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class _Signal(_Strict):
    points: int = Field(ge=0, le=100)


class HealthSignal(_Signal):
    """Fires when the health score is below ``below``."""

    below: Decimal = Decimal(60)


class CasesSignal(_Signal):
    """Fires when at least ``at_least`` high-severity cases are open."""

    at_least: int = Field(default=1, ge=1)


class DaysSignal(_Signal):
    """Fires at ``days`` days or more."""

    days: int = Field(ge=0)


class UsageSignal(_Signal):
    """Fires when usage fell by at least ``decline`` (a fraction: 0.20 is 20%)."""

    decline: Decimal = Field(default=Decimal("0.20"), ge=0, le=1)


class FlagSignal(_Signal):
    """Fires when the flag is set."""


class UpliftSignal(_Signal):
    """Fires when the uplift rate is at least ``rate``."""

    rate: Rate = Decimal("0.07")


class SignalsModel(_Strict):
    """The risk signals; leave one out to switch it off. Points must add up to 100."""

    low_health_score: HealthSignal | None = None
    open_high_severity_cases: CasesSignal | None = None
    no_recent_activity: DaysSignal | None = None
    usage_decline: UsageSignal | None = None
    champion_gone: FlagSignal | None = None
    late_previous_renewal: DaysSignal | None = None
    payment_overdue: DaysSignal | None = None
    large_uplift: UpliftSignal | None = None

    @model_validator(mode="after")
    def _hundred(self) -> Self:
        total = sum(s.points for s in self._configured().values())
        if total != 100:
            raise ValueError(f"signal points add up to {total}; they must add up to 100")
        return self

    def _configured(self) -> dict[str, _Signal]:
        return {name: value for name in type(self).model_fields
                if (value := getattr(self, name)) is not None}

    def to_policy(self) -> tuple[SignalPolicy, ...]:
        """The configured signals in their documented order."""
        out = []
        for name, signal in self._configured().items():
            threshold: Decimal = Decimal(0)
            for attr in ("below", "at_least", "days", "decline", "rate"):
                if hasattr(signal, attr):
                    threshold = Decimal(getattr(signal, attr))
            out.append(SignalPolicy(SignalName(name), signal.points, threshold))
        return tuple(out)


class ThresholdsModel(_Strict):
    """Score at which a renewal becomes Medium, and High, risk (out of 100)."""

    medium: int = Field(default=30, ge=0, le=100)
    high: int = Field(default=60, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.medium > self.high:
            raise ValueError(f"medium ({self.medium}) must not be above high ({self.high})")
        return self


class RiskModel(_Strict):
    """Risk signals and thresholds."""

    thresholds: ThresholdsModel = ThresholdsModel()
    signals: SignalsModel | None = None


def _valid_template(text: str, placeholders: frozenset[str]) -> str:
    """``text`` when every ``{placeholder}`` in it is known; ValueError saying which not."""
    problems = template_problems(text, placeholders)
    if problems:
        raise ValueError("; ".join(problems))
    return text


class CadenceStepModel(_Strict):
    """One cadence task."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    days_before: int = Field(ge=-365, le=730)
    subject: str = Field(min_length=1)
    priority: TaskPriority = TaskPriority.NORMAL
    assignee: AssigneeRole = AssigneeRole.RENEWAL_OWNER
    high_risk_only: bool = False
    instructions: str = Field(default="", max_length=1000,
                              description="what to do: the first line of the task's "
                                          "Description")

    @field_validator("subject")
    @classmethod
    def _template(cls, text: str) -> str:
        return _valid_template(text, SUBJECT_PLACEHOLDERS)


class CadenceModel(_Strict):
    """Renewal tasks counted back from the renewal start."""

    past_due: PastDuePolicy = PastDuePolicy.DUE_TODAY
    steps: list[CadenceStepModel] | None = None

    @field_validator("steps")
    @classmethod
    def _unique(cls, steps: list[CadenceStepModel] | None) -> list[CadenceStepModel] | None:
        names = [s.name for s in steps or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"step names must be unique (they key the tasks): "
                             f"{', '.join(dupes)}")
        return steps


class LapseEscalationModel(_Strict):
    """The task a lapsed renewal gets, due the day its grace period ends."""

    name: str = Field(default="overdue_escalation", min_length=1, max_length=40,
                      pattern=r"^[a-z0-9_]+$")
    subject: str = Field(default="Overdue renewal, contract ended {contract_end}: {account}",
                         min_length=1)
    priority: TaskPriority = TaskPriority.HIGH
    assignee: str = Field(default="renewal_manager", min_length=1)

    @field_validator("subject")
    @classmethod
    def _template(cls, text: str) -> str:
        return _valid_template(text, ESCALATION_PLACEHOLDERS)


class LapseModel(_Strict):
    """Lapsed renewals (past their start, unsigned): grace period and escalation."""

    grace_days: int = Field(default=14, ge=0, le=365,
                            description="days after the contract ended when the "
                                        "escalation task falls due")
    escalation: LapseEscalationModel | None = LapseEscalationModel()


class ForecastModel(_Strict):
    """Forecast category from stage, capped by risk."""

    initial_stage: str = "Prospecting"
    stages: dict[str, ForecastCategory] | None = None
    default_category: ForecastCategory = ForecastCategory.PIPELINE
    risk_caps: dict[RiskLevel, ForecastCategory] = Field(
        default_factory=lambda: {RiskLevel.HIGH: ForecastCategory.BEST_CASE})

    @model_validator(mode="after")
    def _high_never_commit(self) -> Self:
        cap = self.risk_caps.get(RiskLevel.HIGH)
        if cap is not None and FORECAST_ORDER[cap] > FORECAST_ORDER[ForecastCategory.BEST_CASE]:
            raise ValueError(f"risk_caps.High is {cap.value!r}, but High risk is never "
                             f"Commit: use 'Best Case' or lower")
        return self


class OwnerTableRowModel(_Strict):
    """Accounts of this segment and region (omitted: any) go to ``user``."""

    user: str = Field(description="a User Id (005..., 15 or 18 characters)")
    segment: str | None = None
    region: str | None = None

    @field_validator("user")
    @classmethod
    def _user_id(cls, user: str) -> str:
        if not re.fullmatch(r"005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?", user):
            raise ValueError(f"{user!r} is not a User Id (15 or 18 characters starting "
                             f"with 005; copy it from the user's page or a report)")
        return user


class OwnersModel(_Strict):
    """How cadence assignee roles resolve to users (rules.owners)."""

    renewal_owner: str = "account_owner"
    renewal_manager: str = "owner_manager"
    account_executive: str = "account_owner"
    table: list[OwnerTableRowModel] = Field(default_factory=list)

    @field_validator("renewal_owner")
    @classmethod
    def _owner(cls, source: str) -> str:
        return _checked(source, OWNER_SOURCES)

    @field_validator("renewal_manager")
    @classmethod
    def _manager(cls, source: str) -> str:
        return _checked(source, MANAGER_SOURCES)

    @field_validator("account_executive")
    @classmethod
    def _executive(cls, source: str) -> str:
        return _checked(source, EXECUTIVE_SOURCES)

    @model_validator(mode="after")
    def _table_when_used(self) -> Self:
        if self.renewal_owner == "table" and not self.table:
            raise ValueError("renewal_owner: table needs a non-empty table "
                             "(rows of user, segment, region)")
        return self


def _checked(source: str, allowed: frozenset[str]) -> str:
    problem = source_problem(source, allowed, ACCOUNT_USER_FIELDS)
    if problem is not None:
        raise ValueError(problem)
    return source


class OpportunityModel(_Strict):
    """How renewal opportunities are named."""

    name: str = "{account} renewal {start_date}"

    @field_validator("name")
    @classmethod
    def _template(cls, text: str) -> str:
        problems = template_problems(text, NAME_PLACEHOLDERS)
        if problems:
            raise ValueError("; ".join(problems))
        return text
