"""A job restricted to some rule sets writes only their changes."""

from pathlib import Path

import pytest

from sfrenew.core.changeset import (
    ChangeKind,
    CurrentRecord,
    FieldChange,
    RecordChange,
    RecordRef,
)
from sfrenew.mapping import MappingFile
from sfrenew.mapping._loader import load_mapping
from sfrenew.plan.rulesets import RuleSet, select_changes

STANDARD = Path(__file__).resolve().parents[3] / "mappings" / "standard.yaml"


@pytest.fixture(scope="module")
def mapping() -> MappingFile:
    return load_mapping(STANDARD).model


def _opp_update(*fields: str) -> RecordChange:
    return RecordChange(kind=ChangeKind.UPDATE, object="Opportunity", key="r1", reason="x",
                        sf_id="006A", changes=tuple(FieldChange(f, 1, 2) for f in fields))


NEW_OPP = RecordChange(kind=ChangeKind.CREATE, object="Opportunity", key="r2", reason="new")
NEW_LINE = RecordChange(kind=ChangeKind.CREATE, object="OpportunityLineItem", key="l2",
                        reason="new", refs=(("OpportunityId", RecordRef("Opportunity", "r2")),))
TASK_OF_NEW = RecordChange(kind=ChangeKind.CREATE, object="Task", key="t2", reason="new",
                           refs=(("WhatId", RecordRef("Opportunity", "r2")),))
TASK_OF_OLD = RecordChange(kind=ChangeKind.CREATE, object="Task", key="t1", reason="new",
                           refs=(("WhatId", RecordRef("Opportunity", "r1")),))
ACCOUNT = RecordChange(kind=ChangeKind.UPDATE, object="Account", key="001A", reason="risk",
                       sf_id="001A", changes=(FieldChange("Sfrenew_Risk_Level__c", "Low", "High"),))
CURRENT = {("Opportunity", "r1"): CurrentRecord("Opportunity", "r1", "006A", {})}
ALL = [_opp_update("Amount", "Sfrenew_Risk_Level__c", "ForecastCategoryName"), NEW_OPP,
       NEW_LINE, TASK_OF_NEW, TASK_OF_OLD, ACCOUNT]


def _keys(changes: list[RecordChange]) -> list[tuple[str, str]]:
    return [(c.object, c.key) for c in changes]


def test_no_rule_set_means_everything(mapping: MappingFile) -> None:
    assert select_changes(ALL, rules=frozenset(), mapping=mapping, current=CURRENT) == ALL


def test_risk_writes_risk_fields_of_existing_renewals_and_the_account(
        mapping: MappingFile) -> None:
    kept = select_changes(ALL, rules=frozenset({RuleSet.RISK}), mapping=mapping,
                          current=CURRENT)
    assert _keys(kept) == [("Opportunity", "r1"), ("Account", "001A")]
    assert [c.field for c in kept[0].changes] == ["Sfrenew_Risk_Level__c",
                                                  "ForecastCategoryName"]
    assert kept[0].reason.startswith("risk refresh")


def test_cadence_writes_tasks_of_renewals_that_exist(mapping: MappingFile) -> None:
    kept = select_changes(ALL, rules=frozenset({RuleSet.CADENCE}), mapping=mapping,
                          current=CURRENT)
    assert _keys(kept) == [("Task", "t1")]


def test_renewals_with_cadence_creates_tasks_of_new_renewals_too(mapping: MappingFile) -> None:
    kept = select_changes(ALL, rules=frozenset({RuleSet.RENEWALS, RuleSet.CADENCE}),
                          mapping=mapping, current=CURRENT)
    assert _keys(kept) == [("Opportunity", "r1"), ("Opportunity", "r2"),
                           ("OpportunityLineItem", "l2"), ("Task", "t2"), ("Task", "t1")]
