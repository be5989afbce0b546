"""The diff: create/update/close/leave and rep-edit protection."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sfrenew.core.changeset import (
    ChangeKind,
    ClosePolicy,
    CurrentRecord,
    DesiredRecord,
    Ownership,
    RecordRef,
    count_changes,
    diff_records,
    same_value,
)

OPP = "Opportunity"


def _owner(overrides: Mapping[str, Ownership] | None = None) -> Any:
    table = dict(overrides or {})
    return lambda _obj, fname: table.get(fname, Ownership.REP_AFTER_EDIT)


def _desired(**fields: Any) -> DesiredRecord:
    return DesiredRecord(OPP, "k1", fields)


def _current(**fields: Any) -> dict[tuple[str, str], CurrentRecord]:
    return {(OPP, "k1"): CurrentRecord(OPP, "k1", "006000000000001AAA", fields, "m1")}


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (Decimal("1200.00"), 1200, True),
        (Decimal("1200.00"), 1200.0, True),
        (Decimal("0.00"), 0, True),
        (date(2025, 1, 31), "2025-01-31", True),
        ("", None, True),
        (True, 1, False),
        (Decimal("10.01"), 10.0, False),
        ("Prospecting", "prospecting", False),
    ],
)
def test_same_value_compares_canonical_forms(a: Any, b: Any, equal: bool) -> None:
    assert same_value(a, b) is equal


def test_missing_record_is_created_with_all_fields_and_refs() -> None:
    want = DesiredRecord("OpportunityLineItem", "k1-l1", {"Quantity": 2},
                         refs={"OpportunityId": RecordRef(OPP, "k1")})
    [change] = diff_records(desired=[want], current={}, last_written={}, ownership=_owner())
    assert change.kind is ChangeKind.CREATE
    assert [(c.field, c.before, c.after) for c in change.changes] == [("Quantity", None, 2)]
    assert change.refs == (("OpportunityId", RecordRef(OPP, "k1")),)


def test_unchanged_record_is_left_and_writes_nothing() -> None:
    [change] = diff_records(desired=[_desired(Amount=Decimal("100.00"), StageName="Prospecting")],
                            current=_current(Amount=100.0, StageName="Prospecting"),
                            last_written={(OPP, "k1", "Amount"): "100.00"}, ownership=_owner())
    assert change.kind is ChangeKind.LEAVE
    assert change.reason == "up to date"
    assert not change.writes


def test_only_changed_fields_are_updated() -> None:
    lw = {(OPP, "k1", "Amount"): 100, (OPP, "k1", "StageName"): "Prospecting"}
    [change] = diff_records(desired=[_desired(Amount=Decimal("110.00"), StageName="Prospecting")],
                            current=_current(Amount=100.0, StageName="Prospecting"),
                            last_written=lw, ownership=_owner())
    assert change.kind is ChangeKind.UPDATE
    assert [(c.field, c.before, c.after) for c in change.changes] == [
        ("Amount", 100.0, Decimal("110.00"))]
    assert change.expected_modstamp == "m1"


@pytest.mark.parametrize(("last_written", "reason"), [
    # sfrenew wrote 100 (and an empty next step) and now wants 110 and "Quote".
    ({(OPP, "k1", "Amount"): 100, (OPP, "k1", "NextStep"): ""},
     "rules changed Amount, NextStep"),
    # Nothing in the ledger for NextStep (empty in the org): sfrenew's first write, which
    # the plan called "rules changed" before.
    ({(OPP, "k1", "Amount"): 100}, "rules changed Amount; first written by sfrenew: NextStep"),
    ({}, "first written by sfrenew: Amount, NextStep"),
])
def test_an_update_says_whether_rules_changed_or_sfrenew_writes_first(
        last_written: dict[tuple[str, str, str], Any], reason: str) -> None:
    [change] = diff_records(desired=[_desired(Amount=Decimal("110.00"), NextStep="Quote")],
                            current=_current(Amount=100.0, NextStep=None),
                            last_written=last_written,
                            ownership=_owner({"Amount": Ownership.ENFORCE}))
    assert change.kind is ChangeKind.UPDATE
    assert change.reason == reason


def test_rep_edit_is_kept_and_reported() -> None:
    lw = {(OPP, "k1", "Amount"): 100}
    [change] = diff_records(desired=[_desired(Amount=Decimal("110.00"))],
                            current=_current(Amount=95.0), last_written=lw, ownership=_owner())
    assert change.kind is ChangeKind.LEAVE
    assert change.reason == "kept rep edit on Amount"
    assert change.kept_edits[0].person_value == 95.0
    assert count_changes([change]).kept_edits == 1


def test_enforced_field_overwrites_rep_edit() -> None:
    lw = {(OPP, "k1", "Amount"): 100}
    [change] = diff_records(desired=[_desired(Amount=Decimal("110.00"))],
                            current=_current(Amount=95.0), last_written=lw,
                            ownership=_owner({"Amount": Ownership.ENFORCE}))
    assert change.kind is ChangeKind.UPDATE
    assert not change.kept_edits


def test_create_only_field_is_never_updated() -> None:
    [change] = diff_records(desired=[_desired(Name="Renewal 2026")], current=_current(Name="X"),
                            last_written={(OPP, "k1", "Name"): "X"},
                            ownership=_owner({"Name": Ownership.CREATE_ONLY}))
    assert change.kind is ChangeKind.LEAVE


def test_field_never_written_by_sfrenew_but_filled_by_person_is_kept() -> None:
    [change] = diff_records(desired=[_desired(Description="ours")],
                            current=_current(Description="the rep's note"), last_written={},
                            ownership=_owner())
    assert change.kind is ChangeKind.LEAVE
    assert change.kept_edits[0].field == "Description"


def test_no_longer_planned_open_task_is_closed_closed_one_left() -> None:
    policy = ClosePolicy(values={"Status": "Completed"},
                         is_open=lambda f: f.get("Status") != "Completed",
                         reason="renewal closed: open sfrenew task closed")
    current = {
        ("Task", "t1"): CurrentRecord("Task", "t1", "00T1", {"Status": "Not Started"}, "m"),
        ("Task", "t2"): CurrentRecord("Task", "t2", "00T2", {"Status": "Completed"}, "m"),
    }
    changes = diff_records(desired=[], current=current, last_written={}, ownership=_owner(),
                           close_policies={"Task": policy})
    assert [(c.key, c.kind) for c in changes] == [
        ("t1", ChangeKind.CLOSE), ("t2", ChangeKind.LEAVE)]
    assert changes[0].changes[0].after == "Completed"


def test_records_to_leave_are_left_with_their_reason_even_when_open() -> None:
    policy = ClosePolicy(values={"Status": "Completed"},
                         is_open=lambda f: f.get("Status") != "Completed",
                         reason="renewal closed: open sfrenew task closed")
    current = {
        ("Task", "t1"): CurrentRecord("Task", "t1", "00T1", {"Status": "Not Started"}, "m"),
        ("Task", "t2"): CurrentRecord("Task", "t2", "00T2", {"Status": "Not Started"}, "m"),
    }
    why = "renewal of a contract sfrenew no longer renews (below_min_term); left as is"
    changes = diff_records(desired=[], current=current, last_written={}, ownership=_owner(),
                           close_policies={"Task": policy}, leave={("Task", "t1"): why})
    assert [(c.key, c.kind, c.reason) for c in changes] == [
        ("t1", ChangeKind.LEAVE, why), ("t2", ChangeKind.CLOSE, policy.reason)]
    assert not changes[0].writes


def test_output_is_deterministic_whatever_the_input_order() -> None:
    wants = [DesiredRecord(OPP, k, {"Amount": 1}) for k in ("b", "a", "c")]
    first = diff_records(desired=wants, current={}, last_written={}, ownership=_owner())
    second = diff_records(desired=list(reversed(wants)), current={}, last_written={},
                          ownership=_owner())
    assert first == second
    assert [c.key for c in first] == ["a", "b", "c"]


# --- a contract's link to its renewal; records people deleted (issue 15 items 3-4) -----

CONTRACT = "Contract"
LINK = "SBQQ__RenewalOpportunity__c"
NEW_OPP = RecordRef(OPP, "renewal-key")


def _link(have: Any, last: Any = None) -> list[Any]:
    desired = DesiredRecord(CONTRACT, "800A", {}, refs={LINK: NEW_OPP})
    current = {(CONTRACT, "800A"): CurrentRecord(CONTRACT, "800A", "800A", {LINK: have})}
    written = {} if last is None else {(CONTRACT, "800A", LINK): last}
    return diff_records(desired=[desired], current=current, last_written=written,
                        ownership=_owner())


@pytest.mark.parametrize(("have", "last", "kind", "kept"), [
    (None, None, ChangeKind.UPDATE, False),  # empty: linked to the renewal this run creates
    ("006OLD", "006OLD", ChangeKind.UPDATE, False),  # sfrenew's own earlier link: replaced
    ("006PERSON", None, ChangeKind.LEAVE, True),  # a person's link, never written by sfrenew
    ("006PERSON", "006OLD", ChangeKind.LEAVE, True),  # a person changed sfrenew's link
])
def test_a_contract_link_to_a_new_renewal_is_written_only_over_empty_or_sfrenews_own(
        have: Any, last: Any, kind: ChangeKind, kept: bool) -> None:
    (change,) = _link(have, last)
    assert change.kind is kind
    assert change.refs == ((LINK, NEW_OPP),)
    if kind is ChangeKind.UPDATE:
        # the Id is known only when applied: the change waits for the opportunity
        assert [(c.field, c.before, c.after) for c in change.changes] == [
            (LINK, have, "@Opportunity:renewal-key")]
    assert bool(change.kept_edits) is kept


def test_a_lookup_set_on_create_is_not_rewritten_on_update() -> None:
    line = DesiredRecord("OpportunityLineItem", "l1", {"Quantity": 10},
                         refs={"OpportunityId": RecordRef(OPP, "k1")})
    current = {("OpportunityLineItem", "l1"): CurrentRecord(
        "OpportunityLineItem", "l1", "00k1", {"Quantity": 10, "OpportunityId": "006A"})}
    (change,) = diff_records(desired=[line], current=current, last_written={},
                             ownership=_owner())
    assert change.kind is ChangeKind.LEAVE
    assert change.changes == ()


def test_records_a_person_deleted_are_not_created_again_nor_their_children() -> None:
    opp = DesiredRecord(OPP, "k1", {"Name": "Renewal"})
    line = DesiredRecord("OpportunityLineItem", "l1", {"Quantity": 10},
                         refs={"OpportunityId": RecordRef(OPP, "k1")})
    other = DesiredRecord("Task", "t1", {"Subject": "Kick-off"},
                          refs={"WhatId": RecordRef(OPP, "k2")})
    changes = diff_records(desired=[opp, line, other], current={}, last_written={},
                           ownership=_owner(), deleted={(OPP, "k1"): "006GONE"})
    by_key = {c.key: c for c in changes}
    assert by_key["k1"].kind is ChangeKind.LEAVE
    assert "deleted by a person" in \
        by_key["k1"].reason
    assert by_key["k1"].sf_id == "006GONE"
    assert by_key["l1"].kind is ChangeKind.LEAVE
    assert "006GONE" in by_key["l1"].reason
    assert by_key["t1"].kind is ChangeKind.CREATE
