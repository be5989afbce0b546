"""Filters are simple SOQL conditions with fixed values, nothing else."""

import pytest

from sfrenew.mapping._filter import FilterSyntaxError, check_filter


@pytest.mark.parametrize("text", [
    "Status = 'Activated'",
    "Status IN ('Activated', 'Expired') AND EndDate >= 2024-01-01",
    "NOT (IsDeleted = true) OR Amount > -5.5",
    "Name LIKE 'Acme%' AND Owner.Profile.Name != 'System'",
    "EndDate = NEXT_N_DAYS:365 AND CreatedDate > 2024-01-01T00:00:00Z",
    "Type NOT IN ('One-time') AND Region__c INCLUDES ('EMEA')",
    "Name = 'it\\'s' AND (A__c = null OR B__c <> false)",
])
def test_accepts_simple_conditions(text: str) -> None:
    check_filter(text)


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"),
    ("Status = 'Activated'; DELETE", "';' are not allowed"),
    ("Status = 'A' -- comment", "comments"),
    ("Id IN (SELECT AccountId FROM Contact)", "sub-queries"),
    ("Status = 'A' LIMIT 5", "unexpected 'LIMIT'"),
    ("Status = 'A' ORDER BY Name", "unexpected 'ORDER'"),
    ("Status = :status", "unexpected ':'"),
    ("Status = 'A' AND", "ends too early"),
    ("(Status = 'A'", "ends too early"),
    ("Status 'A'", "expected an operator"),
    ("Status = Name", "expected a literal value"),
    ("Status IN 'A'", "take a list"),
    ("SELECT = 1", "expected a field name"),
])
def test_rejects_anything_else(text: str, why: str) -> None:
    with pytest.raises(FilterSyntaxError, match=why):
        check_filter(text)
