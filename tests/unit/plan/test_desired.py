"""Desired values shaped like the org stores them, so a no-change run writes nothing."""

from __future__ import annotations

from decimal import Decimal

from sfrenew.plan.desired import FieldShape, shaped, shapes_from_describe


def test_numbers_round_to_the_field_scale_and_text_is_cut() -> None:
    shapes = {("task", "subject"): FieldShape("string", length=5),
              ("task", "x__c"): FieldShape("double", scale=2),
              ("task", "n__c"): FieldShape("int")}
    got = shaped("Task", {"Subject": "abcdefgh", "X__c": Decimal("1.005"), "N__c": 2.6,
                          "Other": "kept"}, shapes)
    assert got == {"Subject": "abcde", "X__c": Decimal("1.01"), "N__c": Decimal(3),
                   "Other": "kept"}


def test_shapes_come_from_the_describe() -> None:
    describe = {"fields": [{"name": "UnitPrice", "type": "currency", "length": 0, "scale": 2},
                           {"name": "Name", "type": "string", "length": 120, "scale": 0}]}
    shapes = shapes_from_describe("OpportunityLineItem", describe)
    assert shapes[("opportunitylineitem", "unitprice")] == FieldShape("currency", None, 2)
    assert shapes[("opportunitylineitem", "name")].length == 120
