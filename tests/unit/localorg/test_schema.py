"""schema: the shipped data file and the loader's data-driven features."""

from __future__ import annotations

from typing import Any

import pytest

from sfrenew.localorg.schema import (
    ConditionOp,
    DerivationKind,
    FieldType,
    build_schema,
    default_schema,
)

SCHEMA = default_schema()

SF_PREFIXES = {"Account": "001", "Contact": "003", "User": "005", "UserRole": "00E",
               "Opportunity": "006", "OpportunityLineItem": "00k", "Task": "00T",
               "Case": "500", "Contract": "800", "Product2": "01t", "Pricebook2": "01s",
               "PricebookEntry": "01u"}

SFRENEW_FIELDS: list[tuple[str, str, FieldType, int]] = [
    ("Opportunity", "Sfrenew_Key__c", FieldType.STRING, 80),
    ("OpportunityLineItem", "Sfrenew_Key__c", FieldType.STRING, 80),
    ("Task", "Sfrenew_Key__c", FieldType.STRING, 80),
    ("Opportunity", "Sfrenew_Explanation__c", FieldType.TEXTAREA, 32000),
    ("Opportunity", "Sfrenew_Risk_Level__c", FieldType.PICKLIST, 255),
    ("Opportunity", "Sfrenew_Risk_Score__c", FieldType.DOUBLE, 0),
    ("Opportunity", "Sfrenew_Risk_Reasons__c", FieldType.TEXTAREA, 4000),
    ("Opportunity", "Sfrenew_Coterm_Group__c", FieldType.STRING, 255),
    ("Opportunity", "Sfrenew_Run_Id__c", FieldType.STRING, 64),
    ("OpportunityLineItem", "Sfrenew_Uplift_Rate__c", FieldType.PERCENT, 0),
    ("OpportunityLineItem", "Sfrenew_Uplift_Source__c", FieldType.STRING, 255),
    ("OpportunityLineItem", "Sfrenew_Uplift_Bound__c", FieldType.STRING, 40),
    ("OpportunityLineItem", "Sfrenew_Proration_Method__c", FieldType.STRING, 20),
    ("OpportunityLineItem", "Sfrenew_Proration_Fraction__c", FieldType.DOUBLE, 0),
    ("OpportunityLineItem", "Sfrenew_Explanation__c", FieldType.TEXTAREA, 1000),
    ("OpportunityLineItem", "Sfrenew_Source_Line_Id__c", FieldType.STRING, 18),
    ("Account", "Sfrenew_Risk_Level__c", FieldType.PICKLIST, 255),
    ("Account", "Sfrenew_Risk_Reasons__c", FieldType.TEXTAREA, 4000),
]


@pytest.mark.parametrize(("name", "prefix"), sorted(SF_PREFIXES.items()))
def test_standard_objects_use_salesforce_key_prefixes(name: str, prefix: str) -> None:
    obj = SCHEMA.object(name)
    assert obj is not None
    assert obj.key_prefix == prefix
    assert SCHEMA.object_by_prefix(prefix) is obj


def test_key_prefixes_are_unique_and_custom_objects_use_a_prefixes() -> None:
    prefixes = [o.key_prefix for o in SCHEMA.objects.values()]
    assert len(prefixes) == len(set(prefixes))
    assert all(o.key_prefix.startswith("a") for o in SCHEMA.objects.values() if o.custom)


@pytest.mark.parametrize(("obj", "name", "ftype", "length"), SFRENEW_FIELDS)
def test_fields_sfrenew_writes_exist(obj: str, name: str, ftype: FieldType, length: int) -> None:
    found = SCHEMA.object(obj)
    assert found is not None
    field = found.field(name)
    assert field is not None
    assert (field.type, field.createable, field.updateable) == (ftype, True, True)
    if length:
        assert field.length == length
    if name == "Sfrenew_Key__c":
        # Salesforce allows no External ID fields on activities: Task keys are plain text.
        assert field.external_id is (obj != "Task")
        assert field.unique is (obj != "Task")
    if name == "Sfrenew_Proration_Fraction__c":
        assert (field.precision, field.scale) == (18, 6)


