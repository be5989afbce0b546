"""The generated metadata agrees with the local org, over HTTPS, for both presets.

sfrenew is tested against the local org, whose schema holds every field the presets
map; the metadata an admin deploys must create those fields with the types sfrenew
was tested with, and the report types may only name fields the org has (or the
generated formula field, which only the deploy creates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfrenew.mapping import load_mapping
from sfrenew.mapping.metadata import project_for
from tests.integration.conftest import SalesforceClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
PRESETS = [ROOT / "mappings" / "standard.yaml", ROOT / "mappings" / "cpq.yaml"]
# metadata type -> the describe's field type
DESCRIBED = {"Text": "string", "LongTextArea": "textarea", "Number": "double",
             "Currency": "currency", "Percent": "percent", "Checkbox": "boolean",
             "Date": "date", "Picklist": "picklist", "Lookup": "reference"}


def _fields(sf: SalesforceClient, obj: str, cache: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if obj not in cache:
        described = getattr(sf, obj).describe()
        cache[obj] = {f["name"]: f for f in described["fields"]}
    return cache[obj]


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_generated_fields_have_the_org_types_and_reports_its_fields(
        sf: SalesforceClient, path: Path) -> None:
    project = project_for(load_mapping(path).model)
    cache: dict[str, dict[str, Any]] = {}
    mismatches = []
    for spec in project.fields:
        org = _fields(sf, spec.object, cache).get(spec.name)
        if spec.formula is not None:
            assert org is None, spec.name  # new: the deploy creates it
            continue
        assert org is not None, f"{spec.object}.{spec.name} is not in the local org"
        expected = DESCRIBED[spec.type]
        # a picklist sfrenew only reads has no values to generate: a Text field
        read_picklist = (spec.type, org["type"], spec.writable) == ("Text", "picklist", False)
        if org["type"] != expected and not read_picklist:
            mismatches.append((spec.object, spec.name, spec.type, org["type"]))
        if spec.external_id:
            assert org["externalId"], spec.name
    assert mismatches == []
    formulas = {s.name for s in project.fields if s.formula is not None}
    assert formulas == {"Sfrenew_T_Minus_Bucket__c"}
    # the presets map the analytics objects: a report type over each, all fields in the org
    assert {t.base_object for t in project.report_types} >= {
        "Sfrenew_Renewal_Metric__c", "Sfrenew_Forecast_Snapshot__c"}
    for report_type in project.report_types:
        org_fields = _fields(sf, report_type.base_object, cache)
        new = sorted(s.name for s in project.fields
                     if s.formula is not None and s.object == report_type.base_object)
        assert [f for f in report_type.fields if f not in org_fields] == new
