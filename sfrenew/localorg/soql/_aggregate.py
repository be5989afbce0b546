"""Aggregate queries: GROUP BY, COUNT/SUM/AVG/MIN/MAX, HAVING.

Rows are ``AggregateResult`` records; unaliased aggregates are named ``expr0``,
``expr1``... in field-list order (aliased ones do not consume a number), grouped
fields appear under their field name.
"""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._errors import malformed
from sfrenew.localorg.soql._plan import CompiledQuery, CompilerParts
from sfrenew.localorg.soql._render import converter
from sfrenew.localorg.soql._scope import Scope
from sfrenew.localorg.soql.render import FlatColumn


def compile_aggregate_select(compiler: CompilerParts, query: ast.Query, *, scope: Scope,
                             where_sql: str, where_params: list[Any]) -> CompiledQuery:
    """Compile a query with aggregates and/or GROUP BY."""
    soql = compiler.soql
    grouped: dict[str, str] = {}  # SQL expression -> field name
    group_exprs = []
    for group in query.group_by:
        if isinstance(group, ast.DateFunction):
            sql, _ = compiler.date_function_sql(group, scope)
            grouped[sql] = group.func
        else:
            col = scope.column(group)
            sql = col.sql
            grouped[sql] = col.field.name
        group_exprs.append(sql)
    columns: list[str] = []
    items: list[tuple[str, int, Any]] = []
    flat: list[FlatColumn] = []
    seen: set[str] = set()
    expr_number = 0
    for item in query.select:
        if isinstance(item, ast.TypeOfSelect):
            raise malformed(soql, item.pos, text="TYPEOF is not allowed in aggregate queries")
        if isinstance(item, ast.SubquerySelect):
            raise malformed(soql, item.pos, text="Child relationship subqueries are not allowed in "
                                                 "aggregate queries")
        expr = item.expr
        if isinstance(expr, ast.FieldsFunction):
            raise malformed(soql, expr.pos, text="FIELDS() is not allowed in aggregate queries")
        if isinstance(expr, ast.Aggregate | ast.DateFunction):
            if isinstance(expr, ast.Aggregate):
                sql, ftype, conv = compiler.aggregate_sql(expr, scope)
            else:
                sql, ftype = compiler.date_function_sql(expr, scope)
                conv = None
                if sql not in grouped:
                    raise malformed(soql, expr.pos,
                                    text=f"Field must be grouped or aggregated: {expr.func}")
            if item.alias is None:
                key = f"expr{expr_number}"
                expr_number += 1
            else:
                key = item.alias
        else:
            col = scope.column(expr)
            if col.sql not in grouped:
                raise malformed(soql, expr.pos,
                                text=f"Field must be grouped or aggregated: {col.field.name}")
            sql, ftype, conv = col.sql, col.field.type, converter(col.field)
            key = item.alias or col.field.name
        if key.lower() in seen:
            raise malformed(soql, item.pos, text=f"duplicate alias: {key}")
        seen.add(key.lower())
        columns.append(sql)
        items.append((key, len(columns) - 1, conv))
        flat.append(FlatColumn(key, (key,), ftype))
    having_params: list[Any] = []
    having_sql = ""
    if query.having is not None:
        filters = compiler.filters(scope, having_params, grouped=grouped)
        having_sql = " HAVING " + filters.compile(query.having)
    order_params: list[Any] = []
    order_sql = compiler.order_sql(query, scope, params=order_params, grouped=grouped)
    group_sql = " GROUP BY " + ", ".join(group_exprs) if group_exprs else ""
    body = (f"SELECT {', '.join(columns)} {scope.from_sql()} WHERE {where_sql}{group_sql}"
            f"{having_sql}")
    limit_sql, limit_params = compiler.limit_sql(query)
    return CompiledQuery(
        object_name=scope.root.obj.name,
        sql=body + order_sql + limit_sql,
        params=where_params + having_params + order_params + limit_params,
        count_sql=f"SELECT COUNT(*) FROM ({body})",  # noqa: S608 - values are parameters
        count_params=where_params + having_params,
        is_aggregate=True, count_is_rows=True, aggregate_items=items, flat=flat,
        limit=query.limit, offset=query.offset or 0,
    )
