"""The mirror's renewal opportunities as analytics facts.

One :class:`RenewalFact` per renewal opportunity sfrenew wrote (it carries the sfrenew
key), and per Renewal-type opportunity that carries the ARR fields (earlier renewals,
e.g. from before sfrenew, with their figures filled in): its money fields (prior ARR,
renewal ARR, uplift amount), its stage (won when it is the mapping's won stage, lost
when otherwise closed), its loss reason, and its due date: the renewed contract's end
date; when that contract is not in the mirror, the day before its earliest line starts,
else its close date; and its currency: the opportunity's mapped currency, else its
renewed contract's, else the currency all the account's contracts share (the presets do
not map the opportunity's currency: sfrenew would then write it), else the default. The
account gives segment, region and owner. A renewal of sfrenew's whose ARR figures are
missing is reported with its Id and left out.

A won renewal's **won ARR** is read from its line items as they closed: Σ quantity ×
annual unit price (``Sfrenew_Annual_Unit_Price__c``); a line a person added, with no
annual price, counts ``UnitPrice × 12 / term months``. So a rep's downsell (fewer
units) shows as contraction and an added product as expansion. Worked example: 12
units at 1,050.00 a year where sfrenew planned 10 (prior 1,000.00): W = 12,600.00,
R = 10,500.00, U = 500.00 → expansion 12,600 − 10,000 − 500 = 2,100.00. With no line
items in the mirror, W is the renewal ARR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sfrenew.core.analytics import DatedRate, Outcome, RenewalFact, SnapshotRecord
from sfrenew.core.money import round_money
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.coerce import FieldShapes
from sfrenew.mapping.translate import read_record
from sfrenew.store.port import StorePort
from sfrenew.store.values import MirrorGroup


@dataclass
class MirrorFacts:
    """The facts read, and one line per renewal left out (record Id and why)."""

    facts: list[RenewalFact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _won_arr(lines: list[Mapping[str, Any]], term: Any, decimals: int) -> Decimal | None:
    """Σ quantity × annual unit price of a renewal's lines (see the module docstring)."""
    if not lines:
        return None
    months = Decimal(term) if isinstance(term, int) and term > 0 else Decimal(12)
    total = Decimal(0)
    for line in lines:
        quantity = _money(line.get("quantity")) or Decimal(0)
        annual = _money(line.get("annual_unit_price"))
        if annual is None:
            annual = (_money(line.get("unit_price")) or Decimal(0)) * 12 / months
        total += quantity * annual
    return round_money(total, decimals)


def _lines_by_opportunity(mapping: MappingFile, group: MirrorGroup
                          ) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for record in group.of(mapping.renewal_line.object):
        line = read_record(mapping, Concept.RENEWAL_LINE, record.data)[0].values
        opp = line.get("opportunity")
        if opp:
            out.setdefault(str(opp), []).append(line)
    return out


def _group_facts(mapping: MappingFile, group: MirrorGroup, default_currency: str,
                 decimals: Mapping[str, int], out: MirrorFacts) -> None:
    account: Mapping[str, Any] = {}
    for record in group.of(mapping.account.object):
        account = read_record(mapping, Concept.ACCOUNT, record.data)[0].values
    ends: dict[str, date] = {}
    currencies: dict[str, str] = {}
    for record in group.of(mapping.contract.object):
        values = read_record(mapping, Concept.CONTRACT, record.data)[0].values
        end = _day(values.get("end_date"))
        if end is not None:
            ends[record.sf_id] = end
        if values.get("currency"):
            currencies[record.sf_id] = str(values["currency"])
    # The account's one currency, when all its contracts share it (else unknown).
    account_currency = next(iter(set(currencies.values()))) \
        if len(set(currencies.values())) == 1 else None
    won_stage = mapping.values.stage.won
    renewal_type = mapping.values.opportunity_type.renewal
    lines = _lines_by_opportunity(mapping, group)
    for record in group.of(mapping.renewal_opportunity.object):
        opp, _problems = read_record(mapping, Concept.RENEWAL_OPPORTUNITY, record.data)
        v = opp.values
        if not opp.key and not (v.get("type") == renewal_type and v.get("prior_arr")
                                is not None and v.get("renewal_arr") is not None):
            continue  # people's opportunities without the ARR figures: nothing to count
        prior, renewal = _money(v.get("prior_arr")), _money(v.get("renewal_arr"))
        close = _day(v.get("close_date"))
        if prior is None or renewal is None or close is None:
            missing = [n for n, x in (("prior_arr", prior), ("renewal_arr", renewal),
                                      ("close_date", close)) if x is None]
            out.problems.append(
                f"renewal {record.sf_id}: {', '.join(missing)} empty; left out of the "
                f"figures (the next sfrenew run writes it)")
            continue
        uplift = _money(v.get("uplift_amount"))
        stage = str(v.get("stage") or "")
        outcome = (Outcome.WON if stage == won_stage
                   else Outcome.LOST if v.get("is_closed") else Outcome.OPEN)
        contract = str(v.get("renewed_contract") or "")
        currency = str(v.get("currency") or currencies.get(contract) or account_currency
                       or default_currency)
        won = None
        if outcome is Outcome.WON:
            won = _won_arr(lines.get(record.sf_id, []), v.get("term_months"),
                           decimals.get(currency, 2))
        starts = [d for line in lines.get(record.sf_id, [])
                  if (d := _day(line.get("start_date"))) is not None]
        due = ends.get(contract) or (min(starts) - timedelta(days=1) if starts else close)
        out.facts.append(RenewalFact(
            renewal_id=record.sf_id, account=str(account.get("name") or group.group_key),
            currency=currency, due=due,
            close_date=close, outcome=outcome, prior_arr=prior, renewal_arr=renewal,
            uplift=renewal - prior if uplift is None else uplift,
            won_arr=(renewal if won is None else won) if outcome is Outcome.WON else None,
            loss_reason=str(v["loss_reason"]) if v.get("loss_reason") else None,
            forecast_category=str(v.get("forecast_category") or "") or None,
            risk_level=str(v.get("risk_level") or "") or None,
            segment=str(account.get("segment") or "") or None,
            region=str(account.get("region") or "") or None,
            owner=str(v.get("owner") or account.get("owner") or "") or None))


