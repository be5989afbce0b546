"""``sfrenew mappings metadata`` output through the Salesforce CLI's own converter.

``sf project convert source`` (npm @salesforce/cli, unmodified) turns the generated
SFDX project into Metadata API format, as ``sf project deploy start`` does before it
deploys. It checks the project's layout (every file a known type in its folder, the
report and dashboard folders) and parses the files it recomposes (objects and their
fields); it does not read what a report refers to, which
tests/unit/mapping/test_metadata_analytics.py checks. No org is needed.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sfrenew.mapping import load_mapping
from sfrenew.mapping._metadata_xml import write_project
from sfrenew.mapping.metadata import NS, project_for
from tests.thirdparty.conftest import NODE_MODULES, offline_env, require_install
from tests.unit.mapping._analytics_fixture import METRIC_OBJECT

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
PRESETS = [ROOT / "mappings" / "standard.yaml", ROOT / "mappings" / "cpq.yaml"]
M = f"{{{NS}}}"


def _convert(project: Path, out: Path) -> dict[str, Any]:
    require_install()
    (project.parent / "home").mkdir(exist_ok=True)
    done = subprocess.run(
        [str(NODE_MODULES / ".bin" / "sf"), "project", "convert", "source", "--root-dir",
         "force-app", "--output-dir", str(out), "--json"],
        cwd=project, env=offline_env(project.parent / "home"), capture_output=True, text=True,
        timeout=180, check=False)
    body: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 0) == (body["status"] == 0), body
    return body


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_generated_project_converts(path: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(project_for(load_mapping(path).model),
                  project)
    body = _convert(project, tmp_path / "mdapi")
    assert body["status"] == 0, body
    mdapi = tmp_path / "mdapi"
    reports = sorted(p.name for p in (mdapi / "reports" / "Sfrenew_Renewals").iterdir())
    assert reports == ["Sfrenew_ATR_By_Month.report", "Sfrenew_At_Risk_Renewals.report",
                       "Sfrenew_Forecast_Accuracy.report", "Sfrenew_GRR_NRR_By_Period.report",
                       "Sfrenew_On_Time_Rate_By_Month.report",
                       "Sfrenew_Pipeline_By_T_Minus.report"]
    assert (mdapi / "dashboards" / "Sfrenew_Dashboards" /
            "Sfrenew_Renewal_Desk.dashboard").exists()
    assert sorted(p.name for p in (mdapi / "reportTypes").iterdir()) == [
        "Sfrenew_Forecast_Snapshots.reportType", "Sfrenew_Renewal_Metrics.reportType",
        "Sfrenew_Renewal_Opportunities.reportType"]
    # the converter recomposed the object from its folder: its fields are inside it
    metric = ET.parse(mdapi / "objects" / f"{METRIC_OBJECT}.object").getroot()
    fields = {f.findtext(f"{M}fullName") for f in metric.iterfind(f"{M}fields")}
    assert {"Sfrenew_Key__c", "Value__c", "Weeks_Out__c"} & fields == \
        {"Sfrenew_Key__c", "Value__c"}
    assert metric.findtext(f"{M}nameField/{M}type") == "AutoNumber"
    package = ET.parse(mdapi / "package.xml").getroot()
    kinds = {t.findtext(f"{M}name") for t in package.iterfind(f"{M}types")}
    assert {"CustomObject", "CustomField", "Report", "ReportType", "Dashboard",
            "PermissionSet"} <= kinds


def test_the_converter_refuses_a_broken_object_file(tmp_path: Path) -> None:
    # the negative control: the converter parses what it recomposes (its parser is
    # lenient: a missing or mismatched closing tag passes, a broken tag does not,
    # so the unit tests parse every file with a strict parser too)
    project = tmp_path / "project"
    write_project(project_for(load_mapping(PRESETS[0]).model), project)
    field = (project / "force-app/main/default/objects" / METRIC_OBJECT / "fields" /
             "Value__c.field-meta.xml")
    field.write_text("<CustomField><broken")  # an unclosed tag inside an element
    body = _convert(project, tmp_path / "mdapi")
    assert body["status"] == 1
    assert "Value__c.field-meta.xml" in body["message"]
