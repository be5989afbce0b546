"""The renewal analytics in Salesforce: report types, reports and a dashboard, as values.

Reports name concept fields (``renewal_metric.value``), resolved to the mapped API
names, so a mapping that renames a field still gets working reports. What a concept
the mapping does not map would show is left out (with a note); a mapped analytics
concept without a field a report needs is an error naming both. The definitions of
the figures are in docs/analytics.md; which report shows which is in
docs/salesforce-setup.md.

The renewal pipeline by T-minus bucket is Opportunity-based: a formula field on the
renewal opportunity computes the bucket from the due date (the renewed contract's end
date, else the close date) and today, with the bounds of the core's
:data:`~sfrenew.core.analytics.BUCKET_LIMITS`, so the report is current every day
without a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sfrenew.core.analytics import BUCKET_LIMITS, BUCKETS
from sfrenew.mapping._concepts import Coercion, Concept
from sfrenew.mapping._metadata_model import (
    Aggregate,
    CustomFieldSpec,
    DashboardComponentSpec,
    DashboardSpec,
    NumberBucket,
    ReportColumn,
    ReportFilter,
    ReportFormat,
    ReportSpec,
    ReportTypeSpec,
    SfdxProject,
)
from sfrenew.mapping._model import MappingFile

# The analytics concepts by their mapping section names, and the metric names their
# rows carry (docs/analytics.md).
METRIC = "renewal_metric"
SNAPSHOT = "forecast_snapshot"
OPPORTUNITY = Concept.RENEWAL_OPPORTUNITY.value
RETENTION_METRICS = ("grr", "nrr", "grr_ex_escalators", "nrr_ex_escalators")
T_MINUS_FIELD = "Sfrenew_T_Minus_Bucket__c"
T_MINUS = "t_minus_bucket"  # the formula field's concept-field name (not in a mapping)
WEEKS_OUT_BUCKET = "Sfrenew_Weeks_Out"

_REPORT_TYPES = {  # concept: (report type name, label, category)
    METRIC: ("Sfrenew_Renewal_Metrics", "sfrenew Renewal Metrics", "other"),
    SNAPSHOT: ("Sfrenew_Forecast_Snapshots", "sfrenew Forecast Snapshots", "other"),
    OPPORTUNITY: ("Sfrenew_Renewal_Opportunities", "sfrenew Renewal Opportunities",
                  "opportunities"),
}


class AnalyticsFieldsMissing(ValueError):
    """A mapped analytics concept lacks fields the generated reports need."""

    def __init__(self, missing: Sequence[tuple[str, str, str]]) -> None:
        # (concept, field): the labels of the reports that need it, in report order
        self.needed: dict[tuple[str, str], tuple[str, ...]] = {}
        for concept, name, report in missing:
            reports = self.needed.get((concept, name), ())
            if report not in reports:
                self.needed[(concept, name)] = (*reports, report)
        self.missing = tuple(self.needed)
        super().__init__("\n".join(
            f"{concept}.{name} is not mapped; needed by: {', '.join(reports)}"
            for (concept, name), reports in self.needed.items()))


@dataclass(frozen=True)
class _Field:
    object: str
    api_name: str
    reportable: bool  # not a standard lookup (a report type names those differently)


def _index(mapping: MappingFile, fields: Sequence[CustomFieldSpec]) -> dict[tuple[str, str],
                                                                              _Field]:
    out: dict[tuple[str, str], _Field] = {}
    for section in mapping.mapped():
        for name, mapped in section.fields.items():
            if "." in mapped.field:
                continue
            lookup = section.field_type(name) is Coercion.ID
            out[(section.concept.value, name)] = _Field(
                section.object, mapped.field, not lookup or mapped.field.endswith("__c"))
    for spec in fields:
        if spec.concept and spec.concept_field:
            out.setdefault((spec.concept, spec.concept_field),
                           _Field(spec.object, spec.name, True))
    return out


@dataclass
class _Resolver:
    """Concept fields to report columns, remembering what is missing."""

    index: dict[tuple[str, str], _Field]
    report: str = ""
    missing: list[tuple[str, str, str]] = field(default_factory=list)

    def has(self, concept: str) -> bool:
        return any(c == concept for c, _ in self.index)

    def object(self, concept: str) -> str:
        return next(f.object for (c, _), f in sorted(self.index.items()) if c == concept)

    def col(self, concept: str, name: str) -> str:
        found = self.index.get((concept, name))
        if found is None:
            self.missing.append((concept, name, self.report))
            return f"{concept}${name}"
        return f"{found.object}${found.api_name}"

    def opt(self, concept: str, name: str) -> str | None:
        found = self.index.get((concept, name))
        return None if found is None else f"{found.object}${found.api_name}"


def _due_date(mapping: MappingFile) -> str | None:
    """The formula expression of a renewal's due date (its contract's end date)."""
    opp = mapping.renewal_opportunity.fields
    end = mapping.contract.fields.get("end_date")
    link = opp.get("renewed_contract")
    if link is not None and end is not None and "." not in end.field:
        lookup = link.field
        relation = (lookup[:-3] + "__r" if lookup.endswith("__c")
                    else lookup.removesuffix("Id"))
        return f"{relation}.{end.field}"
    close = opp.get("close_date")
    return close.field if close is not None else None


def t_minus_formula(due: str) -> str:
    """A text formula giving the core's T-minus bucket, numbered so it sorts in order."""
    labels = {name: f"{i} {name}" for i, name in enumerate(BUCKETS)}
    expression = f'"{labels[BUCKETS[-1]]}"'
    for limit, name in reversed(BUCKET_LIMITS):
        expression = f'IF({due} - TODAY() <= {limit}, "{labels[name]}", {expression})'
    return (f'IF(ISBLANK({due}), "", IF({due} < TODAY(), "{labels[BUCKETS[0]]}", '
            f"{expression}))")