def read_facts(store: StorePort, mapping: MappingFile, *, default_currency: str,
               decimals: Mapping[str, int] | None = None) -> MirrorFacts:
    """Every sfrenew renewal in the mirror, account by account (one group in memory)."""
    out = MirrorFacts()
    objects = dict.fromkeys((mapping.account.object, mapping.contract.object,
                             mapping.renewal_opportunity.object,
                             mapping.renewal_line.object))
    for group in store.iter_groups(objects):
        _group_facts(mapping, group, default_currency, decimals or {}, out)
    return out


@dataclass(frozen=True)
class OrgCurrencies:
    """The mirrored ``currency_rate`` records: rates, decimals and the corporate currency;
    and the ``dated_currency_rate`` records (advanced currency management)."""

    rates: dict[str, Decimal]
    decimals: dict[str, int]
    corporate: str | None
    dated: tuple[DatedRate, ...] = ()


# A dated rate with no next start is in force from its start on.
_OPEN_END = date.max


def read_dated_rates(store: StorePort, mapping: MappingFile) -> tuple[DatedRate, ...]:
    """The mirrored dated conversion rates, by currency and start (empty when
    ``dated_currency_rate`` is not mapped or the org has none: plain rates apply)."""
    section = mapping.dated_currency_rate
    if section is None:
        return ()
    out: list[DatedRate] = []
    for record in store.iter_object(section.object):
        v = read_record(mapping, Concept.DATED_CURRENCY_RATE, record.data)[0].values
        code, rate, start = v.get("iso_code"), _money(v.get("rate")), _day(v.get("start_date"))
        if not code or rate is None or rate <= 0 or start is None:
            continue
        out.append(DatedRate(str(code), start, _day(v.get("next_start_date")) or _OPEN_END,
                             rate))
    return tuple(sorted(out, key=lambda r: (r.currency, r.start)))


def read_currencies(store: StorePort, mapping: MappingFile) -> OrgCurrencies:
    """The org's active currencies from the mirror (empty when ``currency_rate`` is not
    mapped, or not pulled yet), with its dated rates."""
    section = mapping.currency_rate
    rates: dict[str, Decimal] = {}
    decimals: dict[str, int] = {}
    corporate = None
    dated = read_dated_rates(store, mapping)
    if section is None:
        return OrgCurrencies(rates, decimals, corporate, dated)
    for record in store.iter_object(section.object):
        v = read_record(mapping, Concept.CURRENCY_RATE, record.data)[0].values
        code, rate = v.get("iso_code"), _money(v.get("rate"))
        if not code or rate is None or rate <= 0 or v.get("active") is False:
            continue
        rates[str(code)] = rate
        if isinstance(v.get("decimals"), int):
            decimals[str(code)] = int(v["decimals"])
        if v.get("corporate"):
            corporate = str(code)
    return OrgCurrencies(rates, decimals, corporate, dated)


def read_snapshots(store: StorePort, mapping: MappingFile, shapes: FieldShapes | None = None
                   ) -> dict[str, SnapshotRecord]:
    """The forecast snapshot rows sfrenew stored (mirrored ``forecast_snapshot``
    records), by key, as they were taken: what forecast accuracy is judged on. Rows
    without a key, a snapshot date or a period are not sfrenew's to read and are skipped;
    empty when the concept is not mapped."""
    section = mapping.forecast_snapshot
    if section is None or section.key_field is None:
        return {}
    key_field = section.key_field.lower()
    out: dict[str, SnapshotRecord] = {}
    for record in store.iter_object(section.object):
        key = next((v for k, v in record.data.items() if k.lower() == key_field), None)
        v = read_record(mapping, Concept.FORECAST_SNAPSHOT, record.data, shapes)[0].values
        taken, period = _day(v.get("snapshot_date")), v.get("period")
        if not key or taken is None or not period:
            continue
        out[str(key)] = SnapshotRecord(
            snapshot_date=taken, period=str(period), category=str(v.get("category") or ""),
            amount=_money(v.get("amount")) or Decimal(0),
            renewals=int(v.get("renewal_count") or 0), currency=str(v.get("currency") or ""))
    return out