def test_every_reference_points_at_known_objects_and_relationships_resolve() -> None:
    for obj in SCHEMA.objects.values():
        for field in obj.fields.values():
            if field.type != FieldType.REFERENCE:
                continue
            assert field.reference_to, f"{obj.name}.{field.name}"
            assert all(SCHEMA.object(t) is not None for t in field.reference_to)
            if (obj.name, field.name) == ("UserRole", "ParentRoleId"):
                continue  # as in Salesforce, not traversable in SOQL
            assert field.relationship_name is not None, f"{obj.name}.{field.name}"
            assert obj.relationship_field(field.relationship_name) is field
    account = SCHEMA.object("Account")
    assert account is not None
    contracts = account.child_relationship("contracts")
    assert contracts is not None
    assert (contracts.child_object, contracts.field) == ("Contract", "AccountId")


def test_currency_iso_code_is_a_restricted_picklist_everywhere() -> None:
    for obj in SCHEMA.objects.values():
        field = obj.field("CurrencyIsoCode")
        if field is not None:
            assert field.type == FieldType.PICKLIST
            assert field.restricted_picklist
            assert field.picklist_values == ("USD", "EUR", "GBP", "JPY")


def test_picklist_attributes_derivations_and_rules_load() -> None:
    opp = SCHEMA.object("Opportunity")
    assert opp is not None
    stage = opp.field("StageName")
    assert stage is not None
    won = stage.picklist_entry("Closed Won")
    assert won is not None
    assert (won.attribute("closed"), won.attribute("won"), won.attribute("probability")) == (
        True, True, 100)
    is_closed = opp.field("IsClosed")
    assert is_closed is not None
    assert is_closed.derived is not None
    assert is_closed.derived.kind == DerivationKind.PICKLIST_ATTRIBUTE
    assert not is_closed.createable
    probability = opp.field("Probability")
    assert probability is not None
    assert probability.derived is not None
    assert not probability.derived.always
    assert not probability.required_on_create
    rule = opp.validation_rules[0]
    assert (rule.field, rule.op, rule.value, rule.message) == (
        "Amount", ConditionOp.LT, 0, "Amount cannot be negative")
    contract = SCHEMA.object("Contract")
    assert contract is not None
    number = contract.field("ContractNumber")
    assert number is not None
    assert (number.auto_number, number.createable, number.name_field) == (
        "{00000000}", False, True)
    assert contract.name_field == "ContractNumber"


def test_required_and_defaults() -> None:
    opp = SCHEMA.object("Opportunity")
    task = SCHEMA.object("Task")
    assert opp is not None
    assert task is not None
    required = {f.name for f in opp.fields.values() if f.required_on_create}
    assert required == {"Name", "StageName", "CloseDate"}
    status = task.field("Status")
    assert status is not None
    assert (status.default, status.required_on_create) == ("Not Started", False)
    owner = task.field("OwnerId")
    assert owner is not None
    assert owner.default == "$user"


def _minimal(fields: dict[str, Any]) -> dict[str, Any]:
    return {"objects": {"Thing__c": {"key_prefix": "a09", "fields": fields}}}


def test_loader_rejects_unknown_types_and_derivation_modes() -> None:
    with pytest.raises(ValueError, match="blob"):
        build_schema(_minimal({"X__c": {"type": "blob"}}))
    with pytest.raises(ValueError, match="when"):
        build_schema(_minimal({"X__c": {"type": "string", "derived": {
            "kind": "concat", "of": ["Name"], "when": "sometimes"}}}))


def test_picklist_default_from_value_entry_and_system_fields() -> None:
    schema = build_schema(_minimal({"Name": {"type": "string", "length": 80},
                                    "Tier__c": {"type": "picklist", "values": [
                                        "Gold", {"value": "Silver", "default": True}]}}))
    thing = schema.object("thing__c")
    assert thing is not None
    tier = thing.field("tier__c")
    assert tier is not None
    assert tier.default == "Silver"
    assert [f.name for f in thing.fields.values()][:7] == [
        "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
        "LastModifiedById", "SystemModstamp"]
    record_id = thing.field("Id")
    assert record_id is not None
    assert record_id.label == "Record ID"
    assert thing.field("OwnerId") is None  # not owned
