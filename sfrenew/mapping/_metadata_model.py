"""The generated Salesforce metadata as plain values, before any XML is written.

:mod:`sfrenew.mapping.metadata` builds these from a mapping, ``_analytics_reports``
adds the report types, reports and dashboard, ``_metadata_xml`` renders them. Report
and dashboard fields are named as Salesforce names them in a custom report type:
``Object$Field`` (``Sfrenew_Renewal_Metric__c$Value__c``), or a bucket's developer name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

REPORT_FOLDER = "Sfrenew_Renewals"
DASHBOARD_FOLDER = "Sfrenew_Dashboards"
PERMISSION_SET = "Sfrenew_Integration"
ROW_COUNT = "RowCount"  # a chart's measure when it counts records


@dataclass(frozen=True)
class CustomFieldSpec:
    """One custom field to create, in metadata terms."""

    object: str
    name: str
    type: str  # metadata type: Text, LongTextArea, Number, Percent, Checkbox, ...
    label: str
    description: str
    writable: bool
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    external_id: bool = False
    values: tuple[str, ...] = ()
    reference_to: str | None = None
    formula: str | None = None  # a formula field (read only; its type is the result's)
    # The concept field it holds (``renewal_metric``, ``value``), so reports can find it;
    # empty for keys and links, which no report shows.
    concept: str = ""
    concept_field: str = ""


@dataclass(frozen=True)
class CustomObjectSpec:
    """One custom object to create: records named by an auto-number."""

    name: str
    label: str
    plural_label: str
    description: str
    name_format: str  # the auto-number's display format, e.g. SRM-{00000000}
    written: bool  # sfrenew writes its records (else it only reads them)

    @property
    def sharing_model(self) -> str:
        """Read for sfrenew's own objects: everyone reads, only the integration user writes."""
        return "Read" if self.written else "ReadWrite"


class Aggregate(StrEnum):
    """How a report column is summarised."""

    SUM = "Sum"
    AVERAGE = "Average"


@dataclass(frozen=True)
class ReportColumn:
    """A column of a report, summarised in the groupings when ``aggregate`` is set."""

    field: str
    aggregate: Aggregate | None = None


@dataclass(frozen=True)
class ReportFilter:
    """One filter line; ``value`` may list values comma-separated (any of them)."""

    column: str
    operator: str  # equals, notEqual, contains, notContain, ...
    value: str


@dataclass(frozen=True)
class NumberBucket:
    """A bucket field over a number column: ranges ``(upper bound, label)``, then the rest.

    A value goes to the first range whose upper bound it does not exceed; values above
    every bound go to ``rest``.
    """

    name: str
    label: str
    source: str
    ranges: tuple[tuple[int, str], ...]
    rest: str


@dataclass(frozen=True)
class ReportTypeSpec:
    """A custom report type over one object, with the columns reports may use."""

    name: str
    label: str
    description: str
    base_object: str
    category: str  # other, opportunities, ...
    fields: tuple[str, ...]  # API names of the base object's fields

    def column(self, field: str) -> str:
        """How a report names a field of this report type."""
        return f"{self.base_object}${field}"


class ReportFormat(StrEnum):
    """The report formats the generated reports use."""

    TABULAR = "Tabular"
    SUMMARY = "Summary"
    MATRIX = "Matrix"


@dataclass(frozen=True)
class ReportSpec:
    """A report in the sfrenew report folder."""

    name: str
    label: str
    description: str
    report_type: str  # a ReportTypeSpec name
    format: ReportFormat
    columns: tuple[ReportColumn, ...]
    filters: tuple[ReportFilter, ...] = ()
    boolean_filter: str | None = None  # e.g. "1 AND (2 OR 3)"; None: all filters apply
    down: tuple[str, ...] = ()  # row groupings
    across: tuple[str, ...] = ()  # column groupings (matrix)
    buckets: tuple[NumberBucket, ...] = ()
    sort_column: str | None = None
    row_limit: int | None = None

    @property
    def full_name(self) -> str:
        """Folder/Name, as package.xml and dashboards refer to it."""
        return f"{REPORT_FOLDER}/{self.name}"


@dataclass(frozen=True)
class DashboardComponentSpec:
    """A chart or table of one report; ``groupings`` pick its axes (x, then series)."""

    report: str  # a ReportSpec name
    title: str
    component_type: str  # Line, LineGrouped, ColumnGrouped, ColumnStacked, Bar, Table
    groupings: tuple[str, ...]
    summary: ReportColumn | None  # the measure charted (None: the record count)


@dataclass(frozen=True)
class DashboardSpec:
    """A dashboard in the sfrenew dashboard folder, components two per row."""

    name: str
    title: str
    description: str
    components: tuple[DashboardComponentSpec, ...]

    @property
    def full_name(self) -> str:
        """Folder/Name, as package.xml refers to it."""
        return f"{DASHBOARD_FOLDER}/{self.name}"


@dataclass(frozen=True)
class SfdxProject:
    """Everything one ``sfrenew mappings metadata`` writes, as values."""

    fields: tuple[CustomFieldSpec, ...]
    objects: tuple[CustomObjectSpec, ...]
    report_types: tuple[ReportTypeSpec, ...] = ()
    reports: tuple[ReportSpec, ...] = ()
    dashboard: DashboardSpec | None = None
    notes: tuple[str, ...] = ()  # what was left out and why, for the command's output
