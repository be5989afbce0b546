"""The ``rules:`` section of the config file: strict pydantic models and the loader.

Every key is checked (unknown keys are errors), every value is validated, and all
mistakes are reported at once as ``FILE:LINE:COL: rules.path: message``. The valid
section converts into the core's frozen :class:`~sfrenew.core.policy.RulesPolicy`,
so nothing in ``sfrenew.core`` depends on pydantic.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import Field, ValidationError, model_validator

from sfrenew.config._rules_sections import (
    AdoptionModel,
    CadenceModel,
    CotermModel,
    EligibilityModel,
    ForecastModel,
    LapseModel,
    OpportunityModel,
    OwnersModel,
    ProrationModel,
    RiskModel,
    TermModel,
    UpliftModel,
    _Strict,
)
from sfrenew.core.formula import Formula, parse
from sfrenew.core.policy import (
    AdoptionPolicy,
    CadencePolicy,
    CadenceStep,
    ContractualUplift,
    CotermPolicy,
    EligibilityPolicy,
    ForecastPolicy,
    LapseEscalation,
    LapsePolicy,
    OwnerPolicy,
    OwnerTableRow,
    RiskAdjustment,
    RiskPolicy,
    RulesPolicy,
    UpliftPolicy,
    UpliftRule,
)
from sfrenew.yamlsource import YamlSourceError, load, loads, validation_errors


def _default_currencies() -> dict[str, int]:
    return {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "JPY": 0}


class RulesModel(_Strict):
    """The whole ``rules:`` section."""

    eligibility: EligibilityModel = EligibilityModel()
    adoption: AdoptionModel = AdoptionModel()
    term: TermModel = TermModel()
    currencies: dict[Annotated[str, Field(pattern=r"^[A-Z]{3}$")],
                     Annotated[int, Field(ge=0, le=4)]] = Field(
        default_factory=_default_currencies, min_length=1)
    coterm: CotermModel = CotermModel()
    proration: ProrationModel = ProrationModel()
    uplift: UpliftModel = UpliftModel()
    risk: RiskModel = RiskModel()
    cadence: CadenceModel = CadenceModel()
    owners: OwnersModel = OwnersModel()
    forecast: ForecastModel = ForecastModel()
    lapse: LapseModel = LapseModel()
    opportunity: OpportunityModel = OpportunityModel()

    @model_validator(mode="after")
    def _escalation_is_not_a_step(self) -> Self:
        escalation = self.lapse.escalation
        steps = self.cadence.steps
        names = ({s.name for s in steps} if steps is not None
                 else {s.name for s in RulesPolicy().cadence.steps})
        if escalation is not None and escalation.name in names:
            raise ValueError(f"lapse.escalation.name {escalation.name!r} is also a cadence "
                             f"step's name; task keys come from the name, so give it "
                             f"another one")
        return self

    def to_policy(self) -> RulesPolicy:
        """The core's frozen policy values."""
        defaults = RulesPolicy()
        u = self.uplift
        formula: Formula | None = parse(u.index.formula) if u.index is not None else None
        return RulesPolicy(
            eligibility=EligibilityPolicy(frozenset(self.eligibility.statuses),
                                          self.eligibility.horizon_days,
                                          self.eligibility.min_term_months,
                                          self.eligibility.renew_evergreen),
            adoption=AdoptionPolicy(self.adoption.close_date_window_days),
            default_term_months=self.term.default_months,
            currencies=MappingProxyType(dict(self.currencies)),
            coterm=CotermPolicy(self.coterm.enabled, self.coterm.window_days, self.coterm.anchor,
                                self.coterm.calendar.month, self.coterm.calendar.day,
                                self.coterm.calendar_min_days,
                                self.coterm.term_compatibility,
                                self.coterm.allow_term_change),
            proration=self.proration.method,
            uplift=UpliftPolicy(
                default_rate=u.default_rate, pricing=u.pricing, cap=u.cap, floor=u.floor,
                compound_multi_year=(None if u.compound_multi_year == "auto"
                                     else u.compound_multi_year),
                contractual=ContractualUplift(u.contractual.index, u.contractual.policy_bounds,
                                              u.contractual.risk),
                rules=tuple(UpliftRule(r.name, r.rate, r.when.segment, r.when.product_family,
                                       r.when.region) for r in u.rules),
                index_formula=formula,
                index_values=MappingProxyType(dict(u.index.values) if u.index else {}),
                risk_adjustments=MappingProxyType({
                    level: RiskAdjustment(a.add, a.max_rate)
                    for level, a in u.risk_adjustment.items()})),
            risk=RiskPolicy(
                signals=(self.risk.signals.to_policy() if self.risk.signals is not None
                         else defaults.risk.signals),
                medium_at=self.risk.thresholds.medium, high_at=self.risk.thresholds.high),
            cadence=CadencePolicy(
                steps=(tuple(CadenceStep(s.name, s.days_before, s.subject, s.priority,
                                         s.assignee, s.high_risk_only, s.instructions)
                             for s in self.cadence.steps)
                       if self.cadence.steps is not None else defaults.cadence.steps),
                past_due=self.cadence.past_due),
            owners=OwnerPolicy(
                renewal_owner=self.owners.renewal_owner,
                renewal_manager=self.owners.renewal_manager,
                account_executive=self.owners.account_executive,
                table=tuple(OwnerTableRow(r.user, r.segment, r.region)
                            for r in self.owners.table)),
            forecast=ForecastPolicy(
                initial_stage=self.forecast.initial_stage,
                stage_categories=(MappingProxyType(dict(self.forecast.stages))
                                  if self.forecast.stages is not None
                                  else defaults.forecast.stage_categories),
                default_category=self.forecast.default_category,
                risk_caps=MappingProxyType(dict(self.forecast.risk_caps))),
            lapse=LapsePolicy(self.lapse.grace_days, None if (e := self.lapse.escalation)
                              is None else LapseEscalation(e.name, e.subject, e.priority,
                                                           e.assignee)),
            opportunity_name=self.opportunity.name,
        )


def rules_from_document(document: Any, index: Any) -> RulesPolicy:
    """The policy from a parsed config document (``loads``/``load`` output).

    A document without a ``rules:`` section gets every default. Raises
    YamlSourceError listing every mistake in the section.
    """
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise YamlSourceError([index.error((), "the config file must be a mapping")])
    section = document.get("rules") or {}
    try:
        model = RulesModel.model_validate(section)
    except ValidationError as exc:
        raise YamlSourceError(validation_errors(exc, index, prefix=("rules",), model=RulesModel,
                                                 reference="docs/rules.md §11")) from None
    return model.to_policy()


def load_rules(path: Path) -> RulesPolicy:
    """Load the ``rules:`` section of the config file at ``path``."""
    document, index = load(path)
    return rules_from_document(document, index)


def loads_rules(text: str, *, file: str = "<config>") -> RulesPolicy:
    """Load the ``rules:`` section from YAML text (tests, previews)."""
    document, index = loads(text, file=file)
    return rules_from_document(document, index)
