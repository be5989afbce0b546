"""The one place Salesforce metadata XML is built and written (source format, SFDX).

Children are written in the Metadata API's schema order (``fullName`` first, then
alphabetical, which is how the API's XSD lists them): the API refuses an element "at
this location" otherwise. Same values in, same bytes out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from sfrenew.mapping._metadata_model import (
    DASHBOARD_FOLDER,
    PERMISSION_SET,
    REPORT_FOLDER,
    ROW_COUNT,
    Aggregate,
    CustomFieldSpec,
    CustomObjectSpec,
    DashboardSpec,
    NumberBucket,
    ReportFormat,
    ReportSpec,
    ReportTypeSpec,
    SfdxProject,
)

NS = "http://soap.sforce.com/2006/04/metadata"
API_VERSION = "62.0"
PACKAGE_DIR = Path("force-app/main/default")
_GRID_COLUMNS = 12  # a Lightning dashboard's grid; two components side by side
_COMPONENT_ROWS = 8


def _el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, {"xmlns": NS})


def _schema_order(element: ET.Element) -> None:
    # A stable sort: repeated elements (values, columns) keep their order.
    children = sorted(element, key=lambda c: (c.tag != "fullName", c.tag))
    element[:] = children
    for child in children:
        _schema_order(child)


def _write(root: ET.Element, path: Path) -> Path:
    _schema_order(root)
    ET.indent(root, space="    ")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ET.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n", encoding="utf-8")
    return path


def field_xml(spec: CustomFieldSpec) -> ET.Element:
    """The ``CustomField`` element of one field."""
    root = _root("CustomField")
    _el(root, "fullName", spec.name)
    _el(root, "description", spec.description)
    _el(root, "label", spec.label)
    _el(root, "type", spec.type)
    if spec.formula is not None:  # a formula has no length, default or required flag
        _el(root, "formula", spec.formula)
        _el(root, "formulaTreatBlanksAs", "BlankAsBlank")
        return root
    if spec.external_id:
        _el(root, "externalId", "true")
        _el(root, "unique", "true")
        _el(root, "caseSensitive", "false")
    if spec.length is not None:
        _el(root, "length", str(spec.length))
    if spec.precision is not None:
        _el(root, "precision", str(spec.precision))
        _el(root, "scale", str(spec.scale or 0))
    if spec.type == "Checkbox":
        _el(root, "defaultValue", "false")
    else:
        _el(root, "required", "false")
    if spec.type == "Lookup":
        _el(root, "deleteConstraint", "SetNull")
        _el(root, "referenceTo", spec.reference_to)
        _el(root, "relationshipName", spec.object.removesuffix("__c") + "s")
    if spec.type == "LongTextArea":
        _el(root, "visibleLines", "5")
    if spec.values:
        vs = _el(root, "valueSet")
        _el(vs, "restricted", "true")
        definition = _el(vs, "valueSetDefinition")
        _el(definition, "sorted", "false")
        for value in spec.values:
            item = _el(definition, "value")
            _el(item, "fullName", value)
            _el(item, "default", "false")
            _el(item, "label", value)
    return root


def object_xml(spec: CustomObjectSpec) -> ET.Element:
    """The ``CustomObject`` element: reportable, auto-numbered names on sfrenew's own."""
    root = _root("CustomObject")
    _el(root, "deploymentStatus", "Deployed")
    _el(root, "description", spec.description)
    for flag, on in (("enableActivities", False), ("enableBulkApi", True),
                     ("enableFeeds", False), ("enableHistory", False),
                     ("enableReports", True), ("enableSearch", False),
                     ("enableSharing", True), ("enableStreamingApi", True)):
        _el(root, flag, "true" if on else "false")
    _el(root, "externalSharingModel", "Private")
    _el(root, "label", spec.label)
    name_field = _el(root, "nameField")
    if spec.written:  # sfrenew's own records: nobody types their names
        _el(name_field, "displayFormat", spec.name_format)
        _el(name_field, "label", f"{spec.label} Number")
        _el(name_field, "type", "AutoNumber")
    else:  # an object people fill: a Text name, as before (AutoNumber would rename them)
        _el(name_field, "label", f"{spec.label} Name")
        _el(name_field, "type", "Text")
    _el(root, "pluralLabel", spec.plural_label)
    _el(root, "sharingModel", spec.sharing_model)
    _el(root, "visibility", "Public")
    return root


