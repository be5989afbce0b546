"""The diff: desired renewal records against what the org holds and what sfrenew wrote.

Pure: the planner's desired records, the org's current records (from the mirror) and
the ledger's last written values come in; a :class:`Changeset` comes out. The rule
that protects people's work lives here: a field whose current value differs from the
last value sfrenew wrote belongs to the person now and is left alone, unless the
mapping marks it ``enforce``; ``create_only`` fields are set once and never updated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class Ownership(StrEnum):
    """Who a written field belongs to once a person edits it."""

    ENFORCE = "enforce"  # always sfrenew's: person edits are overwritten
    REP_AFTER_EDIT = "rep_after_edit"  # sfrenew's until a person changes it
    CREATE_ONLY = "create_only"  # set on create, never updated


class ChangeKind(StrEnum):
    """What the apply step does with one record."""

    CREATE = "create"
    UPDATE = "update"
    CLOSE = "close"
    DELETE = "delete"  # only sfrenew's own rows past their retention (analytics)
    LEAVE = "leave"


@dataclass(frozen=True)
class RecordRef:
    """A lookup to a record sfrenew writes, known by its key until it has an Id."""

    object: str
    key: str


@dataclass(frozen=True)
class DesiredRecord:
    """A record as the rules want it: written fields by API name, lookups as refs."""

    object: str
    key: str
    fields: Mapping[str, Any]
    refs: Mapping[str, RecordRef] = field(default_factory=dict)
    account_id: str | None = None


@dataclass(frozen=True)
class CurrentRecord:
    """A record sfrenew wrote earlier, as the org holds it now (from the mirror)."""

    object: str
    key: str
    sf_id: str
    fields: Mapping[str, Any]
    system_modstamp: str | None = None


@dataclass(frozen=True)
class FieldChange:
    """One field to write: its value in the org now and the value to write."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class KeptEdit:
    """A field a person changed since sfrenew wrote it; left as the person set it."""

    field: str
    person_value: Any
    sfrenew_value: Any


@dataclass(frozen=True)
class RecordChange:
    """What happens to one record, and why."""

    kind: ChangeKind
    object: str
    key: str
    reason: str
    sf_id: str | None = None
    changes: tuple[FieldChange, ...] = ()
    refs: tuple[tuple[str, RecordRef], ...] = ()
    kept_edits: tuple[KeptEdit, ...] = ()
    expected_modstamp: str | None = None  # the org's SystemModstamp when planned: stale check
    account_id: str | None = None

    @property
    def writes(self) -> bool:
        """True when applying this change sends something to Salesforce."""
        return self.kind in (ChangeKind.CREATE, ChangeKind.CLOSE, ChangeKind.DELETE) \
            or bool(self.changes)


@dataclass(frozen=True)
class ClosePolicy:
    """How to close a record sfrenew no longer wants (e.g. an open cadence Task)."""

    values: Mapping[str, Any]  # fields to write, e.g. {"Status": "Completed"}
    is_open: Callable[[Mapping[str, Any]], bool]
    reason: str


OwnershipLookup = Callable[[str, str], Ownership]  # (object, field) -> ownership


