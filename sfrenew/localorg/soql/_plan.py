"""The compiled form of a query: SQL, parameters and render plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfrenew.localorg.soql.render import FlatColumn, RecordNode


@dataclass
class ChildPlan:
    """A child relationship subquery, run once per page of parent records."""

    key: str
    select_sql: str  # up to and including "WHERE <filters> AND" ; the fk IN list follows
    order_sql: str
    where_params: list[Any]
    order_params: list[Any]
    fk_index: int
    node: RecordNode
    limit: int | None
    offset: int


@dataclass
class CompiledQuery:
    """Everything needed to execute and render a query."""

    object_name: str
    sql: str
    params: list[Any]
    count_sql: str
    count_params: list[Any]
    is_count_query: bool = False
    is_aggregate: bool = False
    count_is_rows: bool = False  # count_sql counts result rows (aggregates), not matches
    root: RecordNode | None = None
    aggregate_items: list[tuple[str, int, Any]] = field(default_factory=list)
    children: list[ChildPlan] = field(default_factory=list)
    flat: list[FlatColumn] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
