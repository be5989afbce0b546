"""The rules' RenewalPlan as desired Salesforce records, field dicts by API name.

Values go through the mapping (concept field → API field, percent ×100, dates as ISO
text) and are then shaped like the org stores them (numbers rounded to the field's
scale, text cut to its length): a value the org would round differently would look
changed on every run and be written again forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sfrenew.core.changeset import DesiredRecord, RecordRef
from sfrenew.core.plan import PlannedRenewal, RenewalPlan
from sfrenew.core.policy import CadencePolicy, ForecastCategory, TaskPriority
from sfrenew.core.rules.adoption import OWNED_FIELDS
from sfrenew.core.rules.owners import Assignees
from sfrenew.core.talk import next_step_words, task_descriptions
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.coerce import FieldShape, FieldShapes, shapes_from_describe
from sfrenew.mapping.translate import write_fields, written_fields

__all__ = ["FieldShape", "FieldShapes", "desired_records", "shaped", "shapes_from_describe"]

_NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


def shaped(sobject: str, fields: Mapping[str, Any], shapes: FieldShapes) -> dict[str, Any]:
    """``fields`` rounded and cut the way the org would store them."""
    out: dict[str, Any] = {}
    for name, raw in fields.items():
        shape = shapes.get((sobject.lower(), name.lower()))
        value = raw
        if shape is not None and raw is not None:
            if shape.type in _NUMBER_TYPES and isinstance(raw, Decimal | int | float):
                scale = 0 if shape.type == "int" else (shape.scale or 0)
                value = Decimal(str(raw)).quantize(Decimal(1).scaleb(-scale),
                                                   rounding=ROUND_HALF_UP)
            elif isinstance(raw, str) and shape.length and shape.type in (
                    "string", "textarea", "picklist", "url", "email", "phone"):
                value = raw[:shape.length]
        out[name] = value
    return out


def _forecast_value(mapping: MappingFile, category: ForecastCategory) -> str:
    names = {ForecastCategory.OMITTED: "omitted", ForecastCategory.PIPELINE: "pipeline",
             ForecastCategory.BEST_CASE: "best_case", ForecastCategory.COMMIT: "commit",
             ForecastCategory.CLOSED: "closed"}
    return str(getattr(mapping.values.forecast_category, names[category]))


def _priority(mapping: MappingFile, priority: TaskPriority) -> str:
    return str(getattr(mapping.values.task_priority, priority.name.lower(), priority.value))


def _mapped(mapping: MappingFile, concept: Concept, values: Mapping[str, Any],
            shapes: FieldShapes) -> dict[str, Any]:
    mapped = written_fields(mapping, concept)
    return write_fields(mapping, concept, {k: v for k, v in values.items() if k in mapped},
                        shapes=shapes)


def _opportunity(mapping: MappingFile, renewal: PlannedRenewal, owner: str | None,
                 shapes: FieldShapes) -> dict[str, Any]:
    """The renewal's opportunity fields; of an adopted renewal (a person's opportunity),
    only the fields sfrenew owns there (``rules.adoption.OWNED_FIELDS``)."""
    v = mapping.values
    values = {
        "name": renewal.name, "account": renewal.account_id, "owner": owner,
        "stage": renewal.stage or v.stage.open, "close_date": renewal.close_date,
        "amount": renewal.amount, "type": v.opportunity_type.renewal,
        "forecast_category": _forecast_value(mapping, renewal.forecast),
        "currency": renewal.currency, "explanation": renewal.explanation,
        "derivation": renewal.derivation or None, "next_step": next_step_words(renewal.tasks),
        "risk_level": getattr(v.risk_level, renewal.risk.level.name.lower()),
        "risk_score": renewal.risk.score,
        "risk_reasons": ", ".join(renewal.risk.reason_codes),
        "coterm_group": ", ".join(renewal.contract_ids),
        "needs_approval": renewal.needs_approval,
        "approval_reason": "\n".join(renewal.approval_reasons) or None,
        "prior_arr": renewal.figures.prior_arr, "renewal_arr": renewal.figures.renewal_arr,
        "uplift_amount": renewal.figures.uplift_amount,
        "term_months": renewal.figures.term_months,
        "overdue": renewal.is_overdue, "days_overdue": renewal.days_overdue,
        "renewed_contract": renewal.coterm.anchor.anchor_contract_id or renewal.contract_ids[0],
    }
    if owner is None:
        del values["owner"]
    if renewal.adopted:
        values = {name: values[name] for name in OWNED_FIELDS}
    return _mapped(mapping, Concept.RENEWAL_OPPORTUNITY, values, shapes)


def contract_links(mapping: MappingFile, plan: RenewalPlan) -> list[DesiredRecord]:
    """Each renewed or adopting contract's link to its renewal opportunity.

    The contract's renewal-opportunity field (CPQ's ``SBQQ__RenewalOpportunity__c``)
    stops CPQ's Renewal Forecast from creating a second renewal. A renewal sfrenew is
    about to create has no Id yet: the link is a ``RecordRef`` the apply step resolves
    once the opportunity is written. The diff writes the link only while the field is
    empty or holds sfrenew's own last value (never over a person's link).
    """
    link = written_fields(mapping, Concept.CONTRACT).get("renewal_opportunity")
    if link is None:
        return []
    contract_obj, opp_obj = mapping.contract.object, mapping.renewal_opportunity.object
    out: list[DesiredRecord] = []
    for renewal in plan.renewals:
        for contract_id in renewal.contract_ids:
            if renewal.existing_opportunity_id is not None:
                out.append(DesiredRecord(contract_obj, contract_id,
                                         {link: renewal.existing_opportunity_id},
                                         account_id=plan.account_id))
            else:
                out.append(DesiredRecord(contract_obj, contract_id, {},
                                         refs={link: RecordRef(opp_obj, renewal.key)},
                                         account_id=plan.account_id))
    return out


def desired_records(*, mapping: MappingFile, plan: RenewalPlan, owner_id: str | None,
                    line_entries: Mapping[str, str | None], shapes: FieldShapes,
                    account_object_id: str, assignees: Mapping[str, Assignees] | None = None,
                    cadence: CadencePolicy | None = None) -> list[DesiredRecord]:
    """Every record the plan wants: opportunities, their lines and tasks, the account.

    ``line_entries`` gives the price book entry of each contract line (by line Id),
    which a renewal line needs in a standard org. ``assignees`` (by renewal key) give
    the opportunity's owner and each task's by its step's role; without them everything
    goes to the account owner ``owner_id``. ``cadence`` gives the steps' instructions
    for the task descriptions.
    """
    routed = assignees or {}
    steps = cadence or CadencePolicy()
    opp_obj = mapping.renewal_opportunity.object
    line_obj, task_obj = mapping.renewal_line.object, mapping.task.object
    opp_ref_line = written_fields(mapping, Concept.RENEWAL_LINE).get("opportunity")
    opp_ref_task = written_fields(mapping, Concept.TASK).get("what")
    out: list[DesiredRecord] = []
    for renewal in plan.renewals:
        ref = RecordRef(opp_obj, renewal.key)
        who = routed.get(renewal.key)
        opp_owner = who.owner if who is not None else owner_id
        adopted = renewal.existing_opportunity_id if renewal.adopted else None
        # A person's opportunity sfrenew adopted is known by its Id (the ledger's key for
        # it too): sfrenew's own fields only, no lines, and tasks that point at it.
        out.append(DesiredRecord(opp_obj, adopted or renewal.key, shaped(
            opp_obj, _opportunity(mapping, renewal, opp_owner, shapes), shapes),
            account_id=plan.account_id))
        for line in () if adopted else renewal.lines:
            values = {
                "product": line.product_id,
                "price_book_entry": line_entries.get(line.source_line_id),
                "quantity": line.quantity,
                # The price for the line's period: Quantity × UnitPrice is the line's amount.
                "unit_price": line.term_unit_price,
                "annual_unit_price": line.unit_price,
                "start_date": line.start_date, "end_date": line.end_date,
                "uplift_rate": line.uplift.rate, "uplift_source": line.uplift.source.value,
                "uplift_bound": line.uplift.bound.value if line.uplift.bound else None,
                "proration_method": line.proration.method.value,
                "proration_fraction": line.proration.decimal_fraction,
                "explanation": line.explanation, "source_line": line.source_line_id,
            }
            out.append(DesiredRecord(line_obj, line.key, shaped(
                line_obj, _mapped(mapping, Concept.RENEWAL_LINE, values, shapes), shapes),
                refs={opp_ref_line: ref} if opp_ref_line else {},
                account_id=plan.account_id))
        descriptions = (task_descriptions(renewal, steps)
                        if "description" in written_fields(mapping, Concept.TASK) else {})
        for task in renewal.tasks:
            task_owner = who.user_for(task.assignee_role) if who is not None else owner_id
            values = {"subject": task.subject, "due_date": task.due_date,
                      "status": mapping.values.task_status.open,
                      "priority": _priority(mapping, task.priority), "owner": task_owner,
                      "description": descriptions.get(task.key), "what": adopted}
            if task_owner is None:
                del values["owner"]
            if adopted is None:
                del values["what"]
            out.append(DesiredRecord(task_obj, task.key, shaped(
                task_obj, _mapped(mapping, Concept.TASK, values, shapes), shapes),
                refs={opp_ref_task: ref} if opp_ref_task and adopted is None else {},
                account_id=plan.account_id))
    out.extend(contract_links(mapping, plan))
    level = plan.account_risk
    if level is not None:
        reasons = sorted({c for r in plan.renewals for c in r.risk.reason_codes})
        fields = _mapped(mapping, Concept.ACCOUNT, {
            "risk_level": getattr(mapping.values.risk_level, level.name.lower()),
            "risk_reasons": ", ".join(reasons)}, shapes)
        if fields:
            out.append(DesiredRecord(mapping.account.object, account_object_id,
                                     shaped(mapping.account.object, fields, shapes),
                                     account_id=plan.account_id))
    return out
