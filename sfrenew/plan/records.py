"""One account's mirrored records as the rules engine's domain values.

The mirror is keyed by sObject; concepts sharing an sObject are told apart by the
sfrenew key (a record with a key is one sfrenew wrote). Values that do not fit their
mapped type are reported per record Id and field and read as empty, so the planner
skips the record with a reason instead of the run failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sfrenew.core.changeset import CurrentRecord
from sfrenew.core.domain import (
    Account,
    Contract,
    ExistingRenewal,
    ExistingTask,
    RiskSignals,
)
from sfrenew.mapping import ACCOUNT_USER_FIELDS, Concept, MappingFile
from sfrenew.mapping.coerce import FieldShapes
from sfrenew.mapping.domain import (
    RecordProblem,
    account_from,
    contract_from,
    renewal_pricing_of,
)
from sfrenew.mapping.translate import (
    CoercionProblem,
    ConceptRecord,
    lines_by_contract,
    read_record,
    written_fields,
)
from sfrenew.plan.price_books import ContractPriceBooks
from sfrenew.store.values import MirrorGroup, MirrorRecord

HIGH_SEVERITIES = frozenset({"high", "critical", "urgent", "1", "sev1", "sev 1", "p1"})


@dataclass
class AccountRecords:
    """Everything the planner and the diff need about one account."""

    account: Account | None
    contracts: list[Contract] = field(default_factory=list)
    signals: RiskSignals = field(default_factory=RiskSignals)
    existing_renewals: list[ExistingRenewal] = field(default_factory=list)
    existing_tasks: dict[str, ExistingTask] = field(default_factory=dict)
    current: dict[tuple[str, str], CurrentRecord] = field(default_factory=dict)
    problems: list[CoercionProblem] = field(default_factory=list)
    record_problems: list[RecordProblem] = field(default_factory=list)
    owner_id: str | None = None
    # The account's user lookups (owner, renewal_rep, ...) and each contract's owner,
    # for the owner rules (sfrenew.core.rules.owners).
    account_users: dict[str, str | None] = field(default_factory=dict)
    contract_owners: dict[str, str | None] = field(default_factory=dict)
    # Each contract's price book and renewal price book, for list pricing (price_books).
    contract_price_books: dict[str, ContractPriceBooks] = field(default_factory=dict)
    line_records: dict[str, ConceptRecord] = field(default_factory=dict)  # by line Id
    # The contracts as the org holds them (their renewal-opportunity link), by Id: the
    # diff's current record when sfrenew links a contract to its renewal.
    contract_current: dict[str, CurrentRecord] = field(default_factory=dict)
    # Opportunities people made, as the org holds them, by Id: the diff's current record
    # when sfrenew writes its own fields on one it adopted (rules.adoption).
    person_current: dict[str, CurrentRecord] = field(default_factory=dict)

    def by_id_current(self, obj: str, mapping: MappingFile) -> dict[str, CurrentRecord]:
        """The records of ``obj`` sfrenew did not create but may write, by Id."""
        if obj == mapping.contract.object:
            return self.contract_current
        if obj == mapping.renewal_opportunity.object:
            return self.person_current
        return {}


def _read(mapping: MappingFile, concept: Concept, records: Sequence[MirrorRecord],
          problems: list[CoercionProblem], shapes: FieldShapes | None = None,
          ) -> list[ConceptRecord]:
    out = []
    for record in records:
        converted, found = read_record(mapping, concept, record.data, shapes)
        out.append(converted)
        problems.extend(found)
    return out


def _has_key(record: MirrorRecord, key_field: str | None) -> bool:
    return bool(key_field and record.data.get(key_field))


def _split(group: MirrorGroup, obj: str, key_field: str | None
           ) -> tuple[list[MirrorRecord], list[MirrorRecord]]:
    keyed: list[MirrorRecord] = []
    plain: list[MirrorRecord] = []
    for record in group.of(obj):
        (keyed if _has_key(record, key_field) else plain).append(record)
    return keyed, plain


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _signals(mapping: MappingFile, group: MirrorGroup, account: ConceptRecord,
             activities: Sequence[MirrorRecord], problems: list[CoercionProblem]) -> RiskSignals:
    values = account.values
    overdue = values.get("payment_days_overdue")
    if overdue is None and values.get("payment_overdue"):
        overdue = 9_999  # overdue, but the org does not say for how long: treat as long
    cases = 0
    if mapping.cases is not None:
        for case in _read(mapping, Concept.CASES, group.of(mapping.cases.object), problems):
            severity = str(case.values.get("severity") or "").strip().lower()
            if not case.values.get("is_closed") and severity in HIGH_SEVERITIES:
                cases += 1
    last: date | None = None
    if mapping.activities is not None:
        for act in _read(mapping, Concept.ACTIVITIES, activities, problems):
            when = _as_date(act.values.get("date"))
            if act.values.get("is_closed") and when is not None and (last is None or when > last):
                last = when
    champion_gone = False
    if mapping.contacts is not None:
        for contact in _read(mapping, Concept.CONTACTS, group.of(mapping.contacts.object),
                             problems):
            champion_gone |= bool(contact.values.get("champion") and contact.values.get("left"))
    usage: Decimal | None = None
    if mapping.usage is not None:
        points = sorted((p.values["period"], p.values["value"]) for p in _read(
            mapping, Concept.USAGE, group.of(mapping.usage.object), problems)
            if p.values.get("period") is not None and p.values.get("value") is not None)
        if len(points) >= 2 and points[0][1]:
            # A fraction, like every rate: 80 → 60 active users is −0.25.
            usage = (Decimal(points[-1][1]) - Decimal(points[0][1])) / Decimal(points[0][1])
    health = values.get("health_score")
    return RiskSignals(health_score=None if health is None else Decimal(health),
                       open_high_severity_cases=cases, last_completed_activity=last,
                       usage_change=usage, champion_gone=champion_gone,
                       payment_days_overdue=None if overdue is None else int(overdue))


def current_record(concept: Concept, mapping: MappingFile, record: MirrorRecord, key: str
                   ) -> CurrentRecord:
    """A mirrored record sfrenew writes, as the diff compares it (its written fields)."""
    names = {f.lower(): f for f in record.data}
    fields = {sf: record.data.get(names.get(sf.lower(), sf))
              for sf in written_fields(mapping, concept).values()}
    return CurrentRecord(object=record.object, key=key, sf_id=record.sf_id, fields=fields,
                         system_modstamp=record.system_modstamp)


def _renewed_contracts(renewed: Any, group: Any) -> tuple[str, ...]:
    """The contracts an existing renewal renews: its renewed-contract link and, on one
    sfrenew made, every contract of its co-term group (``coterm_group``: Ids joined by
    ", "), so each member stays with the renewal whatever window a later run plans."""
    ids = [str(renewed)] if renewed else []
    if isinstance(group, str):
        ids += [part.strip() for part in group.split(",") if part.strip()]
    return tuple(dict.fromkeys(ids))


def account_records(mapping: MappingFile, group: MirrorGroup,
                    shapes: FieldShapes | None = None) -> AccountRecords:
    """The account's domain values, signals, existing renewals/tasks and current records.

    ``shapes`` are the org's field types (describes): they decide how rates are read
    (see ``sfrenew.mapping.coerce.rate_factor``).
    """
    problems: list[CoercionProblem] = []
    accounts = _read(mapping, Concept.ACCOUNT, group.of(mapping.account.object), problems)
    if not accounts:  # the account was deleted (or never mirrored): its contracts say so
        orphans = AccountRecords(account=None, problems=problems)
        for read in _read(mapping, Concept.CONTRACT, group.of(mapping.contract.object),
                          problems, shapes):
            orphans.contracts.append(contract_from(read, [], default_currency="")[0])
        return orphans
    acct = accounts[0]
    account = account_from(acct)
    unreadable = renewal_pricing_of(acct)[1]
    if unreadable is not None:  # reported with the record Id and field; policy pricing
        problems.append(CoercionProblem(
            mapping.account.object, acct.sf_id,
            mapping.account.fields["renewal_pricing_method"].field, "renewal_pricing_method",
            unreadable))
    out = AccountRecords(account=replace(account, name=account.name or account.id),
                         problems=problems, owner_id=acct.values.get("owner"))
    out.account_users = {name: (str(value) if value else None)
                         for name, value in acct.values.items() if name in ACCOUNT_USER_FIELDS}
    out.current[(mapping.account.object, str(acct.sf_id))] = current_record(
        Concept.ACCOUNT, mapping, group.of(mapping.account.object)[0], str(acct.sf_id))

    opp_obj, opp_key = mapping.renewal_opportunity.object, mapping.renewal_opportunity.key_field
    line_obj, line_key = mapping.renewal_line.object, mapping.renewal_line.key_field
    task_obj, task_key = mapping.task.object, mapping.task.key_field
    keyed_lines, plain_lines = _split(group, line_obj, line_key)
    keyed_tasks, plain_tasks = _split(group, task_obj, task_key)

    contracts = _read(mapping, Concept.CONTRACT, group.of(mapping.contract.object), problems,
                      shapes)
    line_source = plain_lines if mapping.contract_line.object == line_obj \
        else list(group.of(mapping.contract_line.object))
    lines = _read(mapping, Concept.CONTRACT_LINE, line_source, problems, shapes)
    out.line_records = {str(line.sf_id): line for line in lines}
    by_contract = lines_by_contract(contracts, lines)
    for read in contracts:
        owner = read.values.get("owner")
        out.contract_owners[str(read.sf_id)] = str(owner) if owner else None
        book, renewal_book = read.values.get("price_book"), read.values.get("renewal_price_book")
        if book or renewal_book:
            out.contract_price_books[str(read.sf_id)] = ContractPriceBooks(
                str(book) if book else None, str(renewal_book) if renewal_book else None)
        contract, line_problems = contract_from(
            read, by_contract.get(str(read.sf_id), []), default_currency="",
            evergreen_type=mapping.values.subscription_type.evergreen)
        out.contracts.append(contract)
        out.record_problems.extend(line_problems)
    out.signals = _signals(mapping, group, acct, plain_tasks if mapping.activities is not None
                           and mapping.activities.object == task_obj
                           else list(group.of(mapping.activities.object))
                           if mapping.activities is not None else [], problems)

    unlinked: list[tuple[MirrorRecord, ConceptRecord]] = []  # people's, naming no contract
    renewal_type = mapping.values.opportunity_type.renewal
    for record in group.of(opp_obj):
        opp, found = read_record(mapping, Concept.RENEWAL_OPPORTUNITY, record.data)
        problems.extend(found)
        renewed = opp.values.get("renewed_contract")
        if not opp.key and not renewed:
            unlinked.append((record, opp))
        if opp.key:
            out.current[(opp_obj, opp.key)] = current_record(Concept.RENEWAL_OPPORTUNITY, mapping,
                                                       record, opp.key)
        elif not opp.values.get("is_closed"):
            out.person_current[record.sf_id] = current_record(
                Concept.RENEWAL_OPPORTUNITY, mapping, record, record.sf_id)
        if opp.key or renewed:
            out.existing_renewals.append(ExistingRenewal(
                opportunity_id=record.sf_id,
                contract_ids=_renewed_contracts(renewed, opp.values.get("coterm_group")
                                                if opp.key else None),
                created_by_sfrenew=bool(opp.key),
                stage=str(opp.values.get("stage") or ""),
                is_closed=bool(opp.values.get("is_closed")), key=opp.key))
    by_id = {r.sf_id: r for r in group.of(opp_obj)}
    for c_read in contracts:  # CPQ: the contract's own renewal opportunity lookup
        opp_id = c_read.values.get("renewal_opportunity")
        known = by_id.get(str(opp_id)) if opp_id else None
        if known is not None and not _has_key(known, opp_key) and not any(
                r.opportunity_id == known.sf_id and str(c_read.sf_id) in r.contract_ids
                for r in out.existing_renewals):
            out.existing_renewals.append(ExistingRenewal(
                opportunity_id=known.sf_id, contract_ids=(str(c_read.sf_id),),
                created_by_sfrenew=False, stage=str(known.data.get("StageName") or ""),
                is_closed=bool(known.data.get("IsClosed"))))
    linked = {r.opportunity_id for r in out.existing_renewals}
    for record, opp in unlinked:  # adoption candidates (rules.adoption decides)
        close = opp.values.get("close_date")
        if record.sf_id not in linked and opp.values.get("type") == renewal_type \
                and not opp.values.get("is_closed") and isinstance(close, date):
            out.existing_renewals.append(ExistingRenewal(
                opportunity_id=record.sf_id, contract_ids=(), created_by_sfrenew=False,
                stage=str(opp.values.get("stage") or ""), close_date=_as_date(close),
                renewal_type=True))
    if written_fields(mapping, Concept.CONTRACT):
        for record in group.of(mapping.contract.object):
            out.contract_current[record.sf_id] = current_record(Concept.CONTRACT, mapping, record,
                                                          record.sf_id)
    for record in keyed_lines:
        key = str(record.data[line_key or ""])
        out.current[(line_obj, key)] = current_record(Concept.RENEWAL_LINE, mapping, record, key)
    for record in keyed_tasks:
        task, found = read_record(mapping, Concept.TASK, record.data)
        problems.extend(found)
        key = str(task.key)
        twin = out.current.get((task_obj, key))
        if twin is not None:  # two tasks, one key: one is a copy (a person's or an import's)
            out.record_problems.append(RecordProblem(
                Concept.TASK, record.sf_id,
                f"duplicate task key {key!r}: task {twin.sf_id} has it too; sfrenew keeps "
                f"{twin.sf_id} and leaves this one alone: delete the copy or clear its "
                f"{task_key}"))
            continue
        out.current[(task_obj, key)] = current_record(Concept.TASK, mapping, record, key)
        due = task.values.get("due_date")
        if isinstance(due, date):
            out.existing_tasks[key] = ExistingTask(key=key, due_date=due,
                                                   is_closed=bool(task.values.get("is_closed")))
    return out


def current_by_key(records: Mapping[tuple[str, str], CurrentRecord], obj: str
                   ) -> dict[str, CurrentRecord]:
    """The current records of one object, by key."""
    return {key: rec for (o, key), rec in records.items() if o == obj}
