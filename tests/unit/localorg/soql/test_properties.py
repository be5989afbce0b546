"""Invariants of filter compilation, checked on generated conditions.

SOQL logic is two-valued: for any condition C, the records matching C and those
matching NOT C partition the table, whatever nulls the fields hold.
"""

from __future__ import annotations

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfrenew.localorg.soql import QueryEngine
from tests.unit.localorg.soql.conftest import run

_LEAVES = st.sampled_from([
    "Name = 'Acme'", "Name != 'acme'", "Name LIKE '%a%'", "Industry = 'Tech'",
    "Industry != 'Retail'", "Industry IN ('Tech', 'Banking')", "Industry NOT IN ('Retail')",
    "Industry = null", "Industry != ''", "IsKey__c = null", "AnnualRevenue > 300",
    "AnnualRevenue <= 200", "AnnualRevenue != 200",
    "NumberOfEmployees IN (5, 50)", "IsKey__c = true", "Parent.Name = 'Acme'",
    "Parent.Name != 'Acme'", "Owner.IsActive = false", "CreatedDate = TODAY",
    "CreatedDate < THIS_MONTH", "Regions__c INCLUDES ('APAC')", "Regions__c EXCLUDES ('EMEA')",
    "Id IN (SELECT AccountId FROM Contact)", "Id NOT IN (SELECT AccountId FROM Opportunity)",
])


def _conditions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.lists(inner, min_size=2, max_size=3)
        return st.one_of(
            group.map(lambda items: "(" + " AND ".join(items) + ")"),
            group.map(lambda items: "(" + " OR ".join(items) + ")"),
            inner.map(lambda item: f"(NOT {item})"),
        )

    return st.recursive(_LEAVES, extend, max_leaves=6)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=_conditions())
def test_condition_and_its_negation_partition_the_records(
        engine: QueryEngine, conn: sqlite3.Connection, condition: str) -> None:
    everything = {r["Id"] for r in run(engine, conn, "SELECT Id FROM Account")}
    matching = [r["Id"] for r in run(engine, conn, f"SELECT Id FROM Account WHERE {condition}")]
    others = [r["Id"] for r in run(engine, conn,
                                   f"SELECT Id FROM Account WHERE NOT {condition}")]
    assert len(set(matching)) == len(matching)
    assert set(matching) | set(others) == everything
    assert not set(matching) & set(others)
