"""Semantic checks and translation of a parsed SOQL query into SQLite SQL plus a render plan.

Identifiers in the SQL come from the schema (quoted); every literal is a parameter.
Parent relationships are LEFT JOINs; child subqueries become a second query per page
of parents (see ``engine``); semi-joins are SQL ``IN (SELECT ...)``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import FieldType, OrgSchema, SObjectSchema
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._aggregate import compile_aggregate_select
from sfrenew.localorg.soql._datefn import date_function_sql
from sfrenew.localorg.soql._errors import (
    INVALID_TYPE,
    MALFORMED_QUERY,
    NUMBER_OUTSIDE_VALID_RANGE,
    malformed,
    query_error,
)
from sfrenew.localorg.soql._filters import ID_TYPES, NOCASE_TYPES, FilterCompiler, Operand
from sfrenew.localorg.soql._plan import ChildPlan, CompiledQuery
from sfrenew.localorg.soql._render import converter
from sfrenew.localorg.soql._scope import Column, Relation, Scope, lookup_object, quote
from sfrenew.localorg.soql._typeof import typeof_node
from sfrenew.localorg.soql.render import CHILD, FIELD, PARENT, TYPEOF, FlatColumn, RecordNode

MAX_OFFSET = 2000
FIELDS_LIMIT = 200


class Compiler:
    """Compiles one statement; holds the parameters and the alias counter."""

    def __init__(self, *, schema: OrgSchema, soql: str, today: date, include_deleted: bool,
                 api_version: str, bulk: bool) -> None:
        self.schema = schema
        self.soql = soql
        self.today = today
        self.include_deleted = include_deleted
        self.url_base = f"/services/data/v{api_version}/sobjects/"
        self.bulk = bulk
        self._aliases = 0

    def next_prefix(self, letter: str) -> str:
        """A fresh table-alias prefix for a subquery."""
        self._aliases += 1
        return f"{letter}{self._aliases}_"

    # ---- top level ---------------------------------------------------------------------

    def compile(self, query: ast.Query) -> CompiledQuery:
        """Compile the top-level statement."""
        obj = lookup_object(self.schema, query.object_name, soql=self.soql, pos=query.object_pos)
        scope = Scope(schema=self.schema, obj=obj, alias=query.alias, prefix="t", soql=self.soql)
        self.check_clauses(query)
        aggregate = query.group_by or any(
            isinstance(i, ast.SelectItem) and isinstance(i.expr, ast.Aggregate)
            for i in query.select)
        if self.bulk:
            self.check_bulk(query, aggregate=bool(aggregate))
        where_params: list[Any] = []
        where_sql = self.where_sql(query, scope, params=where_params)
        # Counting needs only the joins the filter uses (joins are added on first mention).
        count_sql = f"SELECT COUNT(*) {scope.from_sql()} WHERE {where_sql}"
        limit_sql, limit_params = self.limit_sql(query)
        if query.count_only:
            if query.group_by:
                raise malformed(self.soql, query.group_by_pos, text="COUNT() and GROUP BY may not "
                                                                    "be used together")
            return CompiledQuery(object_name=obj.name, sql="", params=[], count_sql=count_sql,
                                 count_params=where_params, is_count_query=True,
                                 limit=query.limit, offset=query.offset or 0)
        if aggregate:
            return compile_aggregate_select(self, query, scope=scope, where_sql=where_sql,
                                            where_params=where_params)
        columns: list[str] = [scope.root.alias + '."Id"']
        root = RecordNode(obj.name, self.url_base + obj.name + "/", 0)
        flat: list[FlatColumn] = []
        children: list[ChildPlan] = []
        self.select_into(query, scope, root=root, columns=columns, flat=flat, children=children)
        order_params: list[Any] = []
        order_sql = self.order_sql(query, scope, params=order_params)
        sql = (f"SELECT {', '.join(columns)} {scope.from_sql()} WHERE {where_sql}{order_sql}"
               f"{limit_sql}")
        return CompiledQuery(object_name=obj.name, sql=sql,
                             params=where_params + order_params + limit_params,
                             count_sql=count_sql, count_params=list(where_params), root=root,
                             children=children, flat=flat, limit=query.limit,
                             offset=query.offset or 0)

    def check_clauses(self, query: ast.Query) -> None:
        """Clauses the local org accepts but cannot honour are rejected, not ignored."""
        if query.scope is not None and query.scope.lower() != "everything":
            raise malformed(self.soql, query.object_pos,
                            text=f"USING SCOPE {query.scope} is not supported by the local org "
                                 "(only USING SCOPE Everything)")
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise query_error(self.soql, query.offset_pos, code=NUMBER_OUTSIDE_VALID_RANGE,
                              text=f"Maximum SOQL offset allowed is {MAX_OFFSET}")

    def check_bulk(self, query: ast.Query, *, aggregate: bool) -> None:
        """Bulk API 2.0 rejects aggregates, GROUP BY, OFFSET and child subqueries."""
        problem = None
        if query.count_only or aggregate:
            problem = "Aggregate queries (COUNT(), GROUP BY, aggregate functions) are not "\
                      "supported by Bulk API 2.0 query jobs"
        elif query.offset is not None:
            problem = "OFFSET is not supported by Bulk API 2.0 query jobs"
        elif any(isinstance(i, ast.TypeOfSelect) for i in query.select):
            problem = "TYPEOF is not supported by Bulk API 2.0 query jobs"
        elif any(isinstance(i, ast.SubquerySelect) for i in query.select):
            problem = "Aggregate Relationships not supported in Bulk Query"
        if problem:
            raise SalesforceApiError.single(400, "API_ERROR", problem)

    # ---- clauses -----------------------------------------------------------------------

    def where_sql(self, query: ast.Query, scope: Scope, *, params: list[Any],
                  extra: str = "") -> str:
        """The WHERE condition incl. the IsDeleted filter (always at least "1")."""
        parts = []
        if not self.include_deleted:
            parts.append(f'{scope.root.alias}."IsDeleted" = 0')
        if extra:
            parts.append(extra)
        if query.where is not None:
            parts.append(self.filters(scope, params).compile(query.where))
        return " AND ".join(parts) or "1"

    def filters(self, scope: Scope, params: list[Any], *,
                grouped: dict[str, str] | None = None) -> FilterCompiler:
        """A filter compiler resolving paths in ``scope``; with ``grouped`` (HAVING),
        aggregates are allowed and plain fields must be grouped."""

        def operand(expr: ast.Operand) -> Operand:
            if isinstance(expr, ast.Aggregate):
                if grouped is None:
                    raise malformed(self.soql, expr.pos, text="Aggregate functions are not allowed "
                                                              "in the WHERE clause")
                sql, ftype, _ = self.aggregate_sql(expr, scope)
                return Operand(sql, ftype, expr.func)
            if isinstance(expr, ast.DateFunction):
                sql, ftype = self.date_function_sql(expr, scope)
                if grouped is not None and sql not in grouped:
                    raise malformed(self.soql, expr.pos,
                                    text=f"Field must be grouped or aggregated: {expr.func}")
                return Operand(sql, ftype, expr.func)
            col = scope.column(expr)
            if grouped is not None and col.sql not in grouped:
                raise malformed(self.soql, expr.pos, text="Field must be grouped or aggregated: "
                                                          f"{col.field.name}")
            return Operand(col.sql, col.field.type, col.field.name)

        return FilterCompiler(soql=self.soql, today=self.today, params=params, operand=operand,
                              subquery=lambda cond, _left: self.semi_join_sql(cond, params))

    def semi_join_sql(self, cond: ast.InSubquery, params: list[Any]) -> str:
        """``SELECT fk FROM ... WHERE ...`` for ``Id IN (SELECT ...)``."""
        sub = cond.query
        obj = lookup_object(self.schema, sub.object_name, soql=self.soql, pos=sub.object_pos)
        scope = Scope(schema=self.schema, obj=obj, alias=sub.alias, prefix=self.next_prefix("s"),
                      soql=self.soql)
        items = [i for i in sub.select if isinstance(i, ast.SelectItem)]
        if (len(sub.select) != 1 or len(items) != 1 or not isinstance(items[0].expr, ast.FieldPath)
                or sub.group_by or sub.count_only):
            raise malformed(self.soql, sub.object_pos, text="Semi join sub-selects can only select "
                                                            "a single Id field")
        col = scope.column(items[0].expr)
        if col.field.type not in ID_TYPES:
            raise malformed(self.soql, items[0].pos, text="Semi join sub-selects can only select "
                                                          "a single Id field")
        saved, self.include_deleted = self.include_deleted, False
        try:
            where = self.where_sql(sub, scope, params=params, extra=f"{col.sql} IS NOT NULL")
        finally:
            self.include_deleted = saved
        return f"SELECT {col.sql} {scope.from_sql()} WHERE {where}"

    def order_sql(self, query: ast.Query, scope: Scope, *, params: list[Any],
                  grouped: dict[str, str] | None = None) -> str:
        """`` ORDER BY ...`` (or ""), text case-insensitive, picklists in their defined order."""
        terms: list[str] = []
        for item in query.order_by:
            if isinstance(item.expr, ast.Aggregate):
                if grouped is None:
                    raise malformed(self.soql, item.expr.pos, text="Aggregate functions are only "
                                                                   "allowed in aggregate queries")
                expr, _, _ = self.aggregate_sql(item.expr, scope)
                keys = [expr]
            elif isinstance(item.expr, ast.DateFunction):
                expr, _ = self.date_function_sql(item.expr, scope)
                if grouped is not None and expr not in grouped:
                    raise malformed(self.soql, item.expr.pos,
                                    text="Ordered field must be grouped or aggregated: "
                                         f"{item.expr.func}")
                keys = [expr]
            else:
                col = scope.column(item.expr)
                if grouped is not None and col.sql not in grouped:
                    raise malformed(self.soql, item.expr.pos,
                                    text="Ordered field must be grouped or aggregated: "
                                         f"{col.field.name}")
                keys = self._order_keys(col, params)
            nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
            direction = (" DESC" if item.descending else " ASC") + (
                " NULLS FIRST" if nulls_first else " NULLS LAST")
            terms.extend(k + direction for k in keys)
        return " ORDER BY " + ", ".join(terms) if terms else ""

    @staticmethod
    def _order_keys(col: Column, params: list[Any]) -> list[str]:
        values = col.field.picklist_values
        if col.field.type is FieldType.PICKLIST and values:
            # Salesforce sorts picklists by their defined order, not alphabetically.
            params.extend(values)
            whens = " ".join(f"WHEN ? THEN {i}" for i in range(len(values)))
            return [f"CASE {col.sql} {whens} ELSE IIF({col.sql} IS NULL, NULL, {len(values)}) END",
                    f"{col.sql} COLLATE NOCASE"]
        if col.field.type in NOCASE_TYPES:
            return [f"{col.sql} COLLATE NOCASE"]
        return [col.sql]

    @staticmethod
    def limit_sql(query: ast.Query) -> tuple[str, list[Any]]:
        """`` LIMIT ? OFFSET ?`` (or "") and its parameters."""
        if query.limit is None and not query.offset:
            return "", []
        limit = -1 if query.limit is None else query.limit
        return " LIMIT ? OFFSET ?", [limit, query.offset or 0]

    def date_function_sql(self, fn: ast.DateFunction, scope: Scope) -> tuple[str, FieldType]:
        """SQL and result type of a date function over a date or datetime field."""
        col = scope.column(fn.arg)
        compiled = date_function_sql(fn.func, col.sql, ftype=col.field.type)
        if compiled is None:
            raise malformed(self.soql, fn.arg.pos, text=f"{fn.func} cannot be applied to field "
                                                        f"{col.field.name} of type "
                                                        f"{col.field.type.value}")
        return compiled

    def aggregate_sql(self, agg: ast.Aggregate, scope: Scope) -> tuple[str, FieldType, Any]:
        """SQL of an aggregate, the type of its value and its converter."""
        if agg.arg is None:
            return "COUNT(*)", FieldType.INT, None
        col = scope.column(agg.arg)
        ftype = col.field.type
        if agg.func in ("COUNT", "COUNT_DISTINCT"):
            distinct = "DISTINCT " if agg.func == "COUNT_DISTINCT" else ""
            return f"COUNT({distinct}{col.sql})", FieldType.INT, None
        numeric = ftype in (FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY,
                            FieldType.PERCENT)
        if agg.func in ("SUM", "AVG") and not numeric:
            raise malformed(self.soql, agg.pos, text=f"field {col.field.name} does not support "
                                                     f"aggregate operator {agg.func}")
        if agg.func in ("MIN", "MAX") and ftype is FieldType.BOOLEAN:
            raise malformed(self.soql, agg.pos, text=f"field {col.field.name} does not support "
                                                     f"aggregate operator {agg.func}")
        if agg.func == "AVG":
            return f"AVG({col.sql})", FieldType.DOUBLE, None
        if agg.func == "SUM":
            return f"SUM({col.sql})", ftype, None
        collate = " COLLATE NOCASE" if ftype in NOCASE_TYPES else ""
        return f"{agg.func}({col.sql}{collate})", ftype, converter(col.field)

    # ---- field list --------------------------------------------------------------------

    def select_into(self, query: ast.Query, scope: Scope, *, root: RecordNode,
                    columns: list[str], flat: list[FlatColumn], children: list[ChildPlan]) -> None:
        """Add the field list's columns and render entries (non-aggregate queries)."""
        for item in query.select:
            if isinstance(item, ast.TypeOfSelect):
                node = typeof_node(self, item, scope=scope, columns=columns)
                root.items.append((TYPEOF, scope.relation((item.relationship,), item.pos).path[-1],
                                   node, None))
                continue
            if isinstance(item, ast.SubquerySelect):
                if scope.prefix != "t":
                    raise malformed(self.soql, item.pos,
                                    text="Child relationship subqueries cannot be nested")
                children.append(self.child_plan(item, scope.root.obj))
                root.items.append((CHILD, children[-1].key, len(children) - 1, None))
                continue
            if item.alias is not None:
                raise malformed(self.soql, item.alias_pos, text=f"unexpected token: {item.alias}",
                                caret=item.pos)
            expr = item.expr
            if isinstance(expr, ast.FieldsFunction):
                if expr.which != "STANDARD" and (query.limit is None or query.limit > FIELDS_LIMIT):
                    raise malformed(self.soql, expr.pos,
                                    text="The SOQL FIELDS function must have a LIMIT of at most "
                                         f"{FIELDS_LIMIT}")
                for f in scope.root.obj.fields.values():
                    if expr.which == "ALL" or f.custom == (expr.which == "CUSTOM"):
                        key = f.name.lower()
                        if key not in root.key_set():
                            self.add_field(scope, scope.column(ast.FieldPath((f.name,), expr.pos)),
                                           root=root, columns=columns, flat=flat, pos=expr.pos)
                continue
            if isinstance(expr, ast.DateFunction):
                raise malformed(self.soql, expr.pos,
                                text="Date functions in the field list are only allowed in "
                                     "aggregate queries")
            assert isinstance(expr, ast.FieldPath)  # aggregates take the other path
            self.add_field(scope, scope.column(expr), root=root, columns=columns, flat=flat,
                           pos=expr.pos)

    def add_field(self, scope: Scope, col: Column, *, root: RecordNode, columns: list[str],
                  flat: list[FlatColumn], pos: int) -> None:
        """Add one resolved field, creating nested parent nodes on first mention."""
        node = self._node_for(col.relation, scope, root=root, columns=columns)
        if col.field.name.lower() in node.key_set():
            raise malformed(self.soql, pos, text="duplicate field selected: "
                            + ".".join((*col.relation.path, col.field.name)))
        if col.sql in columns:  # e.g. Id, already selected for the record's url
            index = columns.index(col.sql)
        else:
            columns.append(col.sql)
            index = len(columns) - 1
        node.items.append((FIELD, col.field.name, index, converter(col.field)))
        keys = (*col.relation.path, col.field.name)
        flat.append(FlatColumn(".".join(keys), keys, col.field.type))

    def _node_for(self, relation: Relation, scope: Scope, *, root: RecordNode,
                  columns: list[str]) -> RecordNode:
        node = root
        for depth, key in enumerate(relation.path):
            child = node.parent(key)
            if child is None:
                target = scope.relation(relation.path[: depth + 1], 0)
                columns.append(target.id_expr)
                child = RecordNode(target.obj.name, self.url_base + target.obj.name + "/",
                                   len(columns) - 1)
                if target.type_sql is not None:
                    columns.append(target.type_sql)
                    child.type_index = len(columns) - 1
                    child.url_prefix = self.url_base
                node.items.append((PARENT, key, child, None))
            node = child
        return node

    def child_plan(self, item: ast.SubquerySelect, parent: SObjectSchema) -> ChildPlan:
        """Compile a child relationship subquery (``(SELECT ... FROM Contacts)``)."""
        sub = item.query
        name = sub.object_name
        if "." in name and name.split(".", 1)[0].lower() == parent.name.lower():
            name = name.split(".", 1)[1]
        rel = parent.child_relationship(name)
        child_obj = self.schema.object(rel.child_object) if rel else None
        if rel is None or child_obj is None:
            raise query_error(
                self.soql, sub.object_pos, code=INVALID_TYPE,
                text=f"Didn't understand relationship '{name}' in FROM part of query call. If "
                     "you are attempting to use a custom relationship, be sure to append the "
                     "'__r' after the custom relationship name. Please reference your WSDL or the "
                     "describe call for the appropriate names.")
        if sub.count_only or sub.group_by or any(
                isinstance(i, ast.SelectItem) and isinstance(i.expr, ast.Aggregate)
                for i in sub.select):
            raise malformed(self.soql, item.pos, text="Aggregate functions are not supported in "
                                                      "child relationship subqueries")
        scope = Scope(schema=self.schema, obj=child_obj, alias=sub.alias,
                      prefix=self.next_prefix("c"), soql=self.soql)
        columns = [scope.root.alias + '."Id"']
        node = RecordNode(child_obj.name, self.url_base + child_obj.name + "/", 0)
        self.select_into(sub, scope, root=node, columns=columns, flat=[], children=[])
        columns.append(f"{scope.root.alias}.{quote(rel.field)}")
        where_params: list[Any] = []
        where = self.where_sql(sub, scope, params=where_params)
        order_params: list[Any] = []
        order = self.order_sql(sub, scope, params=order_params)
        if sub.offset is not None and sub.offset > MAX_OFFSET:
            raise query_error(self.soql, sub.offset_pos, code=NUMBER_OUTSIDE_VALID_RANGE,
                              text=f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        select_sql = (f"SELECT {', '.join(columns)} {scope.from_sql()} WHERE {where} AND "
                      f"{scope.root.alias}.{quote(rel.field)}")
        return ChildPlan(key=rel.name, select_sql=select_sql, order_sql=order,
                         where_params=where_params, order_params=order_params,
                         fk_index=len(columns) - 1, node=node, limit=sub.limit,
                         offset=sub.offset or 0)


def compile_statement(schema: OrgSchema, query: ast.Query, *, soql: str, today: date,
                      include_deleted: bool, api_version: str, bulk: bool) -> CompiledQuery:
    """Check and compile a parsed statement."""
    try:
        return Compiler(schema=schema, soql=soql, today=today, include_deleted=include_deleted,
                        api_version=api_version, bulk=bulk).compile(query)
    except RecursionError:
        raise malformed(soql, 0, text="query is too deeply nested") from None


__all__ = ["MALFORMED_QUERY", "Compiler", "compile_statement"]
