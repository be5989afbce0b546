"""Concept records as the rules engine's domain values (``sfrenew.core.domain``).

Pure builders over :class:`~sfrenew.mapping.translate.ConceptRecord`: what a record
lacks that the domain cannot represent (a line without a product or quantity) is
reported as a :class:`RecordProblem` and the line left out, so the run can show it;
what the rules can reason about (an empty end date, an empty price) stays ``None`` and
the rules skip the contract with a reason. Risk signals are not built here: which
severities count as high, or over which period usage is compared, is rules policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sfrenew.core.domain import (
    Account,
    Contract,
    ContractLine,
    ExistingRenewal,
    ExistingTask,
    PricingMethod,
)
from sfrenew.mapping._concepts import Concept
from sfrenew.mapping.translate import ConceptRecord


@dataclass(frozen=True)
class RecordProblem:
    """A record the domain cannot use as it is, and why."""

    concept: Concept
    record_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.concept.value} {self.record_id or '(no Id)'}: {self.message}"


def _text(record: ConceptRecord, name: str, default: str = "") -> str:
    value = record.values.get(name)
    return default if value is None else str(value)


# CPQ's Renewal Pricing Method picklist (Account.SBQQ__RenewalPricingMethod__c), by
# its values in lower case; blank and "--None--" behave as Same (help article 000382486).
RENEWAL_PRICING_METHODS = {"same": PricingMethod.SAME, "list": PricingMethod.LIST,
                           "uplift": PricingMethod.UPLIFT}
_BLANK_METHODS = frozenset({"", "--none--"})


def renewal_pricing_of(record: ConceptRecord) -> tuple[PricingMethod | None, str | None]:
    """The account's own pricing method and, for a value it cannot read, the problem.

    ``(None, None)`` when the mapping does not map ``renewal_pricing_method`` (the
    rules' ``uplift.pricing`` applies); blank is Same, as in CPQ. An unknown value
    gives ``(None, message)``: the policy's pricing applies and the run reports it.
    """
    if "renewal_pricing_method" not in record.values:
        return None, None
    raw = record.values["renewal_pricing_method"]
    text = "" if raw is None else str(raw).strip().lower()
    if text in _BLANK_METHODS:
        return PricingMethod.SAME, None
    found = RENEWAL_PRICING_METHODS.get(text)
    if found is None:
        return None, (f"unknown Renewal Pricing Method {raw!r}: use Same, List or Uplift "
                      f"(blank means Same); until then the rules' uplift.pricing applies")
    return found, None


def account_from(record: ConceptRecord) -> Account:
    """The account of an ``account`` record (see :func:`renewal_pricing_of`)."""
    return Account(id=record.sf_id or "", name=_text(record, "name"),
                   segment=record.values.get("segment"), region=record.values.get("region"),
                   renewal_pricing=renewal_pricing_of(record)[0])


def line_from(record: ConceptRecord, *, evergreen_type: str = "Evergreen",
              ) -> ContractLine | RecordProblem:
    """A contract line, or the problem that keeps it out (no product, no quantity).

    A line whose ``subscription_type`` is ``evergreen_type`` (the mapping's
    ``values.subscription_type.evergreen``) is evergreen.
    """
    values = record.values
    product = values.get("product")
    quantity = values.get("quantity")
    if not product:
        return RecordProblem(record.concept, record.sf_id, "the line has no product")
    if quantity is None:
        return RecordProblem(record.concept, record.sf_id, "the line has no quantity")
    return ContractLine(
        id=record.sf_id or "", product_id=str(product),
        product_name=_text(record, "product_name", str(product)),
        quantity=Decimal(quantity), annual_price=values.get("unit_price"),
        product_family=values.get("product_family"), list_price=values.get("list_price"),
        uplift_rate=values.get("uplift_rate"), start_date=values.get("start_date"),
        end_date=values.get("end_date"), terminated_date=values.get("terminated_date"),
        evergreen=values.get("subscription_type") == evergreen_type,
        currency=str(values["currency"]) if values.get("currency") else None)


def contract_from(record: ConceptRecord, lines: Iterable[ConceptRecord], *,
                  default_currency: str, evergreen_type: str = "Evergreen",
                  ) -> tuple[Contract, list[RecordProblem]]:
    """A contract with its lines (see :func:`translate.lines_by_contract`).

    ``default_currency`` is the org's corporate currency, for orgs without
    multi-currency (no ``CurrencyIsoCode`` to map); ``evergreen_type`` the line
    subscription type that means evergreen (see :func:`line_from`).
    """
    built: list[ContractLine] = []
    problems: list[RecordProblem] = []
    for line in sorted(lines, key=lambda r: r.sf_id or ""):  # stable plans, any read order
        result = line_from(line, evergreen_type=evergreen_type)
        if isinstance(result, RecordProblem):
            problems.append(result)
        else:
            built.append(result)
    v = record.values
    contract = Contract(
        id=record.sf_id or "", account_id=_text(record, "account"),
        number=_text(record, "number"), status=_text(record, "status"),
        currency=_text(record, "currency", default_currency),
        start_date=v.get("start_date"), end_date=v.get("end_date"), lines=tuple(built),
        term_months=v.get("term_months"), renewal_term_months=v.get("renewal_term_months"),
        do_not_renew=bool(v.get("do_not_renew")), uplift_rate=v.get("uplift_rate"),
        uplift_cap=v.get("uplift_cap"), uplift_floor=v.get("uplift_floor"),
        evergreen=bool(v.get("evergreen")))
    return contract, problems


def existing_renewal_from(record: ConceptRecord, *,
                          contract_ids: Iterable[str] = ()) -> ExistingRenewal:
    """A renewal opportunity the org holds; sfrenew's own when it carries a key.

    ``contract_ids`` adds contracts known from elsewhere (e.g. a contract's
    ``renewal_opportunity`` lookup, or the ledger) to the mapped ``renewed_contract``.
    """
    renewed = record.values.get("renewed_contract")
    ids = tuple(dict.fromkeys([*([renewed] if renewed else []), *contract_ids]))
    return ExistingRenewal(opportunity_id=record.sf_id or "", contract_ids=ids,
                           created_by_sfrenew=bool(record.key), stage=_text(record, "stage"),
                           is_closed=bool(record.values.get("is_closed")), key=record.key)


def existing_task_from(record: ConceptRecord) -> ExistingTask | RecordProblem:
    """A cadence task sfrenew created earlier (it must carry its key and a due date)."""
    due = record.values.get("due_date")
    if not record.key:
        return RecordProblem(record.concept, record.sf_id, "the task has no sfrenew key")
    if due is None:
        return RecordProblem(record.concept, record.sf_id, "the task has no due date")
    return ExistingTask(key=record.key, due_date=due,
                        is_closed=bool(record.values.get("is_closed")))