def permission_set_xml(project: SfdxProject) -> ET.Element:
    """The integration user's field and object access.

    Create and Edit only on objects sfrenew writes; no Delete (a rollback's deletes
    need it granted separately, docs/salesforce-setup.md §4).
    """
    perm = _root("PermissionSet")
    _el(perm, "description", "Field access for the sfrenew integration user")
    _el(perm, "label", "sfrenew Integration")
    for spec in project.fields:
        fp = _el(perm, "fieldPermissions")
        editable = spec.formula is None and (spec.writable or spec.external_id)
        _el(fp, "editable", "true" if editable else "false")
        _el(fp, "field", f"{spec.object}.{spec.name}")
        _el(fp, "readable", "true")
    for obj in project.objects:
        op = _el(perm, "objectPermissions")
        _el(op, "allowCreate", "true" if obj.written else "false")
        _el(op, "allowEdit", "true" if obj.written else "false")
        _el(op, "allowRead", "true")
        _el(op, "allowDelete", "false")
        _el(op, "modifyAllRecords", "false")
        _el(op, "object", obj.name)
        _el(op, "viewAllRecords", "false")
    return perm


def report_type_xml(spec: ReportTypeSpec) -> ET.Element:
    """A custom report type with every listed field in one section."""
    root = _root("ReportType")
    _el(root, "baseObject", spec.base_object)
    _el(root, "category", spec.category)
    _el(root, "deployed", "true")
    _el(root, "description", spec.description)
    _el(root, "label", spec.label)
    section = _el(root, "sections")
    for field in spec.fields:
        column = _el(section, "columns")
        _el(column, "checkedByDefault", "true")
        _el(column, "field", field)
        _el(column, "table", spec.base_object)
    _el(section, "masterLabel", spec.label)
    return root


def _bucket_xml(parent: ET.Element, bucket: NumberBucket) -> None:
    el = _el(parent, "buckets")
    _el(el, "bucketType", "number")
    _el(el, "developerName", bucket.name)
    _el(el, "masterLabel", bucket.label)
    _el(el, "nullTreatment", "n")
    _el(el, "sourceColumnName", bucket.source)
    _el(el, "useOther", "false")
    lower: int | None = None
    for upper, label in (*bucket.ranges, (None, bucket.rest)):
        values = _el(el, "values")
        source = _el(values, "sourceValues")
        if lower is not None:
            _el(source, "from", str(lower))
        if upper is not None:
            _el(source, "to", str(upper))
        _el(values, "value", label)
        lower = upper


def report_xml(spec: ReportSpec) -> ET.Element:
    """A report over a custom report type (``<reportType>`` names it with ``__c``)."""
    root = _root("Report")
    for bucket in spec.buckets:
        _bucket_xml(root, bucket)
    for column in spec.columns:
        col = _el(root, "columns")
        if column.aggregate is not None:
            _el(col, "aggregateTypes", column.aggregate.value)
        _el(col, "field", column.field)
    _el(root, "description", spec.description)
    if spec.filters:
        flt = _el(root, "filter")
        if spec.boolean_filter:
            _el(flt, "booleanFilter", spec.boolean_filter)
        for item in spec.filters:
            criteria = _el(flt, "criteriaItems")
            _el(criteria, "column", item.column)
            _el(criteria, "isUnlocked", "true")
            _el(criteria, "operator", item.operator)
            _el(criteria, "value", item.value)
    _el(root, "format", spec.format.value)
    for tag, fields in (("groupingsDown", spec.down), ("groupingsAcross", spec.across)):
        for field in fields:
            grouping = _el(root, tag)
            _el(grouping, "dateGranularity", "Day")
            _el(grouping, "field", field)
            _el(grouping, "sortOrder", "Asc")
    _el(root, "name", spec.label)
    _el(root, "reportType", f"{spec.report_type}__c")
    if spec.row_limit is not None:
        _el(root, "rowLimit", str(spec.row_limit))
    _el(root, "scope", "organization")
    _el(root, "showDetails", "false" if spec.format is ReportFormat.MATRIX else "true")
    _el(root, "showGrandTotal", "true")
    _el(root, "showSubTotals", "true")
    if spec.sort_column is not None:
        _el(root, "sortColumn", spec.sort_column)
        _el(root, "sortOrder", "Asc")
    return root