def _metric_reports(r: _Resolver) -> list[ReportSpec]:
    def c(name: str) -> str:
        return r.col(METRIC, name)

    rtype = _REPORT_TYPES[METRIC][0]
    r.report = "On-time renewal rate by month"
    overall = ReportFilter(c("dimension"), "equals", "all")
    monthly = ReportFilter(c("period"), "notContain", "Q")  # 2026-03, not 2026-Q1
    on_time = ReportSpec(
        name="Sfrenew_On_Time_Rate_By_Month", label=r.report,
        description="Renewals closed won by the due date plus the grace, over renewals "
                    "due, per month (docs/analytics.md)",
        report_type=rtype, format=ReportFormat.SUMMARY,
        columns=(ReportColumn(c("value"), Aggregate.AVERAGE),
                 ReportColumn(c("numerator"), Aggregate.SUM),
                 ReportColumn(c("denominator"), Aggregate.SUM)),
        filters=(ReportFilter(c("metric"), "equals", "on_time_rate"), overall, monthly),
        down=(c("period"), c("currency")))
    r.report = "GRR and NRR by period"
    retention = ReportSpec(
        name="Sfrenew_GRR_NRR_By_Period", label=r.report,
        description="Gross and net revenue retention per period, as reported and "
                    "excluding price escalators",
        report_type=rtype, format=ReportFormat.MATRIX,
        columns=(ReportColumn(c("value"), Aggregate.AVERAGE),),
        filters=(ReportFilter(c("metric"), "equals", ",".join(RETENTION_METRICS)), overall),
        down=(c("period"), c("currency")), across=(c("metric"),))
    r.report = "Available to renew by month and risk"
    atr = ReportSpec(
        name="Sfrenew_ATR_By_Month", label=r.report,
        description="Annual recurring value of the contracts due per month, by the "
                    "renewal's risk level",
        report_type=rtype, format=ReportFormat.MATRIX,
        columns=(ReportColumn(c("value"), Aggregate.SUM),),
        filters=(ReportFilter(c("metric"), "equals", "atr"),
                 ReportFilter(c("dimension"), "equals", "risk_level"), monthly),
        down=(c("period"), c("currency")), across=(c("dimension_value"),))
    return [on_time, retention, atr]


def _snapshot_reports(r: _Resolver) -> list[ReportSpec]:
    r.report = "Forecast accuracy by weeks out"
    bucket = NumberBucket(
        name=WEEKS_OUT_BUCKET, label="Weeks out", source=r.col(SNAPSHOT, "weeks_out"),
        ranges=((-1, "during the period"), (0, "0 weeks"), (1, "1 week"), (2, "2 weeks"),
                (4, "3-4 weeks"), (8, "5-8 weeks")), rest="9+ weeks")
    return [ReportSpec(
        name="Sfrenew_Forecast_Accuracy", label=r.report,
        description="1 - |forecast - actual| / actual of past periods, by how many weeks "
                    "before the period the snapshot was taken",
        report_type=_REPORT_TYPES[SNAPSHOT][0], format=ReportFormat.SUMMARY,
        columns=(ReportColumn(r.col(SNAPSHOT, "accuracy"), Aggregate.AVERAGE),
                 ReportColumn(r.col(SNAPSHOT, "amount"), Aggregate.SUM),
                 ReportColumn(r.col(SNAPSHOT, "actual_amount"), Aggregate.SUM),
                 ReportColumn(r.col(SNAPSHOT, "period"))),
        filters=(ReportFilter(r.col(SNAPSHOT, "accuracy"), "notEqual", ""),),
        buckets=(bucket,), down=(WEEKS_OUT_BUCKET,))]


