"""The rows sent per change: upsert by key, insert with the key, update by Id."""

from __future__ import annotations

from sfrenew.apply.writer import Target, _payload
from sfrenew.core.changeset import ChangeKind, FieldChange, RecordChange

OPP = Target("Opportunity", "Sfrenew_Key__c", upsert=True, stamp={"Sfrenew_Run_Id__c": "r-1"})
TASK = Target("Task", "Sfrenew_Key__c", upsert=False)


def _change(kind: ChangeKind, obj: str, **kw: object) -> RecordChange:
    return RecordChange(kind=kind, object=obj, key="k", reason="r",
                        changes=(FieldChange("Name", "a", "b"),), **kw)  # type: ignore[arg-type]


def test_upserts_carry_the_key_and_the_run_stamp() -> None:
    row = _payload(_change(ChangeKind.UPDATE, "Opportunity", sf_id="006A"), OPP, {})
    assert row == {"Name": "b", "Sfrenew_Key__c": "k", "Sfrenew_Run_Id__c": "r-1"}


def test_task_creates_carry_the_key_and_resolved_lookups() -> None:
    row = _payload(_change(ChangeKind.CREATE, "Task"), TASK, {"WhatId": "006A"})
    assert row == {"Name": "b", "WhatId": "006A", "Sfrenew_Key__c": "k"}


def test_task_updates_go_by_id() -> None:
    row = _payload(_change(ChangeKind.CLOSE, "Task", sf_id="00TA"), TASK, {})
    assert row == {"Name": "b", "Id": "00TA"}
