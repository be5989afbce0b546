"""Resolving field paths of one FROM object into SQL columns, adding LEFT JOINs for
parent relationships (``Account.Owner.Name``) as they are first mentioned."""

from __future__ import annotations

from dataclasses import dataclass

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import FieldSchema, FieldType, OrgSchema, SObjectSchema
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._errors import INVALID_FIELD, INVALID_TYPE, query_error


def quote(identifier: str) -> str:
    """An SQL identifier; names come from the schema, quoting guards against keywords."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class Relation:
    """One object reachable from the FROM object: the root (path ()) or a parent."""

    alias: str
    obj: SObjectSchema
    path: tuple[str, ...]  # canonical relationship names from the root
    id_sql: str = ""  # polymorphic: COALESCE of the candidates' Ids
    type_sql: str | None = None  # polymorphic: the record's sObject type, from its Id prefix
    name_sql: str = ""  # polymorphic: COALESCE of the candidates' Name fields
    candidates: tuple[tuple[str, SObjectSchema], ...] = ()  # polymorphic: (alias, object)

    @property
    def id_expr(self) -> str:
        """SQL for this relation's record Id (NULL when the lookup is empty)."""
        return self.id_sql or f'{self.alias}."Id"'


@dataclass(frozen=True)
class Column:
    """A resolved field: its SQL expression, its schema and the relation owning it."""

    sql: str
    field: FieldSchema
    relation: Relation


# What a polymorphic lookup (Task.What) resolves to: Salesforce's "Name" entity.
NAME_ENTITY = SObjectSchema(
    name="Name", label="Name", label_plural="Names", key_prefix="", custom=False,
    fields={f.name.lower(): f for f in (
        FieldSchema("Id", FieldType.ID, "Record ID", length=18),
        FieldSchema("Name", FieldType.STRING, "Name", length=255),
        FieldSchema("Type", FieldType.STRING, "Object Type", length=40),
    )},
)


def sql_string(text: str) -> str:
    """An SQL string literal for a schema constant (object names, key prefixes)."""
    return "'" + text.replace("'", "''") + "'"


def no_such_column(soql: str, pos: int, *, name: str, entity: str) -> SalesforceApiError:
    """Salesforce's INVALID_FIELD for an unknown field."""
    return query_error(
        soql, pos, code=INVALID_FIELD,
        text=f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
             "field, be sure to append the '__c' after the custom field name. Please reference "
             "your WSDL or the describe call for the appropriate names.")


def unknown_relationship(soql: str, pos: int, *, name: str) -> SalesforceApiError:
    """Salesforce's INVALID_FIELD for an unknown relationship in a path."""
    return query_error(
        soql, pos, code=INVALID_FIELD,
        text=f"Didn't understand relationship '{name}' in field path. If you are attempting to use "
             "a custom relationship, be sure to append the '__r' after the custom relationship "
             "name. Please reference your WSDL or the describe call for the appropriate names.")


def lookup_object(schema: OrgSchema, name: str, *, soql: str, pos: int) -> SObjectSchema:
    """The object named in FROM, or Salesforce's INVALID_TYPE."""
    obj = schema.object(name)
    if obj is None:
        raise query_error(
            soql, pos, code=INVALID_TYPE,
            text=f"sObject type '{name}' is not supported. If you are attempting to use a custom "
                 "object, be sure to append the '__c' after the entity name. Please reference your "
                 "WSDL or the describe call for the appropriate names.")
    return obj


