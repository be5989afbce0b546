"""The presets against the local org; the committed JSON Schema; generated metadata."""

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sfrenew.mapping import Level, check_against_describe, load_mapping, metadata
from sfrenew.mapping._concepts import Concept, ConceptField, concept_fields
from sfrenew.mapping.jsonschema import render_json_schema
from sfrenew.mapping.metadata import NS, custom_fields_needed, is_unmanaged_custom, write_metadata
from tests.unit.mapping._describes import local_describes

ROOT = Path(__file__).parents[3]
PRESETS = [ROOT / "mappings" / "standard.yaml", ROOT / "mappings" / "cpq.yaml"]
M = f"{{{NS}}}"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_passes_phase_two_against_the_local_org(path: Path) -> None:
    findings = check_against_describe(load_mapping(path), local_describes())
    assert [str(f) for f in findings if f.level is Level.ERROR] == []
    assert [str(f) for f in findings] == []  # not even a warning


def test_committed_json_schema_is_current() -> None:
    committed = (ROOT / "mappings" / "mappings.schema.json").read_text(encoding="utf-8")
    assert committed == render_json_schema(), \
        "run: sfrenew mappings schema (and commit mappings/mappings.schema.json)"


def test_json_schema_completes_concept_field_names() -> None:
    schema = json.loads(render_json_schema())
    contract = schema["$defs"]["ContractMapping"]
    assert "end_date" in contract["properties"]["fields"]["propertyNames"]["enum"]
    assert contract["additionalProperties"] is False


def test_presets_reference_the_schema() -> None:
    for path in PRESETS:
        assert path.read_text().startswith("# yaml-language-server: $schema=mappings.schema.json")


def test_unmanaged_custom_names() -> None:
    assert is_unmanaged_custom("Sfrenew_Key__c")
    assert not is_unmanaged_custom("SBQQ__Quantity__c")
    assert not is_unmanaged_custom("Name")


def test_metadata_for_the_standard_preset(tmp_path: Path) -> None:
    model = load_mapping(PRESETS[0]).model
    written = write_metadata(model, tmp_path)
    fields_dir = tmp_path / "force-app/main/default/objects"
    key = ET.parse(fields_dir / "Opportunity/fields/Sfrenew_Key__c.field-meta.xml").getroot()
    assert key.tag == f"{M}CustomField"
    assert key.findtext(f"{M}fullName") == "Sfrenew_Key__c"
    assert key.findtext(f"{M}externalId") == "true"
    assert key.findtext(f"{M}unique") == "true"
    assert key.findtext(f"{M}type") == "Text"
    for path in written:
        if path.suffix == ".xml":
            root = ET.parse(path).getroot()  # every file is well-formed
            assert root.tag.startswith(M)
            if root.tag == f"{M}CustomField":
                assert path.name == f"{root.findtext(f'{M}fullName')}.field-meta.xml"
    risk = ET.parse(fields_dir / "Account/fields/Sfrenew_Risk_Level__c.field-meta.xml").getroot()
    assert [v.findtext(f"{M}fullName") for v in risk.iter(f"{M}value")] == \
        ["Low", "Medium", "High"]
    assert (fields_dir / "Usage_Snapshot__c/Usage_Snapshot__c.object-meta.xml").exists()


def test_metadata_package_and_permission_set(tmp_path: Path) -> None:
    model = load_mapping(PRESETS[1]).model
    write_metadata(model, tmp_path)
    package = ET.parse(tmp_path / "manifest/package.xml").getroot()
    members = {t.findtext(f"{M}name"): [m.text for m in t.findall(f"{M}members")]
               for t in package.findall(f"{M}types")}
    assert "Opportunity.Sfrenew_Key__c" in members["CustomField"]
    assert not [m for m in members["CustomField"] if m and "SBQQ__" in m]  # CPQ brings its own
    assert members["PermissionSet"] == ["Sfrenew_Integration"]
    perm = ET.parse(tmp_path / "force-app/main/default/permissionsets/"
                    "Sfrenew_Integration.permissionset-meta.xml").getroot()
    access = {p.findtext(f"{M}field"): p.findtext(f"{M}editable")
              for p in perm.findall(f"{M}fieldPermissions")}
    assert access["Opportunity.Sfrenew_Explanation__c"] == "true"
    assert access["Account.Segment__c"] == "false"  # read only
    assert json.loads((tmp_path / "sfdx-project.json").read_text())["packageDirectories"]


