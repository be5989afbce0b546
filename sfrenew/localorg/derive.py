"""Values Salesforce computes on save: derived fields, auto numbers, validation rules.

All functions work on a record in stored form (see ``schema.py``), keyed by field API
name, as it would be saved. They are declared in ``schema.yaml`` (``derived``,
``auto_number``, ``validation_rules``), so adding one is a data change.
"""

from __future__ import annotations

import calendar
import operator
import re
from collections.abc import Callable, Collection, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import (
    ConditionOp,
    DerivationKind,
    FieldSchema,
    FieldType,
    SObjectSchema,
    ValidationRule,
)

# (referenced record Id, field of that record) -> its stored value, or None.
ParentLookup = Callable[[str, str], Any]

_AUTO_NUMBER_DIGITS = re.compile(r"\{(0+)\}")
_COMPARE: dict[ConditionOp, Callable[[Any, Any], bool]] = {
    ConditionOp.LT: operator.lt,
    ConditionOp.LE: operator.le,
    ConditionOp.GT: operator.gt,
    ConditionOp.GE: operator.ge,
}


def format_auto_number(display_format: str, number: int) -> str:
    """An auto-number value: ``{00000000}`` -> ``00000042``, ``SUB-{0000}`` -> ``SUB-0042``."""
    return _AUTO_NUMBER_DIGITS.sub(lambda m: str(number).zfill(len(m.group(1))), display_format)


def add_months(start: date, months: int) -> date:
    """``start`` plus whole months, the day clamped to the target month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _compute(obj: SObjectSchema, target: FieldSchema, record: dict[str, Any], *,
             lookup: ParentLookup | None, now: str | None) -> Any:
    derivation = target.derived
    assert derivation is not None  # only derived fields get here
    sources = [record.get(name) for name in derivation.of]
    kind = derivation.kind
    if kind == DerivationKind.STAMP_WHEN:
        # The write's time when the condition first holds, kept while it holds.
        if sources[0] != derivation.value:
            return None
        return record.get(target.name) or now
    if kind == DerivationKind.CONCAT:
        parts = [str(v) for v in sources if v not in (None, "")]
        return derivation.separator.join(parts) if parts else None
    if kind == DerivationKind.PICKLIST_ATTRIBUTE:
        source_field = obj.field(derivation.of[0])
        entry = (source_field.picklist_entry(str(sources[0]))
                 if source_field is not None and sources[0] is not None else None)
        value = entry.attribute(derivation.attribute) if entry is not None else None
        if target.type == FieldType.BOOLEAN:
            return int(bool(value))
        return value
    if kind == DerivationKind.EQUALS:
        return int(sources[0] == derivation.value)
    if kind == DerivationKind.PRODUCT:
        if any(v is None for v in sources):
            return None
        total = Decimal(1)
        for v in sources:
            total *= Decimal(str(v))
        return float(total.quantize(Decimal(1).scaleb(-target.scale), rounding=ROUND_HALF_UP))
    if kind == DerivationKind.ADD_MONTHS:
        start, months = sources[0], sources[1]
        if start is None or months is None:
            return None
        end = add_months(date.fromisoformat(str(start)), int(months))
        return (end - timedelta(days=derivation.minus_days)).isoformat()
    # LOOKUP: the parent's value (skipped where no lookup is available: bulk seeding).
    if lookup is None:
        return record.get(target.name)
    parent_id = sources[0]
    return None if parent_id is None else lookup(str(parent_id), derivation.parent_field)


def apply_derivations(obj: SObjectSchema, record: dict[str, Any], *, given: Collection[str],
                      creating: bool, lookup: ParentLookup | None,
                      targets: Sequence[FieldSchema] | None = None,
                      now: str | None = None) -> None:
    """Compute the derived fields of ``record`` in place.

    ``given`` are the fields the client set in this write. A derivation with
    ``when: always`` is recomputed every time; one with ``when: if_null`` fills the
    field when the client did not set it and it is empty, or (on update) when one of
    its sources changed, as Salesforce resets Probability when the stage moves.
    ``targets`` (the object's derived fields, precomputed) saves a scan per record;
    ``now`` is the write's timestamp text, for ``stamp_when`` fields.
    """
    for target in obj.fields.values() if targets is None else targets:
        derivation = target.derived
        if derivation is None:
            continue
        if not derivation.always:
            if target.name in given:
                continue
            sources_changed = not creating and any(s in given for s in derivation.of)
            if record.get(target.name) is not None and not sources_changed:
                continue
        record[target.name] = _compute(obj, target, record, lookup=lookup, now=now)


def _holds(rule: ValidationRule, record: dict[str, Any]) -> bool:
    value = record.get(rule.condition_field)
    if rule.op == ConditionOp.IS_NULL:
        return value is None
    if rule.op == ConditionOp.NOT_NULL:
        return value is not None
    if rule.op == ConditionOp.EQ:
        return bool(value == rule.value)
    if rule.op == ConditionOp.NE:
        return bool(value != rule.value)
    if value is None or rule.value is None:
        return False  # formulas treat a comparison with blank as false
    return _COMPARE[rule.op](value, rule.value)


def check_validation_rules(obj: SObjectSchema, record: dict[str, Any]) -> None:
    """Raise FIELD_CUSTOM_VALIDATION_EXCEPTION for the first rule the record breaks."""
    for rule in obj.validation_rules:
        if _holds(rule, record):
            raise SalesforceApiError.dml("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message,
                                         (rule.field,) if rule.field else ())
