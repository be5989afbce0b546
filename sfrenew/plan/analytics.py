"""Planning the analytics rows: metric rows, this week's forecast snapshot, outcomes.

The shell side of ``sfrenew/core/analytics/_rows.py``: the mirror's renewals become
facts (:mod:`sfrenew.report.facts`), the core turns them into rows, and the rows are
diffed against sfrenew's rows in the mirror like every other write, so the apply step
upserts them by key, the ledger records them and a rollback deletes them. The plan:

* **metric rows** of every period from the retention cutoff on, in the reporting
  currency (all dimensions) and in each original currency (the whole book only). A row
  whose figures did not change is left as it is (``computed_on`` moves only with them).
* **the week's forecast snapshot**, dated the week's Monday, written once: if the org
  already holds this week's snapshot it is left alone, so a rerun writes nothing and
  the snapshot stays what the forecast was when it was taken.
* **settlement** of stored snapshots whose period is over: their actual and accuracy,
  computed from the snapshot rows as stored (read back from the mirror).
* **outcomes** on sfrenew's renewal opportunities: open, lapsed, renewed, churned, and
  for a closed one its expansion and contraction ARR.
* **deletes** of sfrenew's own rows (keys the ledger knows) older than the retention,
  and of metric rows no longer computed (e.g. an owner who no longer has renewals).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sfrenew.core.analytics import (
    WHOLE_BOOK,
    ConversionRates,
    Grain,
    MetricRow,
    Outcome,
    RenewalFact,
    SnapshotRecord,
    convert_facts,
    metric_cutoff,
    metric_rows,
    outcome_of,
    period_of,
    settle,
    snapshot_cutoff,
    snapshot_records,
    week_start,
    won_by_period,
)
from sfrenew.core.changeset import (
    ChangeKind,
    CurrentRecord,
    DesiredRecord,
    OwnershipLookup,
    RecordChange,
    diff_records,
    same_value,
)
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.coerce import FieldShapes
from sfrenew.mapping.translate import write_fields
from sfrenew.plan.model import AccountPlan
from sfrenew.plan.records import current_record
from sfrenew.report.facts import read_currencies, read_facts, read_snapshots
from sfrenew.store.port import StorePort

ANALYTICS_ACCOUNT = "analytics"  # the plan file's line for the analytics rows
DEFAULT_CURRENCY = "USD"


class OutcomeLabel(StrEnum):
    """The renewal outcomes written on the opportunity (``outcome`` field)."""

    OPEN = "open"
    LAPSED = "lapsed"
    RENEWED = "renewed"
    CHURNED = "churned"


@dataclass(frozen=True)
class AnalyticsOptions:
    """What the analytics write: reporting currency (None: the org's corporate), grain,
    retention, per-currency rows, the risk levels counted at risk, the on-time grace."""

    currency: str | None = None
    grain: Grain = Grain.MONTH
    metric_months: int = 24
    snapshot_weeks: int = 104
    per_currency: bool = True
    risk_levels: tuple[str, ...] = ("High",)
    grace_days: int = 14
    decimals: Mapping[str, int] = field(default_factory=dict)


def outcome_label(fact: RenewalFact, today: date) -> OutcomeLabel:
    """open, lapsed (open after the contract end), renewed or churned."""
    if fact.outcome is Outcome.WON:
        return OutcomeLabel.RENEWED
    if fact.outcome is Outcome.LOST:
        return OutcomeLabel.CHURNED
    return OutcomeLabel.LAPSED if today > fact.due else OutcomeLabel.OPEN


def _mirrored(store: StorePort, mapping: MappingFile, concept: Concept
              ) -> dict[str, CurrentRecord]:
    """sfrenew's keyed rows of ``concept`` in the mirror, by key (empty when unmapped)."""
    section = mapping.concept(concept)
    if section is None or section.key_field is None:
        return {}
    key_field = section.key_field.lower()
    out: dict[str, CurrentRecord] = {}
    for record in store.iter_object(section.object):
        names = {f.lower(): f for f in record.data}
        key = record.data.get(names.get(key_field, key_field))
        if key:
            out[str(key)] = current_record(concept, mapping, record, str(key))
    return out


@dataclass
class AnalyticsPlan:
    """The changes planned and the problems met (renewals left out, a missing rate)."""

    changes: list[RecordChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_account(self) -> AccountPlan:
        """The plan file's line for these changes."""
        return AccountPlan(
            account_id=ANALYTICS_ACCOUNT, account_name="Renewal analytics", renewals=(),
            changes=tuple(self.changes),
            problems=tuple({"object": "analytics", "record_id": "", "field": "",
                            "message": p} for p in self.problems))


class AnalyticsPlanner:
    """Plans the analytics rows of the mirror as of ``today``."""

    def __init__(self, *, store: StorePort, mapping: MappingFile, options: AnalyticsOptions,
                 today: date, shapes: FieldShapes, ownership: OwnershipLookup) -> None:
        self.store, self.mapping, self.options, self.today = store, mapping, options, today
        self.shapes, self.ownership = shapes, ownership
        self._rows: dict[Concept, dict[str, CurrentRecord]] = {}

    def _current(self, concept: Concept) -> dict[str, CurrentRecord]:
        """sfrenew's rows of ``concept`` in the mirror, by key (read once)."""
        if concept not in self._rows:
            self._rows[concept] = _mirrored(self.store, self.mapping, concept)
        return self._rows[concept]

    def plan_line(self) -> AccountPlan:
        """The plan file's line of the analytics changes."""
        return self.plan().as_account()

    def plan(self) -> AnalyticsPlan:
        """Every analytics change (see the module docstring)."""
        out = AnalyticsPlan()
        org = read_currencies(self.store, self.mapping)
        read = read_facts(self.store, self.mapping,
                          default_currency=org.corporate or DEFAULT_CURRENCY,
                          decimals=self.options.decimals)
        out.problems.extend(read.problems)
        target = (self.options.currency or org.corporate or DEFAULT_CURRENCY).upper()
        table = dict(org.rates)
        if target not in table:
            if table:
                out.problems.append(
                    f"no conversion rate for the reporting currency {target} (the org has "
                    f"{', '.join(sorted(table))}): no metric or snapshot rows written; set "
                    f"analytics.currency to one of them")
                out.changes = self._outcomes(read.facts)
                return out
            table[target] = Decimal(1)  # a single-currency org: nothing to convert
        rates = ConversionRates(rates=table, dated=org.dated,
                                decimals={**self.options.decimals, **org.decimals})
        converted, problems = convert_facts(read.facts, rates=rates, currency=target)
        out.problems.extend(problems)
        desired, deletes = self._metrics(read.facts, converted, target)
        snap_desired, snap_deletes = self._snapshots(converted, target)
        desired += snap_desired
        deletes += snap_deletes
        out.changes = self._diff(desired) + deletes + self._outcomes(read.facts)
        return out

    # --- metric rows -----------------------------------------------------------------

    def _metric_desired(self, row: MetricRow, current: CurrentRecord | None) -> DesiredRecord:
        section = self.mapping.renewal_metric
        assert section is not None  # _metrics checked
        values: dict[str, Any] = {
            "metric": row.metric.value, "period": row.period,
            "period_start": row.period_start, "dimension": row.dimension,
            "dimension_value": row.dimension_value, "currency": row.currency,
            "value": row.value, "numerator": row.numerator, "denominator": row.denominator}
        fields = write_fields(self.mapping, Concept.RENEWAL_METRIC,
                              {n: v for n, v in values.items() if n in section.fields},
                              shapes=self.shapes)
        unchanged = current is not None and all(
            same_value(v, current.fields.get(k)) for k, v in fields.items())
        if not unchanged and "computed_on" in section.fields:
            fields |= write_fields(self.mapping, Concept.RENEWAL_METRIC,
                                   {"computed_on": self.today}, shapes=self.shapes)
        return DesiredRecord(object=section.object, key=row.key, fields=fields)

    def _metrics(self, facts: Sequence[RenewalFact], converted: Sequence[RenewalFact],
                 target: str) -> tuple[list[DesiredRecord], list[RecordChange]]:
        section = self.mapping.renewal_metric
        if section is None:
            return [], []
        o = self.options
        since = metric_cutoff(self.today, o.metric_months)
        rows = metric_rows(converted, currency=target, today=self.today, grain=o.grain,
                           grace_days=o.grace_days, since=since)
        if o.per_currency:
            for currency in sorted({f.currency for f in facts} - {target}):
                rows += metric_rows([f for f in facts if f.currency == currency],
                                    currency=currency, today=self.today, grain=o.grain,
                                    grace_days=o.grace_days, since=since,
                                    dimensions=WHOLE_BOOK)
        current = self._current(Concept.RENEWAL_METRIC)
        desired = [self._metric_desired(r, current.get(r.key)) for r in rows]
        wanted = {d.key for d in desired}
        gone = {k: r for k, r in current.items() if k not in wanted}
        deletes = self._deletes(section.object, gone, "metric row no longer computed "
                                "(period before the retention cutoff, or no renewals left)")
        return desired, deletes

    # --- forecast snapshots ----------------------------------------------------------

    def _snapshot_desired(self, row: SnapshotRecord) -> DesiredRecord:
        section = self.mapping.forecast_snapshot
        assert section is not None
        values: dict[str, Any] = {
            "snapshot_date": row.snapshot_date, "period": row.period,
            "period_start": row.period_start, "category": row.category, "amount": row.amount,
            "renewal_count": row.renewals, "currency": row.currency,
            "weeks_out": row.weeks_out}
        return DesiredRecord(object=section.object, key=row.key, fields=write_fields(
            self.mapping, Concept.FORECAST_SNAPSHOT,
            {n: v for n, v in values.items() if n in section.fields}, shapes=self.shapes))

    def _snapshots(self, converted: Sequence[RenewalFact], target: str
                   ) -> tuple[list[DesiredRecord], list[RecordChange]]:
        section = self.mapping.forecast_snapshot
        if section is None:
            return [], []
        o = self.options
        monday = week_start(self.today)
        stored = read_snapshots(self.store, self.mapping, self.shapes)
        desired: list[DesiredRecord] = []
        taken = any(r.snapshot_date == monday and r.currency == target
                    for r in stored.values())
        if not taken:  # the week's snapshot is taken once
            desired += [self._snapshot_desired(r) for r in snapshot_records(
                converted, currency=target, snapshot_date=monday, grain=o.grain,
                levels=o.risk_levels)]
        cutoff = snapshot_cutoff(monday, o.snapshot_weeks)
        kept = {k: r for k, r in stored.items() if r.snapshot_date >= cutoff}
        # Every stored period that is over has an actual: its won ARR, 0 when none won.
        current_period = period_of(self.today, o.grain)
        won = won_by_period(converted, grain=o.grain)
        quarterly = o.grain is Grain.QUARTER
        actuals = {r.period: won.get(r.period, Decimal(0)) for r in kept.values()
                   if r.period < current_period and ("Q" in r.period) == quarterly}
        filled = {"actual_amount", "accuracy"} & set(section.fields)
        for s in settle(kept, actuals, currency=target) if filled else ():
            values = {"actual_amount": s.actual, "accuracy": s.accuracy}
            desired.append(DesiredRecord(object=section.object, key=s.key, fields=write_fields(
                self.mapping, Concept.FORECAST_SNAPSHOT,
                {n: v for n, v in values.items() if n in filled}, shapes=self.shapes)))
        expired = {k: r for k, r in self._current(Concept.FORECAST_SNAPSHOT).items()
                   if k in stored and stored[k].snapshot_date < cutoff}
        return desired, self._deletes(section.object, expired,
                                      f"snapshot taken before {cutoff.isoformat()} "
                                      f"(retention: {o.snapshot_weeks} weeks)")

    # --- outcomes on the renewals ----------------------------------------------------

    def _outcomes(self, facts: Iterable[RenewalFact]) -> list[RecordChange]:
        section = self.mapping.renewal_opportunity
        names = {"outcome", "expansion_arr", "contraction_arr"} & set(section.fields)
        if not names or section.key_field is None:
            return []
        by_id = {f.renewal_id: f for f in facts}
        mirrored = self.store.get_mirror(section.object, sorted(by_id))
        key_field = section.key_field.lower()
        desired: list[DesiredRecord] = []
        current: dict[tuple[str, str], CurrentRecord] = {}
        for sf_id, record in mirrored.items():
            data = {k.lower(): v for k, v in record.data.items()}
            key = data.get(key_field)
            if not key:
                continue  # a person's renewal: not sfrenew's to write on
            fact = by_id[sf_id]
            values: dict[str, Any] = {"outcome": outcome_label(fact, self.today).value}
            moved = outcome_of(fact, grain=self.options.grain)
            if moved is not None:
                values |= {"expansion_arr": moved.expansion,
                           "contraction_arr": moved.contraction}
            desired.append(DesiredRecord(
                object=section.object, key=str(key), fields=write_fields(
                    self.mapping, Concept.RENEWAL_OPPORTUNITY,
                    {n: v for n, v in values.items() if n in names}, shapes=self.shapes)))
            current[(section.object, str(key))] = current_record(
                Concept.RENEWAL_OPPORTUNITY, self.mapping, record, str(key))
        return [c for c in diff_records(desired=desired, current=current, last_written={},
                                        ownership=self.ownership)
                if c.kind is not ChangeKind.LEAVE]

    # --- the diff and deletes --------------------------------------------------------

    def _diff(self, desired: list[DesiredRecord]) -> list[RecordChange]:
        current: dict[tuple[str, str], CurrentRecord] = {}
        for concept in (Concept.RENEWAL_METRIC, Concept.FORECAST_SNAPSHOT):
            current |= {(r.object, k): r for k, r in self._current(concept).items()}
        wanted = {(d.object, d.key) for d in desired}
        mine = {k: v for k, v in current.items() if k in wanted}
        return [c for c in diff_records(desired=desired, current=mine, last_written={},
                                        ownership=self.ownership)
                if c.kind is not ChangeKind.LEAVE]

    def _deletes(self, sobject: str, rows: Mapping[str, CurrentRecord], reason: str
                 ) -> list[RecordChange]:
        """Deletes of ``rows`` that sfrenew wrote (the ledger knows their key)."""
        if not rows:
            return []
        ours = self.store.find_by_keys(sobject, sorted(rows))
        return [RecordChange(kind=ChangeKind.DELETE, object=sobject, key=k, reason=reason,
                             sf_id=rows[k].sf_id, expected_modstamp=rows[k].system_modstamp)
                for k in sorted(ours)]