def dashboard_xml(spec: DashboardSpec) -> ET.Element:
    """A Lightning dashboard, seen as each viewer (no running user to name)."""
    root = _root("Dashboard")
    _el(root, "backgroundEndColor", "#FFFFFF")
    _el(root, "backgroundFadeDirection", "Diagonal")
    _el(root, "backgroundStartColor", "#FFFFFF")
    _el(root, "chartTheme", "light")
    _el(root, "colorPalette", "unity")
    _el(root, "dashboardType", "LoggedInUser")
    _el(root, "description", spec.description)
    grid = _el(root, "dashboardGridLayout")
    width = _GRID_COLUMNS // 2
    for index, component in enumerate(spec.components):
        cell = _el(grid, "dashboardGridComponents")
        _el(cell, "colSpan", str(width))
        _el(cell, "columnIndex", str(width * (index % 2)))
        _el(cell, "rowIndex", str(_COMPONENT_ROWS * (index // 2)))
        _el(cell, "rowSpan", str(_COMPONENT_ROWS))
        body = _el(cell, "dashboardComponent")
        _el(body, "autoselectColumnsFromReport", "false")
        _el(body, "chartAxisRange", "Auto")
        summary = _el(body, "chartSummary")
        if component.summary is not None:
            _el(summary, "aggregate", str(component.summary.aggregate or Aggregate.SUM))
        _el(summary, "axisBinding", "y")
        _el(summary, "column", ROW_COUNT if component.summary is None
            else component.summary.field)
        _el(body, "componentType", component.component_type)
        _el(body, "displayUnits", "Auto")
        for grouping in component.groupings:
            _el(body, "groupingColumn", grouping)
        _el(body, "header", component.title)
        _el(body, "legendPosition", "Bottom")
        _el(body, "report", f"{REPORT_FOLDER}/{component.report}")
        _el(body, "showValues", "false")
        _el(body, "title", component.title)
    _el(grid, "numberOfColumns", str(_GRID_COLUMNS))
    _el(grid, "rowHeight", "36")
    _el(root, "isGridLayout", "true")
    _el(root, "textColor", "#000000")
    _el(root, "title", spec.title)
    _el(root, "titleColor", "#000000")
    _el(root, "titleSize", "12")
    return root


def _folder_xml(tag: str, label: str) -> ET.Element:
    root = _root(tag)
    _el(root, "name", label)
    share = _el(root, "folderShares")  # readable by everyone inside the company
    _el(share, "accessLevel", "View")
    _el(share, "sharedTo", "AllInternalUsers")
    _el(share, "sharedToType", "Organization")
    return root


def package_xml(project: SfdxProject) -> ET.Element:
    """The manifest: every component, by type, sorted."""
    members: dict[str, list[str]] = {
        "CustomField": [f"{s.object}.{s.name}" for s in project.fields],
        "CustomObject": [o.name for o in project.objects],
        "PermissionSet": [PERMISSION_SET],
        "ReportType": [t.name for t in project.report_types],
        "Report": [REPORT_FOLDER, *(r.full_name for r in project.reports)]
        if project.reports else [],
        "Dashboard": [DASHBOARD_FOLDER, project.dashboard.full_name]
        if project.dashboard else [],
    }
    package = _root("Package")
    for kind in sorted(members):
        if not members[kind]:
            continue
        types = _el(package, "types")
        for member in sorted(members[kind]):
            _el(types, "members", member)
        _el(types, "name", kind)
    _el(package, "version", API_VERSION)
    return package


def write_project(project: SfdxProject, out: Path) -> list[Path]:
    """Write ``project`` as an SFDX project under ``out``; the paths written, in order."""
    base = out / PACKAGE_DIR
    objects = base / "objects"
    written = [_write(field_xml(s), objects / s.object / "fields" / f"{s.name}.field-meta.xml")
               for s in project.fields]
    written += [_write(object_xml(o), objects / o.name / f"{o.name}.object-meta.xml")
                for o in project.objects]
    written.append(_write(permission_set_xml(project), base / "permissionsets" /
                          f"{PERMISSION_SET}.permissionset-meta.xml"))
    written += [_write(report_type_xml(t), base / "reportTypes" / f"{t.name}.reportType-meta.xml")
                for t in project.report_types]
    if project.reports:
        reports = base / "reports"
        written.append(_write(_folder_xml("ReportFolder", "sfrenew Renewals"),
                              reports / f"{REPORT_FOLDER}.reportFolder-meta.xml"))
        written += [_write(report_xml(r), reports / REPORT_FOLDER / f"{r.name}.report-meta.xml")
                    for r in project.reports]
    if project.dashboard is not None:
        dashboards = base / "dashboards"
        written.append(_write(_folder_xml("DashboardFolder", "sfrenew Dashboards"),
                              dashboards / f"{DASHBOARD_FOLDER}.dashboardFolder-meta.xml"))
        written.append(_write(dashboard_xml(project.dashboard), dashboards / DASHBOARD_FOLDER
                              / f"{project.dashboard.name}.dashboard-meta.xml"))
    written.append(_write(package_xml(project), out / "manifest" / "package.xml"))
    sfdx = out / "sfdx-project.json"
    sfdx.write_text('{\n  "packageDirectories": [{"path": "force-app", "default": true}],\n'
                    '  "name": "sfrenew",\n  "namespace": "",\n'
                    f'  "sourceApiVersion": "{API_VERSION}"\n}}\n', encoding="utf-8")
    written.append(sfdx)
    return written
