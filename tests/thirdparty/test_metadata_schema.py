"""Every generated metadata file against the Metadata API's own schema.

jsforce ships the Metadata API's WSDL as data (``lib/api/metadata/schema.js``,
generated from Salesforce's WSDL): each type's elements in the XSD's order, which are
required, which repeat, and their types. A deploy refuses an unknown element, one out
of order ("invalid at this location") or a missing required one; this test finds those
offline, for every file ``sfrenew mappings metadata`` writes, in both presets, with
the analytics objects. ``sf project convert source`` (test_sf_metadata.py) does not
read reports, dashboards or report types at all.
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
from tests.thirdparty.conftest import HERE, require_install

ROOT = Path(__file__).parents[2]
PRESETS = [ROOT / "mappings" / "standard.yaml", ROOT / "mappings" / "cpq.yaml"]
M = f"{{{NS}}}"
Schemas = dict[str, Any]
LEAVES = {"string", "boolean", "number", "any"}


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    node = require_install()
    done = subprocess.run(
        [node, "-e", "process.stdout.write(JSON.stringify(require("
                     "'./node_modules/jsforce/lib/api/metadata/schema.js').ApiSchemas))"],
        cwd=HERE, capture_output=True, text=True, timeout=60, check=True)
    loaded: Schemas = json.loads(done.stdout)
    return loaded


def _props(schemas: Schemas, kind: str) -> list[tuple[str, Any]]:
    schema = schemas[kind]
    base = _props(schemas, schema["extends"]) if "extends" in schema else []
    return base + list(schema["props"].items())


def problems(schemas: Schemas, element: ET.Element, kind: str, where: str = "") -> list[str]:
    """What a deploy would refuse in ``element`` as a ``kind`` (empty: nothing)."""
    props = _props(schemas, kind)
    order = {name: i for i, (name, _) in enumerate(props)}
    out: list[str] = []
    seen: list[str] = []
    last = -1
    for child in element:
        name = child.tag.removeprefix(M)
        here = f"{where}/{name}"
        if name not in order:
            out.append(f"{here}: not an element of {kind}")
            continue
        if order[name] < last:
            out.append(f"{here}: out of order in {kind}")
        last = order[name]
        spec = dict(props)[name]
        many = isinstance(spec, list)
        if not many and name in seen:
            out.append(f"{here}: repeated in {kind}")
        seen.append(name)
        child_kind = (spec[0] if many else spec).lstrip("?")
        if child_kind in LEAVES:
            text = child.text or ""
            if child_kind == "boolean" and text not in ("true", "false"):
                out.append(f"{here}: {text!r} is not a boolean")
            if child_kind == "number" and not text.lstrip("-").replace(".", "").isdigit():
                out.append(f"{here}: {text!r} is not a number")
        else:
            out += problems(schemas, child, child_kind, here)
    for name, spec in props:
        if isinstance(spec, str) and not spec.startswith("?") and name not in seen:
            out.append(f"{where}/{name}: required in {kind}, missing")
    return out


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_generated_file_fits_the_metadata_api_schema(path: Path, tmp_path: Path,
                                                           schemas: Schemas) -> None:
    written = write_project(project_for(load_mapping(path).model), tmp_path)
    kinds: set[str] = set()
    found: list[str] = []
    for file in written:
        if file.suffix != ".xml":
            continue
        root = ET.parse(file).getroot()
        kind = root.tag.removeprefix(M)
        kinds.add(kind)
        found += [f"{file.relative_to(tmp_path)}: {p}" for p in problems(schemas, root, kind)]
    assert found == []
    assert kinds == {"CustomField", "CustomObject", "PermissionSet", "ReportType", "Report",
                     "ReportFolder", "Dashboard", "DashboardFolder", "Package"}


def test_the_schema_check_finds_what_a_deploy_refuses(schemas: Schemas) -> None:
    report = ET.fromstring(
        f'<Report xmlns="{NS}"><name>x</name><format>Summary</format>'
        "<columns><field>A$B</field><bogus>1</bogus></columns>"
        "<showDetails>yes</showDetails></Report>")
    assert problems(schemas, report, "Report") == [
        "/format: out of order in Report",
        "/columns: out of order in Report",
        "/columns/bogus: not an element of ReportColumn",
        "/showDetails: 'yes' is not a boolean",
        "/reportType: required in Report, missing",
    ]
