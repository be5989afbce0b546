"""TYPEOF on a polymorphic lookup: which fields to return depends on the related
record's type (``TYPEOF What WHEN Account THEN Phone WHEN Opportunity THEN Amount
ELSE Name END``). Every candidate object is already LEFT JOINed by the scope; each
branch reads its fields from its own candidate's join."""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._errors import INVALID_TYPE, malformed, query_error
from sfrenew.localorg.soql._plan import CompilerParts
from sfrenew.localorg.soql._render import converter
from sfrenew.localorg.soql._scope import Scope, no_such_column, quote
from sfrenew.localorg.soql.render import TypeOfNode


def typeof_node(compiler: CompilerParts, item: ast.TypeOfSelect, *, scope: Scope,
                columns: list[str]) -> TypeOfNode:
    """Add the columns of a TYPEOF entry and return how to render it."""
    soql = compiler.soql
    relation = scope.relation((item.relationship,), item.pos)
    if relation.type_sql is None:
        raise malformed(soql, item.pos, text=f"TYPEOF can only be used on a polymorphic "
                                             f"relationship; '{item.relationship}' is not one")
    columns.append(relation.id_expr)
    id_index = len(columns) - 1
    columns.append(relation.type_sql)
    node = TypeOfNode(compiler.url_base, id_index, len(columns) - 1, {}, [])
    candidates = {obj.name.lower(): (alias, obj) for alias, obj in relation.candidates}
    for obj_name, fields in item.branches:
        found = candidates.get(obj_name.lower())
        if found is None:
            raise query_error(soql, item.pos, code=INVALID_TYPE,
                              text=f"sObject type '{obj_name}' is not a type of relationship "
                                   f"'{item.relationship}'")
        alias, obj = found
        items: list[tuple[str, int, Any]] = []
        for path in fields:
            if len(path.parts) != 1:
                raise malformed(soql, path.pos, text="Relationship paths inside TYPEOF are not "
                                                     "supported by the local org")
            field = obj.field(path.parts[0])
            if field is None:
                raise no_such_column(soql, path.pos, name=path.parts[0], entity=obj.name)
            columns.append(f"{alias}.{quote(field.name)}")
            items.append((field.name, len(columns) - 1, converter(field)))
        node.branches[obj.name] = items
    for path in item.else_fields:
        col = scope.column(ast.FieldPath((item.relationship, *path.parts), path.pos))
        columns.append(col.sql)
        node.else_items.append((col.field.name, len(columns) - 1, converter(col.field)))
    return node