class Scope:
    """The FROM object of one (sub)query and the parents joined to it."""

    def __init__(self, *, schema: OrgSchema, obj: SObjectSchema, alias: str | None,
                 prefix: str, soql: str) -> None:
        self.schema = schema
        self.soql = soql
        self.prefix = prefix
        self.user_alias = alias.lower() if alias else None
        self.root = Relation(f"{prefix}0", obj, ())
        self._relations: dict[tuple[str, ...], Relation] = {(): self.root}
        self.join_sql: list[str] = []

    def from_sql(self) -> str:
        """``FROM "Obj" AS t0 LEFT JOIN ...``."""
        parts = [f"FROM {quote(self.root.obj.name)} AS {self.root.alias}", *self.join_sql]
        return " ".join(parts)

    def strip_prefix(self, path: ast.FieldPath) -> tuple[str, ...]:
        """The path without a leading object name or alias (``Account.Name`` FROM Account)."""
        parts = path.parts
        if len(parts) > 1 and parts[0].lower() in (self.root.obj.name.lower(), self.user_alias):
            return parts[1:]
        return parts

    def relation(self, rel_names: tuple[str, ...], pos: int) -> Relation:
        """The relation reached through these relationship names, joining it if needed."""
        current = self.root
        canonical: tuple[str, ...] = ()
        for name in rel_names:
            ref = current.obj.relationship_field(name)
            if ref is None or not ref.reference_to:
                raise unknown_relationship(self.soql, pos, name=name)
            canonical = (*canonical, ref.relationship_name or name)
            known = self._relations.get(tuple(c.lower() for c in canonical))
            if known is None and len(ref.reference_to) > 1:
                known = self._join_polymorphic(current, ref, canonical)
            elif known is None:
                target = self.schema.object(ref.reference_to[0])
                if target is None:
                    raise unknown_relationship(self.soql, pos, name=name)
                known = Relation(f"{self.prefix}{len(self._relations)}", target, canonical)
                self._relations[tuple(c.lower() for c in canonical)] = known
                self.join_sql.append(
                    f"LEFT JOIN {quote(target.name)} AS {known.alias} ON {known.alias}.\"Id\" = "
                    f"{current.alias}.{quote(ref.name)}")
            current = known
        return current

    def _join_polymorphic(self, current: Relation, ref: FieldSchema,
                          canonical: tuple[str, ...]) -> Relation:
        """Join every candidate object of a polymorphic lookup; the row's Id prefix says
        which one matched."""
        alias = f"{self.prefix}{len(self._relations)}"
        ids, names, whens = [], [], []
        candidates = []
        for i, target_name in enumerate(ref.reference_to):
            target = self.schema.object(target_name)
            if target is None:
                continue
            target_alias = f"{alias}_{i}"
            self.join_sql.append(
                f"LEFT JOIN {quote(target.name)} AS {target_alias} ON {target_alias}.\"Id\" = "
                f"{current.alias}.{quote(ref.name)}")
            ids.append(f'{target_alias}."Id"')
            candidates.append((target_alias, target))
            if target.field("Name") is not None:
                names.append(f'{target_alias}."Name"')
            whens.append(f"WHEN {sql_string(target.key_prefix)} THEN {sql_string(target.name)}")
        id_sql = f"COALESCE({', '.join(ids)}, NULL)"
        relation = Relation(
            alias, NAME_ENTITY, canonical, id_sql=id_sql,
            type_sql=f"CASE substr({id_sql}, 1, 3) {' '.join(whens)} END",
            name_sql=f"COALESCE({', '.join(names)}, NULL)" if names else "NULL",
            candidates=tuple(candidates))
        self._relations[tuple(c.lower() for c in canonical)] = relation
        return relation

    def column(self, path: ast.FieldPath) -> Column:
        """Resolve a field path to a column, or raise Salesforce's INVALID_FIELD."""
        parts = self.strip_prefix(path)
        relation = self.relation(parts[:-1], path.pos)
        field = relation.obj.field(parts[-1])
        if field is None:
            raise no_such_column(self.soql, path.pos, name=parts[-1], entity=relation.obj.name)
        if relation.type_sql is not None:
            sql = {"id": relation.id_expr, "name": relation.name_sql,
                   "type": relation.type_sql}[field.name.lower()]
            return Column(sql, field, relation)
        return Column(f"{relation.alias}.{quote(field.name)}", field, relation)