def test_custom_fields_needed_are_unique_per_object() -> None:
    specs = custom_fields_needed(load_mapping(PRESETS[0]).model)
    pairs = [(s.object, s.name) for s in specs]
    assert len(pairs) == len(set(pairs))
    assert ("OpportunityLineItem", "Sfrenew_Key__c") in pairs


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_metadata_has_the_approval_and_evergreen_fields(path: Path) -> None:
    specs = {(s.object, s.name): s for s in custom_fields_needed(load_mapping(path).model)}
    flag = specs[("Opportunity", "Sfrenew_Needs_Approval__c")]
    reason = specs[("Opportunity", "Sfrenew_Approval_Reason__c")]
    assert (flag.type, flag.writable) == ("Checkbox", True)
    assert (reason.type, reason.writable) == ("LongTextArea", True)
    if path.stem == "standard":
        assert specs[("Contract", "Evergreen__c")].type == "Checkbox"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_metadata_has_the_forecast_figures(path: Path, tmp_path: Path) -> None:
    write_metadata(load_mapping(path).model, tmp_path)
    objects = tmp_path / "force-app/main/default/objects"
    expected = {("Opportunity", "Sfrenew_Prior_ARR__c"): "Currency",
                ("Opportunity", "Sfrenew_Renewal_ARR__c"): "Currency",
                ("Opportunity", "Sfrenew_Uplift_Amount__c"): "Currency",
                ("Opportunity", "Sfrenew_Term_Months__c"): "Number",
                ("OpportunityLineItem", "Sfrenew_Annual_Unit_Price__c"): "Currency",
                ("OpportunityLineItem", "Sfrenew_Uplift_Rate__c"): "Percent"}
    for (obj, name), kind in expected.items():
        root = ET.parse(objects / obj / "fields" / f"{name}.field-meta.xml").getroot()
        assert root.findtext(f"{M}type") == kind, name
        if kind == "Currency":
            assert (root.findtext(f"{M}precision"), root.findtext(f"{M}scale")) == ("18", "2")


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_metadata_has_the_overdue_fields(path: Path, tmp_path: Path) -> None:
    write_metadata(load_mapping(path).model, tmp_path)
    objects = tmp_path / "force-app/main/default/objects"
    for name, kind in (("Sfrenew_Overdue__c", "Checkbox"),
                       ("Sfrenew_Days_Overdue__c", "Number")):
        root = ET.parse(objects / "Opportunity" / "fields" / f"{name}.field-meta.xml").getroot()
        assert root.findtext(f"{M}type") == kind, name


def test_catalogue_size_hints_size_the_generated_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    # The analytics fields need Number(18, 4), Text(3)...: a concept field's digits and
    # length hints win over the coercion's default size.
    def sized(concept: Concept) -> dict[str, ConceptField]:
        fields = dict(concept_fields(concept))
        if concept is Concept.RENEWAL_OPPORTUNITY:
            fields["risk_score"] = dataclasses.replace(fields["risk_score"], digits=(3, 0))
            fields["prior_arr"] = dataclasses.replace(fields["prior_arr"], digits=(16, 2))
            fields["coterm_group"] = dataclasses.replace(fields["coterm_group"], length=40)
        return fields

    monkeypatch.setattr(metadata, "concept_fields", sized)
    specs = {s.name: s for s in custom_fields_needed(load_mapping(PRESETS[0]).model)
             if s.object == "Opportunity"}
    assert (specs["Sfrenew_Risk_Score__c"].type, specs["Sfrenew_Risk_Score__c"].precision,
            specs["Sfrenew_Risk_Score__c"].scale) == ("Number", 3, 0)
    assert (specs["Sfrenew_Prior_ARR__c"].type, specs["Sfrenew_Prior_ARR__c"].precision) == \
        ("Currency", 16)
    assert specs["Sfrenew_Coterm_Group__c"].length == 40
    assert specs["Sfrenew_Term_Months__c"].precision == 18  # no hint: the default
