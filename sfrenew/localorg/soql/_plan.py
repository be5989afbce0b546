"""The compiled form of a query: SQL, parameters and render plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sfrenew.localorg.schema import FieldType
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._filters import FilterCompiler
from sfrenew.localorg.soql._scope import Scope
from sfrenew.localorg.soql.render import FlatColumn, RecordNode


class CompilerParts(Protocol):
    """What the aggregate and TYPEOF helpers use of ``compiler.Compiler``: declared
    here, below both, so they do not import the compiler that imports them."""

    soql: str
    url_base: str

    def filters(self, scope: Scope, params: list[Any], *,
                grouped: dict[str, str] | None = None) -> FilterCompiler:
        """A filter compiler resolving paths in ``scope``."""

    def order_sql(self, query: ast.Query, scope: Scope, *, params: list[Any],
                  grouped: dict[str, str] | None = None) -> str:
        """`` ORDER BY ...`` (or "")."""

    def limit_sql(self, query: ast.Query) -> tuple[str, list[Any]]:
        """`` LIMIT ? OFFSET ?`` (or "") and its parameters."""

    def date_function_sql(self, fn: ast.DateFunction, scope: Scope) -> tuple[str, FieldType]:
        """SQL and result type of a date function."""

    def aggregate_sql(self, agg: ast.Aggregate, scope: Scope) -> tuple[str, FieldType, Any]:
        """SQL of an aggregate, the type of its value and its converter."""


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