def _opportunity_reports(r: _Resolver, mapping: MappingFile) -> list[ReportSpec]:
    def c(name: str) -> str:
        return r.col(OPPORTUNITY, name)

    values = mapping.values
    r.report = "Renewal pipeline by T-minus bucket"
    open_only = [ReportFilter(c("stage"), "notEqual",
                              f"{values.stage.won},{values.stage.lost}")]
    if (kind := r.opt(OPPORTUNITY, "type")) is not None:
        open_only.append(ReportFilter(kind, "equals", values.opportunity_type.renewal))
    rtype = _REPORT_TYPES[OPPORTUNITY][0]
    arr = ReportColumn(c("renewal_arr"), Aggregate.SUM)
    risky = [ReportFilter(c("risk_level"), "equals", values.risk_level.high)]
    if (overdue := r.opt(OPPORTUNITY, "overdue")) is not None:
        risky.append(ReportFilter(overdue, "equals", "1"))
    n = len(open_only)
    either = " OR ".join(str(i) for i in range(n + 1, n + len(risky) + 1))
    details = [c("name"), c("close_date"), c("stage")] + [
        x for x in (r.opt(OPPORTUNITY, "risk_score"), r.opt(OPPORTUNITY, "days_overdue"))
        if x is not None]
    return [
        ReportSpec(
            name="Sfrenew_Pipeline_By_T_Minus", label="Renewal pipeline by T-minus bucket",
            description="Open renewals by days from today to the due date: overdue, T-30, "
                        "T-60, T-90, T-120, later",
            report_type=rtype, format=ReportFormat.SUMMARY,
            columns=(arr, *(ReportColumn(d) for d in details)),
            filters=tuple(open_only), down=(c(T_MINUS),), sort_column=c("close_date")),
        ReportSpec(
            name="Sfrenew_At_Risk_Renewals", label="At-risk renewals",  # same fields
            description="Open renewals at risk level High, or overdue, soonest due first",
            report_type=rtype, format=ReportFormat.SUMMARY,
            columns=(arr, *(ReportColumn(d) for d in details)),
            filters=(*open_only, *risky),
            boolean_filter=(" AND ".join(str(i) for i in range(1, n + 1))
                            + f" AND ({either})") if len(risky) > 1 else None,
            down=(c("risk_level"),), sort_column=c("close_date")),
    ]


def _report_types(r: _Resolver, concepts: Sequence[str]) -> list[ReportTypeSpec]:
    out = []
    for concept in concepts:
        name, label, category = _REPORT_TYPES[concept]
        obj = r.object(concept)
        fields = sorted({f.api_name for (c, _), f in r.index.items()
                         if c == concept and f.object == obj and f.reportable})
        out.append(ReportTypeSpec(
            name=name, label=label, base_object=obj, category=category,
            description=f"sfrenew: {label} for the renewal analytics reports",
            fields=tuple(fields)))
    return out


def _dashboard(reports: Sequence[ReportSpec]) -> DashboardSpec:
    # Each chart plots its report's first column over its first grouping (down, or down
    # and across for a matrix; the two row groupings for a line per currency).
    charts = {
        "Sfrenew_On_Time_Rate_By_Month": "LineGrouped",
        "Sfrenew_GRR_NRR_By_Period": "ColumnGrouped",
        "Sfrenew_ATR_By_Month": "ColumnStacked",
        "Sfrenew_Pipeline_By_T_Minus": "Bar",
        "Sfrenew_At_Risk_Renewals": "Table",
        "Sfrenew_Forecast_Accuracy": "Line",
    }
    components = []
    for report in reports:
        kind = charts[report.name]
        groupings = (report.down[0], report.across[0]) if report.across else report.down[:1]
        if kind == "LineGrouped":
            groupings = report.down[:2]
        components.append(DashboardComponentSpec(
            report=report.name, title=report.label, component_type=kind,
            groupings=groupings, summary=report.columns[0]))
    return DashboardSpec(name="Sfrenew_Renewal_Desk", title="sfrenew renewal desk",
                         description="On-time rate, GRR/NRR, ATR, T-minus pipeline, "
                                     "at-risk renewals and forecast accuracy",
                         components=tuple(components))


def with_analytics(project: SfdxProject, mapping: MappingFile) -> SfdxProject:
    """``project`` with the report types, reports and dashboard its concepts allow.

    Raises :class:`AnalyticsFieldsMissing` (every missing field at once) when a mapped
    analytics concept lacks a field a report needs.
    """
    fields = list(project.fields)
    due = _due_date(mapping)
    if due is not None:
        fields.append(CustomFieldSpec(
            object=mapping.renewal_opportunity.object, name=T_MINUS_FIELD, type="Text",
            label="Sfrenew T Minus Bucket", writable=False, formula=t_minus_formula(due),
            description="sfrenew: the renewal's T-minus bucket today (docs/analytics.md)",
            concept=OPPORTUNITY, concept_field=T_MINUS))
    r = _Resolver(_index(mapping, fields))
    reports: list[ReportSpec] = []
    concepts: list[str] = []
    notes: list[str] = []
    for concept, build in ((METRIC, _metric_reports), (SNAPSHOT, _snapshot_reports),
                           (OPPORTUNITY, lambda res: _opportunity_reports(res, mapping))):
        if not r.has(concept):
            notes.append(f"no report over {concept}: the mapping does not map it")
            continue
        concepts.append(concept)
        reports += build(r)
    if r.missing:
        raise AnalyticsFieldsMissing(r.missing)
    fields.sort(key=lambda s: (s.object, s.name))
    return replace(project, fields=tuple(fields), report_types=tuple(_report_types(r, concepts)),
                   reports=tuple(reports), dashboard=_dashboard(reports) if reports else None,
                   notes=tuple(notes))
