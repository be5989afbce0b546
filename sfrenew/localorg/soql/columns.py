"""``query?columns=true``: the column metadata of a statement, without running it.

Salesforce does not document this parameter; the reference is what clients read
(the Salesforce CLI's ``sf data query`` lists its columns from ``columnMetadata``:
``columnName``, ``displayName``, ``aggregate`` and nested ``joinColumns``, see
@salesforce/plugin-data ``commands/data/query.ts``). A parent relationship is a
column named after the relationship whose ``joinColumns`` are the parent's fields; a
child subquery is an ``aggregate`` column named after the child relationship; an
unaliased aggregate is ``exprN`` with the function as its ``displayName``.
"""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.schema import NUMERIC_TYPES, TEXT_TYPES, FieldSchema, FieldType, OrgSchema
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._plan import CompiledQuery
from sfrenew.localorg.soql.render import CHILD, FIELD, PARENT, TYPEOF, RecordNode

# describe type -> the Apex type Salesforce names in columnMetadata
_APEX_TYPES = {
    FieldType.ID: "Id", FieldType.REFERENCE: "Id", FieldType.BOOLEAN: "Boolean",
    FieldType.INT: "Integer", FieldType.DOUBLE: "Double", FieldType.CURRENCY: "Double",
    FieldType.PERCENT: "Double", FieldType.DATE: "Date", FieldType.DATETIME: "Datetime",
}


def _column(name: str, *, display: str | None = None, field: FieldSchema | None = None,
            aggregate: bool = False, joins: list[dict[str, Any]] | None = None,
            apex_type: str | None = None) -> dict[str, Any]:
    ftype = field.type if field is not None else None
    return {
        "aggregate": aggregate,
        "apexType": apex_type if field is None else _APEX_TYPES.get(field.type, "String"),
        "booleanType": ftype is FieldType.BOOLEAN,
        "columnName": name,
        "custom": bool(field is not None and field.custom),
        "displayName": display or name,
        "foreignKeyName": None,
        "insertable": bool(field is not None and field.createable),
        "joinColumns": joins or [],
        "numberType": ftype in NUMERIC_TYPES,
        "textType": ftype in TEXT_TYPES,
        "updatable": bool(field is not None and field.updateable),
    }


def _node_columns(schema: OrgSchema, node: RecordNode, compiled: CompiledQuery,
                  ) -> list[dict[str, Any]]:
    obj = schema.object(node.type_name)
    columns = []
    for kind, key, payload, _conv in node.items:
        if kind == FIELD:
            field = obj.field(key) if obj is not None else None
            columns.append(_column(key, field=field))
        elif kind == PARENT:
            columns.append(_column(key, joins=_node_columns(schema, payload, compiled)))
        elif kind == CHILD:
            child = compiled.children[payload].node
            columns.append(_column(key, aggregate=True,
                                   joins=_node_columns(schema, child, compiled)))
        elif kind == TYPEOF:
            columns.append(_column(key))
    return columns


def _expression_text(expr: ast.FieldPath | ast.Aggregate | ast.DateFunction
                     | ast.FieldsFunction) -> str:
    if isinstance(expr, ast.FieldPath):
        return ".".join(expr.parts)
    if isinstance(expr, ast.Aggregate):
        return f"{expr.func}({'.'.join(expr.arg.parts) if expr.arg else ''})"
    if isinstance(expr, ast.DateFunction):
        return f"{expr.func}({'.'.join(expr.arg.parts)})"
    return f"FIELDS({expr.which})"


def _aggregate_columns(query: ast.Query, compiled: CompiledQuery) -> list[dict[str, Any]]:
    select = [item for item in query.select if isinstance(item, ast.SelectItem)]
    columns = []
    for (key, _index, _conv), item in zip(compiled.aggregate_items, select, strict=False):
        is_function = isinstance(item.expr, ast.Aggregate | ast.DateFunction)
        columns.append(_column(key, display=_expression_text(item.expr), aggregate=is_function,
                               apex_type="Integer" if isinstance(item.expr, ast.Aggregate)
                               and item.expr.func.startswith("COUNT") else None))
    return columns


def column_metadata(schema: OrgSchema, query: ast.Query, compiled: CompiledQuery
                    ) -> dict[str, Any]:
    """The ``columns=true`` answer for a prepared statement."""
    obj = schema.object(compiled.object_name)
    if compiled.is_count_query:
        columns: list[dict[str, Any]] = []
    elif compiled.is_aggregate:
        columns = _aggregate_columns(query, compiled)
    else:
        assert compiled.root is not None  # a record query always has a root node
        columns = _node_columns(schema, compiled.root, compiled)
    return {
        "columnMetadata": columns,
        "entityName": compiled.object_name,
        "groupBy": bool(query.group_by),
        "idSelected": any(c["columnName"] == "Id" for c in columns),
        "keyPrefix": obj.key_prefix if obj is not None else None,
    }
