"""The generated analytics metadata: objects, report types, reports, dashboard.

The well-formedness checks read the written files, not the values they came from:
every XML parses, every report names a generated report type and only its fields,
every report type field exists (a generated field file, or a standard field the
mapping maps), every dashboard component names a generated report and its groupings.
``sf project convert source`` checks the layout and the object files but not what a
report refers to (tests/thirdparty/test_sf_metadata.py); the elements of every file
are checked against the Metadata API's schema in tests/thirdparty/test_metadata_schema.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfrenew.cli import mappings as cli
from sfrenew.core.analytics import BUCKETS, bucket_of
from sfrenew.mapping import MappingFile, load_mapping
from sfrenew.mapping._analytics_reports import t_minus_formula
from sfrenew.mapping._metadata_xml import write_project
from sfrenew.mapping.metadata import NS, AnalyticsFieldsMissing, is_unmanaged_custom, project_for
from tests.clock import today
from tests.unit.mapping._analytics_fixture import (
    METRIC_OBJECT,
    SNAPSHOT_OBJECT,
)

ROOT = Path(__file__).parents[3]
PRESETS = [ROOT / "mappings" / "standard.yaml", ROOT / "mappings" / "cpq.yaml"]
M = f"{{{NS}}}"
BASE = Path("force-app/main/default")
REPORTS = {"Sfrenew_On_Time_Rate_By_Month", "Sfrenew_GRR_NRR_By_Period",
           "Sfrenew_ATR_By_Month", "Sfrenew_Pipeline_By_T_Minus", "Sfrenew_At_Risk_Renewals",
           "Sfrenew_Forecast_Accuracy"}


def _generate(path: Path, out: Path) -> list[Path]:
    mapping = load_mapping(path).model
    return write_project(project_for(mapping), out)


def _xml(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _texts(root: ET.Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(_ns(path))]


def _ns(path: str) -> str:
    return "/".join(f"{M}{part}" if part not in (".", "..", "*") else part
                    for part in path.split("/"))


@pytest.fixture(params=PRESETS, ids=lambda p: p.stem)
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    _generate(request.param, tmp_path)
    return tmp_path


def test_analytics_objects_are_reportable_auto_numbered_and_read_only_for_users(
        project: Path) -> None:
    for name, label, fmt in ((METRIC_OBJECT, "Sfrenew Renewal Metric", "SRM-{00000000}"),
                             (SNAPSHOT_OBJECT, "Sfrenew Forecast Snapshot", "SFS-{00000000}")):
        root = _xml(project / BASE / "objects" / name / f"{name}.object-meta.xml")
        assert root.tag == f"{M}CustomObject"
        assert root.findtext(_ns("label")) == label
        assert root.findtext(_ns("pluralLabel")) == f"{label}s"
        assert root.findtext(_ns("deploymentStatus")) == "Deployed"
        assert root.findtext(_ns("sharingModel")) == "Read"
        assert root.findtext(_ns("enableReports")) == "true"
        assert root.findtext(_ns("nameField/type")) == "AutoNumber"
        assert root.findtext(_ns("nameField/displayFormat")) == fmt


@pytest.mark.parametrize(("obj", "name", "kind", "size"), [
    (METRIC_OBJECT, "Sfrenew_Key__c", "Text", ("255", None, None)),
    (METRIC_OBJECT, "Currency__c", "Text", ("3", None, None)),
    (METRIC_OBJECT, "Value__c", "Number", (None, "18", "4")),
    (METRIC_OBJECT, "Numerator__c", "Number", (None, "18", "2")),
    (METRIC_OBJECT, "Period_Start__c", "Date", (None, None, None)),
    (SNAPSHOT_OBJECT, "Renewal_Count__c", "Number", (None, "9", "0")),
    (SNAPSHOT_OBJECT, "Weeks_Out__c", "Number", (None, "4", "0")),
    (SNAPSHOT_OBJECT, "Accuracy__c", "Percent", (None, "7", "4")),
])
def test_analytics_fields(tmp_path: Path, obj: str, name: str, kind: str,
                          size: tuple[str | None, ...]) -> None:
    _generate(PRESETS[0], tmp_path)
    root = _xml(tmp_path / BASE / "objects" / obj / "fields" / f"{name}.field-meta.xml")
    assert root.findtext(_ns("type")) == kind
    assert (root.findtext(_ns("length")), root.findtext(_ns("precision")),
            root.findtext(_ns("scale"))) == size
    if name == "Sfrenew_Key__c":
        assert (root.findtext(_ns("externalId")), root.findtext(_ns("unique"))) == \
            ("true", "true")


def test_every_xml_parses_in_schema_order(project: Path) -> None:
    files = sorted(project.rglob("*.xml"))
    assert len(files) > 50
    for path in files:
        root = _xml(path)
        assert root.tag.startswith(M), path
        for element in root.iter():
            tags = [c.tag for c in element]
            rest = [t for t in tags if t != f"{M}fullName"]
            assert rest == sorted(rest), (path, element.tag)  # the XSD's order


def _report_type_fields(project: Path) -> dict[str, tuple[str, set[str]]]:
    out = {}
    for path in (project / BASE / "reportTypes").glob("*.reportType-meta.xml"):
        root = _xml(path)
        base = root.findtext(_ns("baseObject")) or ""
        columns = {f"{c.findtext(_ns('table'))}${c.findtext(_ns('field'))}"
                   for c in root.iterfind(_ns("sections/columns"))}
        out[path.name.removesuffix(".reportType-meta.xml")] = (base, columns)
    return out


def test_every_report_type_field_exists(project: Path, request: pytest.FixtureRequest) -> None:
    mapping = load_mapping(request.node.callspec.params["project"]).model
    standard = {(m.object, f.field) for m in mapping.mapped() for f in m.fields.values()}
    for name, (base, columns) in _report_type_fields(project).items():
        assert columns, name
        for column in columns:
            obj, field = column.split("$")
            assert obj == base
            generated = project / BASE / "objects" / obj / "fields" / f"{field}.field-meta.xml"
            # generated, or a standard or package field (SBQQ__) the mapping maps
            assert generated.exists() or (not is_unmanaged_custom(field) and
                                          (obj, field) in standard), column


def test_every_report_uses_its_report_types_fields(project: Path) -> None:
    types = _report_type_fields(project)
    folder = project / BASE / "reports" / "Sfrenew_Renewals"
    assert {p.name.removesuffix(".report-meta.xml") for p in folder.iterdir()} == REPORTS
    assert (project / BASE / "reports" / "Sfrenew_Renewals.reportFolder-meta.xml").exists()
    for path in folder.iterdir():
        root = _xml(path)
        report_type = root.findtext(_ns("reportType")) or ""
        assert report_type.endswith("__c")  # how a report names a custom report type
        _, allowed = types[report_type.removesuffix("__c")]
        buckets = set(_texts(root, "buckets/developerName"))
        used = [field for part in ("columns/field", "groupingsDown/field",
                                   "groupingsAcross/field", "filter/criteriaItems/column",
                                   "sortColumn", "buckets/sourceColumnName")
                for field in _texts(root, part)]
        assert used, path
        for field in used:
            assert field in allowed or field in buckets, (path.name, field)
        if root.findtext(_ns("format")) != "Tabular":
            assert _texts(root, "groupingsDown/field"), path.name


def test_every_dashboard_component_charts_a_report_it_names(project: Path) -> None:
    reports = project / BASE / "reports"
    dashboards = list((project / BASE / "dashboards" / "Sfrenew_Dashboards").iterdir())
    assert [d.name for d in dashboards] == ["Sfrenew_Renewal_Desk.dashboard-meta.xml"]
    components = list(_xml(dashboards[0]).iterfind(
        _ns("dashboardGridLayout/dashboardGridComponents/dashboardComponent")))
    assert len(components) == len(REPORTS)
    for component in components:
        name = component.findtext(_ns("report")) or ""
        report = _xml(reports / f"{name}.report-meta.xml")
        groupings = set(_texts(report, "groupingsDown/field")
                        + _texts(report, "groupingsAcross/field")
                        + _texts(report, "buckets/developerName"))
        charted = _texts(component, "groupingColumn")
        assert charted, name
        assert set(charted) <= groupings, name
        measure = component.findtext(_ns("chartSummary/column"))
        assert measure in [*_texts(report, "columns/field"), "RowCount"], name


def test_package_lists_every_component_written(project: Path) -> None:
    package = _xml(project / "manifest" / "package.xml")
    members = {t.findtext(_ns("name")): set(_texts(t, "members"))
               for t in package.iterfind(_ns("types"))}
    assert members["Report"] == {"Sfrenew_Renewals"} | {f"Sfrenew_Renewals/{r}" for r in REPORTS}
    assert members["Dashboard"] == {"Sfrenew_Dashboards", "Sfrenew_Dashboards/Sfrenew_Renewal_Desk"}
    assert members["ReportType"] == {"Sfrenew_Renewal_Metrics", "Sfrenew_Forecast_Snapshots",
                                     "Sfrenew_Renewal_Opportunities"}
    assert {METRIC_OBJECT, SNAPSHOT_OBJECT} <= members["CustomObject"]
    fields = {f"{p.parent.parent.name}.{p.name.removesuffix('.field-meta.xml')}"
              for p in (project / BASE / "objects").rglob("*.field-meta.xml")}
    assert members["CustomField"] == fields


def test_the_output_is_the_same_bytes_on_a_rerun(tmp_path: Path) -> None:
    first = _generate(PRESETS[1], tmp_path / "a")
    second = _generate(PRESETS[1], tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == \
        [p.relative_to(tmp_path / "b") for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a


def test_permission_set_writes_the_analytics_objects_but_not_the_formula(project: Path) -> None:
    perm = _xml(project / BASE / "permissionsets" / "Sfrenew_Integration.permissionset-meta.xml")
    objects = {p.findtext(_ns("object")): (p.findtext(_ns("allowCreate")),
                                           p.findtext(_ns("allowEdit")),
                                           p.findtext(_ns("allowDelete")))
               for p in perm.iterfind(_ns("objectPermissions"))}
    assert objects[METRIC_OBJECT] == ("true", "true", "false")
    fields = {p.findtext(_ns("field")): p.findtext(_ns("editable"))
              for p in perm.iterfind(_ns("fieldPermissions"))}
    assert fields[f"{METRIC_OBJECT}.Value__c"] == "true"
    assert fields["Opportunity.Sfrenew_T_Minus_Bucket__c"] == "false"  # a formula


def test_t_minus_formula_is_the_cores_buckets() -> None:
    assert t_minus_formula("D") == (
        'IF(ISBLANK(D), "", IF(D < TODAY(), "0 overdue", '
        'IF(D - TODAY() <= 30, "1 T-30", IF(D - TODAY() <= 60, "2 T-60", '
        'IF(D - TODAY() <= 90, "3 T-90", IF(D - TODAY() <= 120, "4 T-120", "5 later"))))))')
    # the same bounds as the core: the last day of each bucket and the day after
    day = today()
    assert [bucket_of(day + timedelta(days=n), day) for n in (-1, 0, 30, 31, 120, 121)] == \
        ["overdue", "T-30", "T-30", "T-60", "T-120", "later"]
    assert BUCKETS == ("overdue", "T-30", "T-60", "T-90", "T-120", "later")


@pytest.mark.parametrize(("path", "due"), [
    (PRESETS[0], "Renewed_Contract__r.EndDate"),
    (PRESETS[1], "SBQQ__RenewedContract__r.EndDate"),
], ids=["standard", "cpq"])
def test_t_minus_field_reads_the_renewed_contracts_end_date(path: Path, due: str,
                                                            tmp_path: Path) -> None:
    write_project(project_for(load_mapping(path).model), tmp_path)
    root = _xml(tmp_path / BASE / "objects/Opportunity/fields/Sfrenew_T_Minus_Bucket__c"
                           ".field-meta.xml")
    assert (root.findtext(_ns("formula")) or "").startswith(f"IF(ISBLANK({due}), \"\"")
    assert root.findtext(_ns("type")) == "Text"
    report = _xml(tmp_path / BASE / "reports/Sfrenew_Renewals/Sfrenew_At_Risk_Renewals"
                             ".report-meta.xml")
    # open (stage, type) and (High risk or overdue)
    assert report.findtext(_ns("filter/booleanFilter")) == "1 AND 2 AND (3 OR 4)"
    assert _texts(report, "filter/criteriaItems/value") == \
        ["Closed Won,Closed Lost", "Renewal", "High", "1"]


def _without(*sections: str) -> MappingFile:
    """The standard preset without some analytics sections (an org that skips them)."""
    return load_mapping(PRESETS[0]).model.model_copy(update=dict.fromkeys(sections))


def _dropping(concept: str, *names: str) -> MappingFile:
    """The standard preset with some fields of one analytics section unmapped."""
    mapping = load_mapping(PRESETS[0]).model
    section = getattr(mapping, concept)
    fields = {k: v for k, v in section.fields.items() if k not in names}
    return mapping.model_copy(update={concept: section.model_copy(update={"fields": fields})})


def test_the_presets_map_every_analytics_field_the_reports_need() -> None:
    for preset in PRESETS:
        project = project_for(load_mapping(preset).model)
        assert {r.name for r in project.reports} == REPORTS
        assert project.notes == ()


def test_without_the_analytics_concepts_only_the_opportunity_reports() -> None:
    project = project_for(_without("renewal_metric", "forecast_snapshot"))
    assert [r.name for r in project.reports] == ["Sfrenew_Pipeline_By_T_Minus",
                                                 "Sfrenew_At_Risk_Renewals"]
    assert project.notes == ("no report over renewal_metric: the mapping does not map it",
                             "no report over forecast_snapshot: the mapping does not map it")


def test_a_mapped_analytics_concept_without_a_needed_field_names_it() -> None:
    mapping = _dropping("renewal_metric", "value")
    mapping = mapping.model_copy(update={"forecast_snapshot": _dropping(
        "forecast_snapshot", "weeks_out").forecast_snapshot})
    with pytest.raises(AnalyticsFieldsMissing) as caught:
        project_for(mapping)
    assert str(caught.value).splitlines() == [
        "renewal_metric.value is not mapped; needed by: On-time renewal rate by month, "
        "GRR and NRR by period, Available to renew by month and risk",
        "forecast_snapshot.weeks_out is not mapped; needed by: Forecast accuracy by weeks out"]
    assert caught.value.missing == (("renewal_metric", "value"),
                                    ("forecast_snapshot", "weeks_out"))


def test_cli_notes_what_it_left_out_and_says_how_to_deploy(tmp_path: Path) -> None:
    # the standard preset without its renewal_metric section
    text = PRESETS[0].read_text(encoding="utf-8")
    start = text.index("\nrenewal_metric:\n")
    end = text.index("\nforecast_snapshot:\n")
    trimmed = tmp_path / "no-metrics.yaml"
    trimmed.write_text(text[:start] + text[end:], encoding="utf-8")
    result = CliRunner().invoke(cli.mappings, ["metadata", "--out", str(tmp_path / "p"),
                                               str(trimmed)])
    assert result.exit_code == 0, result.output
    assert "note: no report over renewal_metric: the mapping does not map it" in result.output
    assert "sf project deploy start --source-dir force-app" in result.output


def test_cli_cannot_write_says_where_without_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    result = CliRunner().invoke(cli.mappings, ["metadata", "--out", str(blocker / "p"),
                                               str(PRESETS[0])])
    assert result.exit_code == 2
    assert f"cannot write the project to {blocker / 'p'}" in result.output
    assert "choose another --out folder" in result.output
    assert "Traceback" not in result.output


def test_the_docs_name_every_generated_report() -> None:
    project = project_for(load_mapping(PRESETS[0]).model)
    for doc in ("salesforce-setup.md", "analytics.md"):
        text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
        for report in project.reports:
            assert f"| {report.label} |" in text, (doc, report.label)


def test_cli_names_the_mapping_section_of_a_missing_analytics_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The presets map every field the opportunity reports need, so the refusal is
    # staged: as project_for raises it when a mapped analytics concept lacks a field.
    def refuse(_: object) -> None:
        raise AnalyticsFieldsMissing([
            ("renewal_opportunity", "risk_level", "At-risk renewals"),
            ("renewal_opportunity", "risk_level", "At-risk renewals"),
            ("renewal_opportunity", "close_date", "Renewal pipeline by T-minus bucket"),
            ("renewal_opportunity", "close_date", "At-risk renewals")])

    monkeypatch.setattr(cli, "project_for", refuse)
    out = tmp_path / "p"
    result = CliRunner().invoke(cli.mappings, ["metadata", "--out", str(out),
                                               str(PRESETS[0])])
    assert result.exit_code == 2
    # the renewal_opportunity section's fields: key is on line 70, column 3
    assert result.output.splitlines() == [
        f"{PRESETS[0]}:70:3: error: renewal_opportunity.fields: risk_level is not "
        "mapped; needed by the reports: At-risk renewals",
        f"{PRESETS[0]}:70:3: error: renewal_opportunity.fields: close_date is not "
        "mapped; needed by the reports: Renewal pipeline by T-minus bucket, At-risk renewals",
        "nothing was written: map these fields (docs/mappings.md) and run the command again"]
    assert not out.exists()


def test_permission_set_only_reads_an_object_sfrenew_only_reads(project: Path) -> None:
    perm = _xml(project / BASE / "permissionsets" / "Sfrenew_Integration.permissionset-meta.xml")
    usage = [p for p in perm.iterfind(_ns("objectPermissions"))
             if p.findtext(_ns("object")) == "Usage_Snapshot__c"]
    assert [(p.findtext(_ns("allowRead")), p.findtext(_ns("allowCreate")),
             p.findtext(_ns("allowEdit"))) for p in usage] == [("true", "false", "false")]
    root = _xml(project / BASE / "objects/Usage_Snapshot__c/Usage_Snapshot__c.object-meta.xml")
    assert root.findtext(_ns("sharingModel")) == "ReadWrite"  # the customer's object
    assert root.findtext(_ns("nameField/type")) == "Text"  # its records keep their names
