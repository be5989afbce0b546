"""describe: key sets and per-type flags compared with recorded real describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.describe import describe_global, describe_sobject
from sfrenew.localorg.schema import default_schema

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "salesforce-corpus" / "recorded" / (
    "cumulusci")
SCHEMA = default_schema()


def _recorded(name: str) -> dict[str, Any]:
    path = CORPUS / f"cumulusci__tests__shared_cassettes__GET_sobjects_{name}_describe.json"
    if not path.exists():
        pytest.skip(f"fidelity corpus not available at {CORPUS}")
    body: dict[str, Any] = json.loads(path.read_text("utf-8"))[0]["response_json"]
    return body


def _describe(name: str) -> dict[str, Any]:
    obj = SCHEMA.object(name)
    assert obj is not None
    return describe_sobject(obj, api_version="59.0", instance_url="https://127.0.0.1:1")


@pytest.mark.parametrize("name", ["Account", "Contact", "Opportunity", "Case"])
def test_object_describe_has_the_recorded_key_sets(name: str) -> None:
    real, mine = _recorded(name), _describe(name)
    newer = {"associateEntityType", "associateParentEntity", "sobjectDescribeOption"}
    assert set(real) <= set(mine) <= set(real) | newer
    assert {k for f in mine["fields"] for k in f} == set(real["fields"][0])
    assert all(len(f) == 57 for f in mine["fields"])
    assert {k for r in mine["childRelationships"] for k in r} == set(
        real["childRelationships"][0])
    case_only = {"caseArticleSuggestions", "caseRowArticleSuggestions"}
    assert set(real["urls"]) - case_only <= set(mine["urls"])
    assert set(mine["urls"]) <= set(real["urls"]) | {"defaultValues"}
    assert set(mine["recordTypeInfos"][0]) == set(real["recordTypeInfos"][0])
    assert list(mine) == sorted(mine)


@pytest.mark.parametrize(("obj", "field"), [
    ("Account", "Id"), ("Account", "Name"), ("Account", "ParentId"), ("Account", "OwnerId"),
    ("Account", "AnnualRevenue"), ("Account", "NumberOfEmployees"), ("Account", "Description"),
    ("Account", "Website"), ("Account", "IsDeleted"), ("Account", "CreatedDate"),
    ("Opportunity", "StageName"), ("Opportunity", "Amount"), ("Opportunity", "CloseDate"),
    ("Opportunity", "IsClosed"), ("Opportunity", "ForecastCategoryName"),
    ("Contact", "Email"), ("Contact", "AccountId"),
])
def test_field_flags_match_the_recording(obj: str, field: str) -> None:
    real = next(f for f in _recorded(obj)["fields"] if f["name"] == field)
    mine = next(f for f in _describe(obj)["fields"] if f["name"] == field)
    compared = ["type", "soapType", "aggregatable", "filterable", "groupable", "sortable",
                "nillable", "createable", "updateable", "precision", "scale", "digits",
                "referenceTo", "relationshipName", "restrictedPicklist", "unique",
                "externalId", "autoNumber", "calculated", "idLookup", "extraTypeInfo",
                "polymorphicForeignKey", "cascadeDelete"]
    if field not in ("Name", "Id"):  # person-account orgs relabel these; not our concern
        compared.append("label")
    if field == "Name":
        compared.remove("extraTypeInfo")
    assert {k: mine[k] for k in compared} == {k: real[k] for k in compared}


def test_required_fields_are_not_nillable_and_not_defaulted() -> None:
    fields = {f["name"]: f for f in _describe("Opportunity")["fields"]}
    for name in ("Name", "StageName", "CloseDate"):
        assert (fields[name]["nillable"], fields[name]["defaultedOnCreate"]) == (False, False)
    assert (fields["OwnerId"]["nillable"], fields["OwnerId"]["defaultedOnCreate"]) == (
        False, True)
    assert fields["Sfrenew_Key__c"].items() >= {"externalId": True, "unique": True,
                                                "idLookup": True, "custom": True,
                                                "length": 80}.items()
    stages = fields["StageName"]["picklistValues"]
    assert stages[0] == {"active": True, "defaultValue": False, "label": "Prospecting",
                         "validFor": None, "value": "Prospecting"}


def test_polymorphic_lookup_and_picklist_default() -> None:
    fields = {f["name"]: f for f in _describe("Task")["fields"]}
    what = fields["WhatId"]
    assert what["polymorphicForeignKey"] is True
    assert what["relationshipName"] == "What"
    assert "Opportunity" in what["referenceTo"]
    status = {v["value"]: v["defaultValue"] for v in fields["Status"]["picklistValues"]}
    assert status["Not Started"] is True
    assert status["Completed"] is False


def test_child_relationships_include_master_detail_cascade() -> None:
    rels = {r["relationshipName"]: r for r in _describe("Opportunity")["childRelationships"]}
    assert rels["OpportunityLineItems"].items() >= {
        "childSObject": "OpportunityLineItem", "field": "OpportunityId",
        "cascadeDelete": True}.items()
    contract = {r["relationshipName"] for r in _describe("Contract")["childRelationships"]}
    assert "SBQQ__Subscriptions__r" in contract


def test_global_describe_has_the_recorded_shape() -> None:
    real = _recorded("Global")
    mine = describe_global(SCHEMA, api_version="59.0")
    assert set(mine) == set(real)
    assert (mine["encoding"], mine["maxBatchSize"]) == ("UTF-8", 200)
    assert {k for s in mine["sobjects"] for k in s} == set(real["sobjects"][0])
    by_name = {s["name"]: s for s in mine["sobjects"]}
    assert by_name["Opportunity"]["keyPrefix"] == "006"
    assert by_name["SBQQ__Subscription__c"]["custom"] is True
    assert by_name["Account"]["urls"]["describe"] == (
        "/services/data/v59.0/sobjects/Account/describe")
