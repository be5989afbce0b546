"""Desired values shaped like the org stores them, so a no-change run writes nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sfrenew.core.changeset import RecordRef
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import RulesPolicy
from sfrenew.mapping import load_mapping
from sfrenew.plan.desired import FieldShape, contract_links, shaped, shapes_from_describe
from tests.unit.core.builders import ACCOUNT, TODAY, contract


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


def test_contract_links_name_the_renewal_by_ref_until_it_exists_and_adopted_ones_by_id() -> None:
    root = Path(__file__).parents[3]
    plan = plan_account(account=ACCOUNT, contracts=(contract(),), today=TODAY,
                        policy=RulesPolicy())
    (renewal,) = plan.renewals
    for preset, link in (("standard", "Renewal_Opportunity__c"),
                         ("cpq", "SBQQ__RenewalOpportunity__c")):
        mapping = load_mapping(root / "mappings" / f"{preset}.yaml").model
        (new,) = contract_links(mapping, plan)
        assert (new.object, new.key, dict(new.fields)) == ("Contract", "800A", {})
        assert dict(new.refs) == {link: RecordRef("Opportunity", renewal.key)}
        kept = plan.__class__(plan.account_id, (renewal._replace(
            existing_opportunity_id="006A"),), ())
        (old,) = contract_links(mapping, kept)
        assert (dict(old.fields), dict(old.refs)) == ({link: "006A"}, {})
