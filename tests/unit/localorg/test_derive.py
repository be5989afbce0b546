"""derive: auto numbers, month arithmetic, derivations and validation rules as data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sfrenew.localorg.derive import (
    add_months,
    apply_derivations,
    check_validation_rules,
    format_auto_number,
)
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import SObjectSchema, build_schema


@pytest.mark.parametrize(("fmt", "number", "text"), [
    ("{00000000}", 42, "00000042"),
    ("SUB-{0000}", 7, "SUB-0007"),
    ("CASE-{00}", 12345, "CASE-12345"),  # overflows the width like Salesforce does
])
def test_format_auto_number(fmt: str, number: int, text: str) -> None:
    assert format_auto_number(fmt, number) == text


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 11, 15), 14, date(2026, 1, 15)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
])
def test_add_months_clamps_to_month_end(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end


def _thing(rules: list[dict[str, Any]]) -> SObjectSchema:
    schema = build_schema({"objects": {"Thing__c": {"key_prefix": "a09", "fields": {
        "First__c": {"type": "string", "length": 40},
        "Last__c": {"type": "string", "length": 40},
        "Full__c": {"type": "string", "length": 81, "createable": False, "updateable": False,
                    "derived": {"kind": "concat", "of": ["First__c", "Last__c"]}},
        "Score__c": {"type": "double", "precision": 5, "scale": 0},
        "Band__c": {"type": "picklist", "values": [
            {"value": "Red", "urgent": True}, "Green"]},
        "Urgent__c": {"type": "boolean", "createable": False, "updateable": False,
                      "derived": {"kind": "picklist_attribute", "of": ["Band__c"],
                                  "attribute": "urgent"}},
        "Is_Red__c": {"type": "boolean", "createable": False, "updateable": False,
                      "derived": {"kind": "equals", "of": ["Band__c"], "value": "Red"}},
    }, "validation_rules": rules}}})
    thing = schema.object("Thing__c")
    assert thing is not None
    return thing


def test_derivations_compute_from_the_saved_record() -> None:
    thing = _thing([])
    record: dict[str, Any] = {"First__c": "Ada", "Last__c": None, "Band__c": "Red"}
    apply_derivations(thing, record, given=record.keys(), creating=True, lookup=None)
    assert (record["Full__c"], record["Urgent__c"], record["Is_Red__c"]) == ("Ada", 1, 1)
    record.update({"Band__c": "Green", "First__c": None})
    apply_derivations(thing, record, given={"Band__c"}, creating=False, lookup=None)
    assert (record["Full__c"], record["Urgent__c"], record["Is_Red__c"]) == (None, 0, 0)


@pytest.mark.parametrize(("op", "value", "score", "fails"), [
    ("lt", 0, -1.0, True),
    ("lt", 0, 0.0, False),
    ("lt", 0, None, False),  # a comparison with blank is false
    ("ge", 100, 100.0, True),
    ("eq", 5, 5.0, True),
    ("ne", 5, 5.0, False),
    ("is_null", None, None, True),
    ("not_null", None, 3.0, True),
])
def test_validation_rule_conditions(op: str, value: Any, score: float | None,
                                    fails: bool) -> None:
    thing = _thing([{"name": "Score_Rule", "field": "Score__c", "message": "Bad score",
                     "condition": {"field": "Score__c", "op": op, "value": value}}])
    if not fails:
        check_validation_rules(thing, {"Score__c": score})
        return
    with pytest.raises(SalesforceApiError) as caught:
        check_validation_rules(thing, {"Score__c": score})
    assert caught.value.rest_json() == [{"message": "Bad score",
                                         "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                         "fields": ["Score__c"]}]