def canonical(value: Any) -> Any:
    """A comparable form of a field value, so 1200 == 1200.0 == Decimal('1200.00').

    Salesforce answers numbers as JSON numbers and dates as text; the rules produce
    Decimal and date. Comparing canonical forms keeps a no-change run from writing.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return ("bool", value)  # so True never equals the number 1
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        return number.normalize() if number != 0 else Decimal(0)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return str(value)


def same_value(a: Any, b: Any) -> bool:
    """True when two field values are equal in canonical form ('' counts as empty)."""
    ca, cb = canonical(a), canonical(b)
    if ca in ("", None) and cb in ("", None):
        return True
    return bool(ca == cb)


def ref_placeholder(ref: RecordRef) -> str:
    """What a field change shows for a lookup resolved at apply time (``@Object:key``)."""
    return f"@{ref.object}:{ref.key}"


def _missing(last_written: Mapping[tuple[str, str, str], Any], obj: str, key: str,
             fname: str) -> bool:
    return (obj, key, fname) not in last_written


def _update_reason(desired: DesiredRecord, changes: Sequence[FieldChange],
                   last_written: Mapping[tuple[str, str, str], Any]) -> str:
    """Why an update: fields sfrenew wrote before and now wants otherwise ("rules
    changed"), and fields it writes for the first time (nothing in the ledger: a
    record it adopts or links, a field newly mapped)."""
    first = [c.field for c in changes
             if _missing(last_written, desired.object, desired.key, c.field)]
    changed = [c.field for c in changes if c.field not in first]
    parts = []
    if changed:
        parts.append("rules changed " + ", ".join(changed))
    if first:
        parts.append("first written by sfrenew: " + ", ".join(first))
    return "; ".join(parts)


def _update(desired: DesiredRecord, current: CurrentRecord, *,
            last_written: Mapping[tuple[str, str, str], Any],
            ownership: OwnershipLookup,
            new_refs: Mapping[str, RecordRef]) -> RecordChange:
    changes: list[FieldChange] = []
    kept: list[KeptEdit] = []
    for fname in sorted(desired.fields):
        want = desired.fields[fname]
        have = current.fields.get(fname)
        if same_value(want, have):
            continue
        owner = ownership(desired.object, fname)
        if owner is Ownership.CREATE_ONLY:
            continue
        if owner is Ownership.REP_AFTER_EDIT:
            if _missing(last_written, desired.object, desired.key, fname):
                person_edited = have not in (None, "")
            else:
                person_edited = not same_value(
                    have, last_written[(desired.object, desired.key, fname)])
            if person_edited:
                kept.append(KeptEdit(fname, have, want))
                continue
        changes.append(FieldChange(fname, have, want))
    for fname, ref in sorted(new_refs.items()):
        if fname in desired.fields or ownership(desired.object, fname) is not \
                Ownership.REP_AFTER_EDIT:
            continue
        # A lookup to a record this run creates (a contract's link to its new renewal):
        # its Id is known only when applied. Written while the field is empty or holds
        # sfrenew's own last value; a person's value is kept. (A lookup to a record that
        # exists is a plain field value of the desired record instead.)
        have = current.fields.get(fname)
        last = last_written.get((desired.object, desired.key, fname))
        if have in (None, "") or (last is not None and same_value(have, last)):
            changes.append(FieldChange(fname, have, ref_placeholder(ref)))
        else:
            kept.append(KeptEdit(fname, have, ref_placeholder(ref)))
    refs = tuple(sorted(desired.refs.items()))
    if changes:
        reason = _update_reason(desired, changes, last_written)
        if kept:
            reason += "; kept rep edit on " + ", ".join(k.field for k in kept)
        kind = ChangeKind.UPDATE
    else:
        kind = ChangeKind.LEAVE
        reason = ("kept rep edit on " + ", ".join(k.field for k in kept)) if kept \
            else "up to date"
    return RecordChange(kind=kind, object=desired.object, key=desired.key, reason=reason,
                        sf_id=current.sf_id, changes=tuple(changes), refs=refs,
                        kept_edits=tuple(kept), expected_modstamp=current.system_modstamp,
                        account_id=desired.account_id)


def diff_records(*, desired: Iterable[DesiredRecord],
                 current: Mapping[tuple[str, str], CurrentRecord],
                 last_written: Mapping[tuple[str, str, str], Any],
                 ownership: OwnershipLookup,
                 close_policies: Mapping[str, ClosePolicy] | None = None,
                 leave: Mapping[tuple[str, str], str] | None = None,
                 deleted: Mapping[tuple[str, str], str] | None = None) -> list[RecordChange]:
    """The changes that turn the org's current records into the desired ones.

    ``current`` holds the sfrenew-keyed records of the accounts being planned, keyed by
    ``(object, key)``; ``last_written`` the ledger's last successful value per
    ``(object, key, field)``. A current record with no desired counterpart is closed
    when its object has a close policy and it is still open, else left alone;
    ``leave`` names records to leave alone whatever their close policy, with the
    reason (e.g. the open tasks of a month-to-month contract's earlier renewal).
    ``deleted`` names records sfrenew created that a person deleted since, by
    ``(object, key)`` with their old Id: a desired record among them, or one whose
    lookup points to one of them, is not created again (a person's deletion sticks).
    Output order is deterministic: by object then key.
    """
    out: list[RecordChange] = []
    wanted: set[tuple[str, str]] = set()
    gone = deleted or {}
    for want in desired:
        wanted.add((want.object, want.key))
        have = current.get((want.object, want.key))
        if have is None and gone:
            why = _deleted_reason(want, gone)
            if why is not None:
                out.append(RecordChange(kind=ChangeKind.LEAVE, object=want.object,
                                        key=want.key, reason=why,
                                        sf_id=gone.get((want.object, want.key)),
                                        account_id=want.account_id))
                continue
        if have is None:
            out.append(RecordChange(
                kind=ChangeKind.CREATE, object=want.object, key=want.key,
                reason="new renewal record",
                changes=tuple(FieldChange(f, None, want.fields[f]) for f in sorted(want.fields)),
                refs=tuple(sorted(want.refs.items())), account_id=want.account_id))
        else:
            new_refs = {f: r for f, r in want.refs.items() if (r.object, r.key) not in current}
            out.append(_update(want, have, last_written=last_written, ownership=ownership,
                               new_refs=new_refs))
    policies = close_policies or {}
    kept = leave or {}
    for (obj, key), have in current.items():
        if (obj, key) in wanted:
            continue
        why = kept.get((obj, key))
        if why is not None:
            out.append(RecordChange(kind=ChangeKind.LEAVE, object=obj, key=key, sf_id=have.sf_id,
                                    reason=why))
            continue
        policy = policies.get(obj)
        if policy is None or not policy.is_open(have.fields):
            out.append(RecordChange(kind=ChangeKind.LEAVE, object=obj, key=key, sf_id=have.sf_id,
                                    reason="no longer planned; left as is"))
            continue
        changes = tuple(FieldChange(f, have.fields.get(f), v) for f, v in sorted(
            policy.values.items()) if not same_value(have.fields.get(f), v))
        out.append(RecordChange(kind=ChangeKind.CLOSE, object=obj, key=key, sf_id=have.sf_id,
                                reason=policy.reason, changes=changes,
                                expected_modstamp=have.system_modstamp))
    out.sort(key=lambda c: (c.object, c.key))
    return out


def _deleted_reason(want: DesiredRecord, gone: Mapping[tuple[str, str], str]) -> str | None:
    sf_id = gone.get((want.object, want.key))
    if sf_id is not None:
        return f"deleted by a person (was {sf_id}); not created again"
    for _fname, ref in sorted(want.refs.items()):
        parent = gone.get((ref.object, ref.key))
        if parent is not None:
            return f"its {ref.object} {parent} was deleted by a person; not created again"
    return None


@dataclass(frozen=True)
class ChangesetCounts:
    """How many records of each object each kind of change touches."""

    by_object: Mapping[str, Mapping[ChangeKind, int]]
    kept_edits: int


def count_changes(changes: Iterable[RecordChange]) -> ChangesetCounts:
    """Counts per object and kind, plus the number of kept rep edits."""
    by_object: dict[str, dict[ChangeKind, int]] = {}
    kept = 0
    for change in changes:
        per = by_object.setdefault(change.object, dict.fromkeys(ChangeKind, 0))
        per[change.kind] += 1
        kept += len(change.kept_edits)
    return ChangesetCounts(by_object=by_object, kept_edits=kept)
