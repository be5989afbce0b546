"""Phase 2: the mapping against crafted describes; every finding at once, located."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sfrenew.mapping import (
    Finding,
    Level,
    LoadedMapping,
    check_against_describe,
    fetch_describes,
    load_mapping,
    parse_mapping,
)
from tests.unit.mapping._describes import local_describes

HERE = Path(__file__).parent
MINIMAL = HERE / "minimal.yaml"


def fld(name: str, ftype: str = "string", **kw: Any) -> dict[str, Any]:
    """A describe field entry with Salesforce's defaults for a writable custom-ish field."""
    entry: dict[str, Any] = {"name": name, "type": ftype, "createable": True,
                             "updateable": True, "nillable": True, "externalId": False,
                             "unique": False, "idLookup": False, "defaultedOnCreate": False,
                             "picklistValues": [], "referenceTo": [], "relationshipName": None,
                             "restrictedPicklist": False, "scale": 0}
    entry.update(kw)
    return entry


def ref(name: str, to: str, rel: str | None = None, **kw: Any) -> dict[str, Any]:
    return fld(name, "reference", referenceTo=[to], relationshipName=rel, **kw)


def picklist(name: str, values: list[str], *, restricted: bool = True,
             inactive: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    return fld(name, "picklist", restrictedPicklist=restricted, picklistValues=[
        {"value": v, "label": v, "active": v not in inactive, "defaultValue": False}
        for v in values], **kw)


def obj(name: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "fields": [fld("Id", "id", createable=False, updateable=False),
                                     *fields]}


def org() -> dict[str, dict[str, Any]]:
    """Describes that fit tests/unit/mapping/minimal.yaml exactly."""

    def key() -> dict[str, Any]:
        return fld("Sfrenew_Key__c", externalId=True, unique=True, idLookup=True)

    return {
        "Account": obj("Account", fld("Name", nillable=False)),
        "Contract": obj("Contract", ref("AccountId", "Account", "Account"),
                        fld("StartDate", "date"), fld("EndDate", "date"),
                        picklist("Status", ["Draft", "Activated"])),
        "SBQQ__Subscription__c": obj(
            "SBQQ__Subscription__c", ref("SBQQ__Contract__c", "Contract", "SBQQ__Contract__r"),
            ref("SBQQ__Product__c", "Product2", "SBQQ__Product__r"),
            fld("SBQQ__Quantity__c", "double", scale=2), fld("SBQQ__NetPrice__c", "currency")),
        "Opportunity": obj(
            "Opportunity", key(), fld("Name", nillable=False),
            ref("AccountId", "Account", "Account"),
            picklist("StageName", ["Prospecting", "Closed Won", "Closed Lost"], nillable=False),
            fld("CloseDate", "date", nillable=False)),
        "OpportunityLineItem": obj(
            "OpportunityLineItem", key(),
            ref("OpportunityId", "Opportunity", "Opportunity", updateable=False,
                nillable=False),
            fld("Quantity", "double", nillable=False), fld("UnitPrice", "currency")),
        "Task": obj("Task", key(), fld("Subject"), fld("ActivityDate", "date"),
                    picklist("Status", ["Not Started", "Completed"], nillable=False,
                             defaultedOnCreate=True),
                    fld("WhatId", "reference", referenceTo=["Account", "Opportunity"],
                        relationshipName="What")),
    }


def _field(describes: dict[str, dict[str, Any]], object_name: str, name: str) -> dict[str, Any]:
    return next(f for f in describes[object_name]["fields"] if f["name"] == name)


def _check(describes: dict[str, dict[str, Any]], path: Path = MINIMAL) -> list[Finding]:
    return check_against_describe(load_mapping(path), describes)


def _messages(findings: list[Finding]) -> list[str]:
    return [f"{f.level}: {f.path}: {f.message}" for f in findings]


def test_a_fitting_org_has_no_findings() -> None:
    assert _check(org()) == []


def test_missing_field_with_suggestion_is_located() -> None:
    describes = org()
    _field(describes, "Contract", "EndDate")["name"] = "End_Date__c"
    (finding,) = _check(describes)
    assert finding.level is Level.ERROR
    assert finding.path == "contract.fields.end_date"
    assert finding.message == "field 'EndDate' is not on Contract (did you mean 'End_Date__c'?)"
    assert (finding.file, finding.line) == (str(MINIMAL), 5)
    assert str(finding).startswith(f"{MINIMAL}:5:")


def test_missing_object_with_suggestion() -> None:
    describes = org()
    renamed = describes.pop("SBQQ__Subscription__c")
    describes["SBQQ__Subscriptions__c"] = {**renamed, "name": "SBQQ__Subscriptions__c"}
    messages = _messages(_check(describes))
    assert "error: contract_line.object: object 'SBQQ__Subscription__c' is not in the org " \
           "(did you mean 'SBQQ__Subscriptions__c'?)" in messages


def test_field_names_match_case_insensitively_with_a_warning() -> None:
    describes = org()
    _field(describes, "Contract", "EndDate")["name"] = "ENDDATE"
    assert _messages(_check(describes)) == [
        "warning: contract.fields.end_date: the org spells it 'ENDDATE'"]


def test_wrong_type() -> None:
    describes = org()
    _field(describes, "Contract", "EndDate")["type"] = "string"
    assert _messages(_check(describes)) == [
        "error: contract.fields.end_date: EndDate is a string field; type date does not fit"]


def test_not_createable_and_not_updateable() -> None:
    describes = org()
    _field(describes, "OpportunityLineItem", "Quantity").update(createable=False,
                                                                 updateable=False)
    _field(describes, "Opportunity", "CloseDate")["updateable"] = False
    assert _messages(_check(describes)) == [
        "error: renewal_opportunity.fields.close_date: CloseDate is not updateable; "
        "mark it ownership: create_only",
        "error: renewal_line.fields.quantity: Quantity is not createable (read-only or no "
        "field access for the integration user)",
        "error: renewal_line.fields.quantity: Quantity is not updateable",
    ]


def test_create_only_needs_createable_only() -> None:
    # OpportunityId is not updateable in the crafted org; minimal.yaml marks it create_only.
    assert not _field(org(), "OpportunityLineItem", "OpportunityId")["updateable"]
    assert _check(org()) == []


def test_key_not_external_id() -> None:
    describes = org()
    _field(describes, "OpportunityLineItem", "Sfrenew_Key__c").update(externalId=False,
                                                                       idLookup=False)
    _field(describes, "Opportunity", "Sfrenew_Key__c")["unique"] = False
    assert _messages(_check(describes)) == [
        "warning: renewal_opportunity.key_field: Sfrenew_Key__c is not unique: two records "
        "with one key make an upsert fail (300 multiple matches)",
        "error: renewal_line.key_field: Sfrenew_Key__c is not an External ID field; sfrenew "
        "upserts by it",
    ]


def test_task_key_needs_no_external_id_but_must_be_queryable_text() -> None:
    describes = org()
    _field(describes, "Task", "Sfrenew_Key__c").update(externalId=False, idLookup=False)
    assert _messages(_check(describes)) == []
    _field(describes, "Task", "Sfrenew_Key__c").update(type="double")
    assert _messages(_check(describes)) == [
        "error: task.key_field: Sfrenew_Key__c must be a filterable text field: sfrenew finds "
        "its tasks by querying it",
    ]


def test_unknown_and_inactive_picklist_values() -> None:
    describes = org()
    stage = _field(describes, "Opportunity", "StageName")
    stage["picklistValues"][1]["active"] = False  # Closed Won
    stage["picklistValues"].append({"value": "Renewal Open", "active": True})
    text = MINIMAL.read_text() + "values:\n  stage: {open: Renewal Opn}\n"
    loaded = parse_mapping(text, file="m.yaml")
    # Defaults not written in the file are located at their section (values.stage).
    assert sorted(_messages(check_against_describe(loaded, describes))) == [
        "error: values.stage.open: 'Renewal Opn' is not a value of Opportunity.StageName "
        "(did you mean 'Renewal Open'?)",
        "error: values.stage.won: 'Closed Won' is an inactive value of Opportunity.StageName",
    ]


def test_unknown_value_of_an_unrestricted_picklist_is_a_warning() -> None:
    describes = org()
    status = _field(describes, "Task", "Status")
    status["restrictedPicklist"] = False
    status["picklistValues"].pop()  # Completed
    assert _messages(_check(describes)) == [
        "warning: values.task_status.completed: 'Completed' is not a value of Task.Status"]


def test_lookup_points_to_the_wrong_object() -> None:
    describes = org()
    _field(describes, "SBQQ__Subscription__c", "SBQQ__Contract__c")["referenceTo"] = ["Order"]
    _field(describes, "Task", "WhatId")["referenceTo"] = ["Account"]
    assert _messages(_check(describes)) == [
        "error: contract_line.lines.field: SBQQ__Contract__c points to Order, not to Contract",
        "error: task.fields.what: WhatId points to Account, not to Opportunity "
        "(renewal_opportunity)",
    ]


def test_required_field_not_mapped_is_a_warning() -> None:
    describes = org()
    describes["Task"]["fields"].append(fld("Region__c", nillable=False))
    assert _messages(_check(describes)) == [
        "warning: task.fields: Task.Region__c is required on create but not mapped: creates "
        "will fail with REQUIRED_FIELD_MISSING"]


def test_percent_hints() -> None:
    describes = org()
    describes["Contract"]["fields"] += [fld("Uplift__c", "percent"), fld("Cap__c", "double")]
    text = MINIMAL.read_text().replace(
        "status: Status}", "status: Status, uplift_rate: {field: Uplift__c, type: decimal}, "
        "uplift_cap: Cap__c}")
    findings = check_against_describe(parse_mapping(text, file="m.yaml"), describes)
    assert [f.message for f in findings] == [
        "Uplift__c is a percent field (5 means 5%); use type: percent to read it as 0.05",
        "Cap__c is a number, not a percent field: sfrenew reads and writes the rate itself "
        "there (0.05 for 5%, not 5)",
    ]


def test_relationship_paths_are_followed() -> None:
    describes = org()
    describes["Product2"] = obj("Product2", picklist("Family", ["Platform"]))
    text = MINIMAL.read_text().replace(
        "unit_price: SBQQ__NetPrice__c}", "unit_price: SBQQ__NetPrice__c, "
        "product_family: SBQQ__Product__r.Family, product_name: SBQQ__Product__r.Nme}")
    loaded = parse_mapping(text, file="m.yaml")
    assert _messages(check_against_describe(loaded, describes)) == [
        "error: contract_line.fields.product_name: field 'Nme' is not on Product2"]
    del describes["Product2"]
    assert _messages(check_against_describe(loaded, describes)) == [
        "warning: contract_line.fields.product_family: cannot check "
        "'SBQQ__Product__r.Family': Product2 was not described",
        "warning: contract_line.fields.product_name: cannot check "
        "'SBQQ__Product__r.Nme': Product2 was not described"]


def test_errors_and_warnings_come_together_in_file_order() -> None:
    describes = org()
    _field(describes, "Contract", "EndDate")["type"] = "string"
    _field(describes, "Contract", "StartDate")["name"] = "STARTDATE"
    _field(describes, "Task", "Sfrenew_Key__c")["externalId"] = False
    findings = _check(describes)
    where = [(f.line, f.column) for f in findings]
    assert where == sorted(where)
    assert {f.level for f in findings} == {Level.ERROR, Level.WARNING}


class _Source:
    def __init__(self, describes: dict[str, dict[str, Any]]) -> None:
        self.describes = describes
        self.asked: list[str] = []

    def describe(self, sobject: str) -> dict[str, Any]:
        self.asked.append(sobject)
        return copy.deepcopy(self.describes[sobject])


def test_fetch_describes_skips_missing_objects_and_follows_paths() -> None:
    describes = org()
    describes["Product2"] = obj("Product2", picklist("Family", ["Platform"]))
    del describes["Task"]
    text = MINIMAL.read_text().replace(
        "unit_price: SBQQ__NetPrice__c}",
        "unit_price: SBQQ__NetPrice__c, product_family: SBQQ__Product__r.Family}")
    loaded: LoadedMapping = parse_mapping(text, file="m.yaml")
    source = _Source(describes)
    fetched = fetch_describes(loaded, source, missing=KeyError)
    assert "Product2" in fetched
    assert "Task" not in fetched
    assert source.asked.count("Opportunity") == 1
    messages = _messages(check_against_describe(loaded, fetched))
    assert messages == ["error: task.object: object 'Task' is not in the org"]


@pytest.mark.parametrize("ftype", ["date", "datetime"])
def test_datetime_reads_as_date_but_is_not_written_as_one(ftype: str) -> None:
    describes = org()
    _field(describes, "Contract", "EndDate")["type"] = ftype
    _field(describes, "Task", "ActivityDate")["type"] = ftype
    expected = [] if ftype == "date" else [
        "error: task.fields.due_date: ActivityDate is a datetime field; type date does not fit"]
    assert _messages(_check(describes)) == expected


@pytest.mark.parametrize(("old", "new", "message"), [
    ("opportunity_field: ContractId", "opportunity_field: Pricebook2Id",
     "error: contract_line.lines.opportunity_field: Pricebook2Id points to Pricebook2, "
     "not to Contract"),
    ("opportunity_field: ContractId",
     "contract_field: SBQQ__Opportunity__c, line_field: Product2Id",
     "error: contract_line.lines.line_field: Product2Id points to Product2, not to "
     "Opportunity"),
])
def test_originating_opportunity_links_are_checked(old: str, new: str, message: str) -> None:
    text = (HERE.parents[2] / "mappings" / "standard.yaml").read_text().replace(old, new)
    findings = check_against_describe(parse_mapping(text, file="s.yaml"), local_describes())
    assert _messages(findings) == [message]


def test_missing_object_suggests_from_the_global_object_names() -> None:
    describes = org()
    del describes["Task"]
    findings = check_against_describe(load_mapping(MINIMAL), describes,
                                      object_names=["Tasks", "Event"])
    assert _messages(findings) == [
        "error: task.object: object 'Task' is not in the org (did you mean 'Tasks'?)"]
