"""The mapping file as pydantic models: strict (unknown keys rejected), frozen values.

What pydantic can check from one value alone lives here (shapes, API-name syntax, the
short form ``end_date: EndDate``); what needs the catalogue or several values at once
(a field mapped twice, a written concept without a key) lives in ``_loader``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sfrenew.core.changeset import Ownership
from sfrenew.mapping._concepts import Coercion, Concept, concept_fields
from sfrenew.mapping._filter import FilterSyntaxError, check_filter
from sfrenew.mapping.price_basis import PriceBasis

# An API name, or a read-only relationship path such as ``SBQQ__Product__r.Family``.
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*){0,4}$")


def _api_name(value: str) -> str:
    if not _API_NAME.match(value) or "___" in value or value.endswith("_"):
        raise ValueError(f"{value!r} is not a Salesforce API name")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __getstate__(self) -> dict[Any, Any]:
        # A memo (see ``memo`` below) is worked out again where the mapping goes (a
        # planning process): it holds functions and the org's describes.
        state = super().__getstate__()
        if "memo" in state["__dict__"]:
            state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k != "memo"}
        return state


class FieldSpec(_Strict):
    """One concept field mapped to a Salesforce field (long form)."""

    field: str = Field(description="API name, e.g. EndDate, or a relationship path "
                                   "(read only), e.g. SBQQ__Product__r.Family")
    type: Coercion | None = Field(None, description="coercion; default: the concept "
                                                    "field's own")
    default: str | int | float | bool | None = Field(
        None, description="value used when the record's field is empty")
    ownership: Ownership | None = Field(
        None, description="written fields only: enforce | rep_after_edit (default) | "
                          "create_only")
    basis: PriceBasis | None = Field(
        None, description="contract_line unit_price and list_price only: the period the "
                          "price covers, annual (default) or term (the line's whole term, "
                          "divided by prorate_multiplier)")

    @field_validator("field")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip()
        if not _FIELD_PATH.match(value):
            raise ValueError(f"{value!r} is not a field API name or relationship path")
        return value


def _short_form(value: Any) -> Any:
    """``end_date: EndDate`` means ``end_date: {field: EndDate}``."""
    return {"field": value} if isinstance(value, str) else value


FieldRef = Annotated[FieldSpec,
                     BeforeValidator(_short_form, json_schema_input_type=str | FieldSpec)]
ApiName = Annotated[str, BeforeValidator(lambda v: _api_name(v.strip()) if isinstance(v, str)
                                         else v)]


class LinkVia(StrEnum):
    """How contract lines reach their contract."""

    LOOKUP = "lookup"
    ORIGINATING_OPPORTUNITY = "originating_opportunity"


class LookupLines(_Strict):
    """Lines carry a lookup to their contract (CPQ ``SBQQ__Subscription__c``)."""

    via: Literal[LinkVia.LOOKUP]
    field: ApiName = Field(description="lookup on the line object to the contract, "
                                       "e.g. SBQQ__Contract__c")


class OriginatingOpportunityLines(_Strict):
    """Lines are the line items of the opportunity the contract came from.

    The contract and its originating opportunity are linked either by a lookup on the
    contract (``contract_field``, e.g. CPQ's ``SBQQ__Opportunity__c``) or by a lookup on
    the opportunity (``opportunity_field``, e.g. the standard ``ContractId``).
    """

    via: Literal[LinkVia.ORIGINATING_OPPORTUNITY]
    contract_field: ApiName | None = Field(
        None, description="lookup on the contract to the opportunity it came from, "
                          "e.g. SBQQ__Opportunity__c")
    opportunity_field: ApiName | None = Field(
        None, description="lookup on the opportunity to the contract, e.g. ContractId")
    opportunity_object: ApiName = Field("Opportunity", description="the opportunity object")
    line_field: ApiName = Field("OpportunityId", description="lookup on the line object to "
                                                            "the opportunity")

    @model_validator(mode="after")
    def _one_link(self) -> OriginatingOpportunityLines:
        if (self.contract_field is None) == (self.opportunity_field is None):
            raise ValueError("give exactly one of contract_field (a lookup on the contract) "
                             "or opportunity_field (a lookup on the opportunity)")
        return self


LinesLink = Annotated[LookupLines | OriginatingOpportunityLines, Field(discriminator="via")]


class ConceptMapping(_Strict):
    """A concept mapped to an sObject."""

    concept: ClassVar[Concept]

    object: ApiName = Field(description="sObject API name, e.g. Contract")
    filter: str | None = Field(None, description="SOQL WHERE fragment with fixed values, "
                                                 "e.g. Status = 'Activated'")
    key_field: ApiName | None = Field(None, description="written concepts: the External ID "
                                                        "field sfrenew upserts by")
    fields: dict[str, FieldRef] = Field(default_factory=dict)

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()  # inner spaces may sit inside a quoted value: keep them
        try:
            check_filter(value)
        except FilterSyntaxError as exc:
            raise ValueError(f"not a simple SOQL condition: {exc}") from None
        return value or None

    def field_type(self, name: str) -> Coercion:
        """The coercion of a mapped concept field (its own, else the catalogue's)."""
        spec = self.fields[name]
        return spec.type or concept_fields(self.concept)[name].coercion

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """What readers of this (frozen) section work out once, under their own keys
        (see :mod:`sfrenew.mapping.translate`). Not a field: equality ignores it."""
        return {}

    @cached_property
    def read_fields(self) -> tuple[tuple[str, str, Any, Coercion], ...]:
        """Each mapped field as (concept field, Salesforce field, default, coercion):
        what reading a record needs, worked out once per mapping rather than per record."""
        return tuple((name, spec.field, spec.default, self.field_type(name))
                     for name, spec in self.fields.items())


def _concept_config(concept: Concept) -> ConfigDict:
    names = list(concept_fields(concept))

    def extra(schema: dict[str, Any]) -> None:
        # Editors complete the concept-field names; unknown names are reported by the
        # loader with a suggestion, so the runtime check lives there.
        schema["properties"]["fields"]["propertyNames"] = {"enum": names}

    return ConfigDict(extra="forbid", frozen=True, json_schema_extra=extra)


class AccountMapping(ConceptMapping):
    """The customer account (read; risk fields may be written back)."""

    concept: ClassVar[Concept] = Concept.ACCOUNT
    model_config = _concept_config(Concept.ACCOUNT)


class ContractMapping(ConceptMapping):
    """The contract being renewed (read)."""

    concept: ClassVar[Concept] = Concept.CONTRACT
    model_config = _concept_config(Concept.CONTRACT)


class ContractLineMapping(ConceptMapping):
    """A line of a contract (read), with how it reaches its contract."""

    concept: ClassVar[Concept] = Concept.CONTRACT_LINE
    model_config = _concept_config(Concept.CONTRACT_LINE)

    lines: LinesLink


class RenewalOpportunityMapping(ConceptMapping):
    """The renewal opportunity sfrenew creates and keeps (written)."""

    concept: ClassVar[Concept] = Concept.RENEWAL_OPPORTUNITY
    model_config = _concept_config(Concept.RENEWAL_OPPORTUNITY)


class RenewalLineMapping(ConceptMapping):
    """A line item of a renewal opportunity (written)."""

    concept: ClassVar[Concept] = Concept.RENEWAL_LINE
    model_config = _concept_config(Concept.RENEWAL_LINE)


class TaskMapping(ConceptMapping):
    """A cadence task on a renewal opportunity (written)."""

    concept: ClassVar[Concept] = Concept.TASK
    model_config = _concept_config(Concept.TASK)


class CasesMapping(ConceptMapping):
    """Support cases (risk source, read)."""

    concept: ClassVar[Concept] = Concept.CASES
    model_config = _concept_config(Concept.CASES)


class ActivitiesMapping(ConceptMapping):
    """Completed activities (risk source, read)."""

    concept: ClassVar[Concept] = Concept.ACTIVITIES
    model_config = _concept_config(Concept.ACTIVITIES)


class ContactsMapping(ConceptMapping):
    """Contacts (risk source: champion gone, read)."""

    concept: ClassVar[Concept] = Concept.CONTACTS
    model_config = _concept_config(Concept.CONTACTS)


class UsageMapping(ConceptMapping):
    """Usage snapshots (risk source: usage decline, read)."""

    concept: ClassVar[Concept] = Concept.USAGE
    model_config = _concept_config(Concept.USAGE)


class UserMapping(ConceptMapping):
    """Users (read): names, active flags and managers, to resolve assignee roles."""

    concept: ClassVar[Concept] = Concept.USER
    model_config = _concept_config(Concept.USER)


class PriceBookEntryMapping(ConceptMapping):
    """Price book entries (read): the current list prices of the ``list`` pricing."""

    concept: ClassVar[Concept] = Concept.PRICE_BOOK_ENTRY
    model_config = _concept_config(Concept.PRICE_BOOK_ENTRY)


class CurrencyRateMapping(ConceptMapping):
    """Currencies and their conversion rates (read): the analytics' reporting currency."""

    concept: ClassVar[Concept] = Concept.CURRENCY_RATE
    model_config = _concept_config(Concept.CURRENCY_RATE)


class DatedCurrencyRateMapping(ConceptMapping):
    """Dated conversion rates (read; advanced currency management): the rate in force on
    a renewal's close date wins over the currency's plain rate."""

    concept: ClassVar[Concept] = Concept.DATED_CURRENCY_RATE
    model_config = _concept_config(Concept.DATED_CURRENCY_RATE)


class RenewalMetricMapping(ConceptMapping):
    """Renewal metric rows sfrenew writes (ATR, GRR/NRR, on-time rate per period)."""

    concept: ClassVar[Concept] = Concept.RENEWAL_METRIC
    model_config = _concept_config(Concept.RENEWAL_METRIC)


class ForecastSnapshotMapping(ConceptMapping):
    """Weekly forecast snapshot rows sfrenew writes (forecast accuracy reads them back)."""

    concept: ClassVar[Concept] = Concept.FORECAST_SNAPSHOT
    model_config = _concept_config(Concept.FORECAST_SNAPSHOT)


CONCEPT_CLASSES: dict[Concept, type[ConceptMapping]] = {
    cls.concept: cls for cls in (
        AccountMapping, ContractMapping, ContractLineMapping, RenewalOpportunityMapping,
        RenewalLineMapping, TaskMapping, CasesMapping, ActivitiesMapping, ContactsMapping,
        UsageMapping, UserMapping, PriceBookEntryMapping, CurrencyRateMapping,
        DatedCurrencyRateMapping, RenewalMetricMapping, ForecastSnapshotMapping)
}


class StageValues(_Strict):
    """Opportunity stages sfrenew writes."""

    open: str = "Prospecting"
    won: str = "Closed Won"
    lost: str = "Closed Lost"


class ForecastValues(_Strict):
    """Forecast categories sfrenew writes."""

    pipeline: str = "Pipeline"
    best_case: str = "Best Case"
    commit: str = "Commit"
    omitted: str = "Omitted"
    closed: str = "Closed"


class OpportunityTypeValues(_Strict):
    """Opportunity type of a renewal."""

    renewal: str = "Renewal"


class TaskStatusValues(_Strict):
    """Task statuses sfrenew writes."""

    open: str = "Not Started"
    completed: str = "Completed"


class TaskPriorityValues(_Strict):
    """Task priorities sfrenew writes."""

    high: str = "High"
    normal: str = "Normal"
    low: str = "Low"


class RiskLevelValues(_Strict):
    """Risk levels sfrenew writes."""

    low: str = "Low"
    medium: str = "Medium"
    high: str = "High"


class SubscriptionTypeValues(_Strict):
    """Subscription types sfrenew reads on contract lines."""

    evergreen: str = "Evergreen"


class PicklistValues(_Strict):
    """The org's picklist values for what the rules write, by sfrenew's own names."""

    stage: StageValues = StageValues()
    forecast_category: ForecastValues = ForecastValues()
    opportunity_type: OpportunityTypeValues = OpportunityTypeValues()
    task_status: TaskStatusValues = TaskStatusValues()
    task_priority: TaskPriorityValues = TaskPriorityValues()
    risk_level: RiskLevelValues = RiskLevelValues()
    subscription_type: SubscriptionTypeValues = SubscriptionTypeValues()


# Which concept fields each values section is written to or read from (checked against
# picklists).
VALUE_TARGETS: dict[str, tuple[tuple[Concept, str], ...]] = {
    "stage": ((Concept.RENEWAL_OPPORTUNITY, "stage"),),
    "forecast_category": ((Concept.RENEWAL_OPPORTUNITY, "forecast_category"),),
    "opportunity_type": ((Concept.RENEWAL_OPPORTUNITY, "type"),),
    "task_status": ((Concept.TASK, "status"),),
    "task_priority": ((Concept.TASK, "priority"),),
    "risk_level": ((Concept.RENEWAL_OPPORTUNITY, "risk_level"), (Concept.ACCOUNT, "risk_level")),
    "subscription_type": ((Concept.CONTRACT_LINE, "subscription_type"),),
}


class MappingFile(_Strict):
    """A whole mapping file: sfrenew's concepts mapped onto one org."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="sfrenew mapping file")

    version: Literal[1] = Field(1, description="mapping file format version")
    description: str | None = None
    account: AccountMapping
    contract: ContractMapping
    contract_line: ContractLineMapping
    renewal_opportunity: RenewalOpportunityMapping
    renewal_line: RenewalLineMapping
    task: TaskMapping
    cases: CasesMapping | None = None
    activities: ActivitiesMapping | None = None
    contacts: ContactsMapping | None = None
    usage: UsageMapping | None = None
    user: UserMapping | None = None
    price_book_entry: PriceBookEntryMapping | None = None
    currency_rate: CurrencyRateMapping | None = None
    dated_currency_rate: DatedCurrencyRateMapping | None = None
    renewal_metric: RenewalMetricMapping | None = None
    forecast_snapshot: ForecastSnapshotMapping | None = None
    values: PicklistValues = PicklistValues()

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """What readers of this (frozen) mapping work out once, under their own keys
        (see :mod:`sfrenew.mapping.translate`). Not a field: equality ignores it."""
        return {}

    def concept(self, concept: Concept) -> ConceptMapping | None:
        """The mapping of a concept, or None when an optional concept is not mapped."""
        value: ConceptMapping | None = getattr(self, concept.value)
        return value

    def mapped(self) -> list[ConceptMapping]:
        """Every mapped concept, in catalogue order."""
        return [m for c in Concept if (m := self.concept(c)) is not None]


def rolled_up(mapping: MappingFile, concept: Concept, name: str) -> bool:
    """True for a concept field the org computes itself, which sfrenew must not write.

    Salesforce rolls ``Opportunity.Amount`` up from the line items (Σ TotalPrice) and
    ignores an API write to it while the opportunity has lines; writing it anyway
    would make every rollup look like a person's edit. So a renewal ``amount`` mapped
    to ``Opportunity.Amount`` while the renewal lines are OpportunityLineItems is read
    but never written (``mappings check`` warns about it).
    """
    if concept is not Concept.RENEWAL_OPPORTUNITY or name != "amount":
        return False
    spec = mapping.renewal_opportunity.fields.get(name)
    return (spec is not None and spec.field.lower() == "amount"
            and mapping.renewal_opportunity.object.lower() == "opportunity"
            and mapping.renewal_line.object.lower() == "opportunitylineitem")
