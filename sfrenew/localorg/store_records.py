"""Row-level access for ``OrgStore``: fetch, insert, rewrite, cascade, and the checks
that need data (references, uniqueness, parents given by external Id).

Every method runs on the store's write connection, inside its lock and transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import normalize_id
from sfrenew.localorg.schema import FieldSchema, FieldType, OrgSchema, SObjectSchema
from sfrenew.localorg.tables import columns, quote

_IN_CHUNK = 500  # stays well under SQLite's bound-parameter limit


def not_found() -> SalesforceApiError:
    """404 NOT_FOUND, as Salesforce answers for an unknown record or resource."""
    return SalesforceApiError.single(404, "NOT_FOUND", "The requested resource does not exist")


def _incorrect_type(field_label: str, field_name: str, value: str, *,
                    code: str) -> SalesforceApiError:
    return SalesforceApiError.dml(code, f"{field_label}: id value of incorrect type: {value}",
                                  (field_name,))


class RecordAccess:
    """Reads and writes of whole rows, and the data-dependent save checks."""

    def __init__(self, conn: sqlite3.Connection, schema: OrgSchema) -> None:
        self._conn = conn
        self._schema = schema
        self._by_prefix = {obj.key_prefix: obj for obj in schema.objects.values()}
        # Statement text per object, built once (names come from the schema).
        self._select: dict[str, tuple[tuple[str, ...], str]] = {}
        self._insert: dict[str, tuple[tuple[str, ...], str]] = {}
        self._update: dict[str, tuple[list[str], str]] = {}
        # parent object name -> [(child object, master-detail field)]
        self._cascades: dict[str, list[tuple[SObjectSchema, FieldSchema]]] = {}
        for child in schema.objects.values():
            for field in child.fields.values():
                if field.cascade_delete:
                    for parent in field.reference_to:
                        self._cascades.setdefault(parent.lower(), []).append((child, field))

    # --- fetching --------------------------------------------------------------------

    def live_record(self, obj: SObjectSchema, raw_id: str) -> dict[str, Any]:
        """The stored row of a live record; MALFORMED_ID, NOT_FOUND or ENTITY_IS_DELETED."""
        record_id = normalize_id(raw_id.strip())
        if record_id is None or record_id[:3] != obj.key_prefix:
            id_field = obj.field("Id")
            label = id_field.label if id_field is not None else "Record ID"
            raise _incorrect_type(label, "Id", raw_id, code="MALFORMED_ID")
        if obj.name not in self._select:
            names = columns(obj)
            self._select[obj.name] = (names, (
                f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(obj.name)} "  # noqa: S608
                'WHERE "Id" = ?'))
        names, sql = self._select[obj.name]
        row = self._conn.execute(sql, (record_id,)).fetchone()
        if row is None:
            raise not_found()
        record = dict(zip(names, row, strict=True))
        if record["IsDeleted"]:
            raise SalesforceApiError.dml("ENTITY_IS_DELETED", "entity is deleted", status=404)
        return record

    def find_by_value(self, obj: SObjectSchema, field: FieldSchema, value: str) -> list[str]:
        """Ids of live records whose ``field`` equals ``value`` (case-insensitive unless
        the field is case-sensitive), at most 201."""
        collate = "" if field.case_sensitive else " COLLATE NOCASE"
        rows = self._conn.execute(
            f"SELECT \"Id\" FROM {quote(obj.name)} WHERE {quote(field.name)} = ?{collate} "  # noqa: S608
            'AND "IsDeleted" = 0 ORDER BY "Id" LIMIT 201', (value,)).fetchall()
        return [str(r[0]) for r in rows]

    def parent_value(self, parent_id: str, field_name: str) -> Any:
        """A field of the record ``parent_id`` (derived lookups); None if unknown."""
        obj = self._by_prefix.get(parent_id[:3])
        field = obj.field(field_name) if obj is not None else None
        if obj is None or field is None:
            return None
        row = self._conn.execute(
            f'SELECT {quote(field.name)} FROM {quote(obj.name)} WHERE "Id" = ?',  # noqa: S608
            (parent_id,)).fetchone()
        return None if row is None else row[0]

    # --- checks that need data ---------------------------------------------------------

    def resolve_parents(self, parents: dict[FieldSchema, dict[str, Any]]) -> dict[str, str]:
        """Reference values for parents given by external Id (``"Account": {"Key__c": v}``)."""
        resolved: dict[str, str] = {}
        for reference, spec in parents.items():
            attributes = spec.get("attributes")
            type_name = (attributes.get("type") if isinstance(attributes, dict) else None
                         ) or reference.reference_to[0]
            target = self._schema.object(str(type_name))
            keys = [k for k in spec if k != "attributes"]
            if target is None or target.name not in reference.reference_to or len(keys) != 1:
                raise SalesforceApiError.dml(
                    "INVALID_FIELD", f"Invalid foreign key relationship: {reference.name}", ())
            key_field = target.field(keys[0])
            if key_field is None or not key_field.identifies_records:
                raise SalesforceApiError.dml(
                    "INVALID_FIELD",
                    f"Field {keys[0]} is not an external id field on {target.name}", ())
            value = str(spec[keys[0]])
            if key_field.name == "Id":
                normalized = normalize_id(value)
                resolved[reference.name] = normalized or value
                continue
            ids = self.find_by_value(target, key_field, value)
            if len(ids) != 1:
                problem = "not found" if not ids else "matched multiple records"
                raise SalesforceApiError.dml(
                    "INVALID_FIELD", f"Foreign key external ID: {value} {problem} for field "
                    f"{key_field.name} in entity {target.name}", ())
            resolved[reference.name] = ids[0]
        return resolved

    def check_references(self, obj: SObjectSchema, values: dict[str, Any]) -> None:
        """Each lookup must name a live record of an allowed type."""
        for name, value in values.items():
            field = obj.field(name)
            if field is None or field.type != FieldType.REFERENCE or value is None:
                continue
            target = self._by_prefix.get(str(value)[:3])
            if target is None or target.name not in field.reference_to:
                raise _incorrect_type(field.label, field.name, str(value),
                                      code="FIELD_INTEGRITY_EXCEPTION")
            row = self._conn.execute(
                f'SELECT "IsDeleted" FROM {quote(target.name)} WHERE "Id" = ?',  # noqa: S608
                (value,)).fetchone()
            if row is None or row[0]:
                raise SalesforceApiError.dml("INVALID_CROSS_REFERENCE_KEY",
                                             "invalid cross reference id", ())

    def check_unique(self, obj: SObjectSchema, values: dict[str, Any], *,
                     record_id: str | None) -> None:
        """DUPLICATE_VALUE when a unique field's value is taken by another live record."""
        for field in obj.fields.values():
            value = values.get(field.name)
            if not field.unique or value is None or field.name == "Id":
                continue
            collate = "" if field.case_sensitive else " COLLATE NOCASE"
            row = self._conn.execute(
                f'SELECT "Id" FROM {quote(obj.name)} WHERE {quote(field.name)} = ?{collate} '  # noqa: S608
                'AND "IsDeleted" = 0 AND "Id" != ? LIMIT 1', (value, record_id or "")).fetchone()
            if row is not None:
                raise SalesforceApiError.dml(
                    "DUPLICATE_VALUE", f"duplicate value found: {field.name} duplicates value "
                    f"on record with id: {row[0]}", ())

    # --- writing -----------------------------------------------------------------------

    def insert(self, obj: SObjectSchema, record: dict[str, Any]) -> None:
        """Insert a complete row."""
        if obj.name not in self._insert:
            names = columns(obj)
            self._insert[obj.name] = (names, (
                f"INSERT INTO {quote(obj.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in names)})"))
        names, sql = self._insert[obj.name]
        self._conn.execute(sql, [record.get(n) for n in names])

    def rewrite(self, obj: SObjectSchema, record: dict[str, Any]) -> None:
        """Write every column of an existing row."""
        if obj.name not in self._update:
            names = [n for n in columns(obj) if n != "Id"]
            self._update[obj.name] = (names, (
                f"UPDATE {quote(obj.name)} SET {', '.join(f'{quote(n)} = ?' for n in names)} "  # noqa: S608
                'WHERE "Id" = ?'))
        names, sql = self._update[obj.name]
        self._conn.execute(sql, [*(record.get(n) for n in names), record["Id"]])

    def soft_delete(self, obj: SObjectSchema, ids: list[str], *, stamp: str,
                    user_id: str) -> None:
        """Mark records deleted (rows stay for queryAll) and cascade to master-detail
        children, depth first."""
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start:start + _IN_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            self._conn.execute(
                f'UPDATE {quote(obj.name)} SET "IsDeleted" = 1, "SystemModstamp" = ?, '  # noqa: S608
                f'"LastModifiedDate" = ?, "LastModifiedById" = ? WHERE "Id" IN ({marks})',
                [stamp, stamp, user_id, *chunk])
            for child, field in self._cascades.get(obj.name.lower(), []):
                rows = self._conn.execute(
                    f'SELECT "Id" FROM {quote(child.name)} WHERE {quote(field.name)} '  # noqa: S608
                    f'IN ({marks}) AND "IsDeleted" = 0', chunk).fetchall()
                if rows:
                    self.soft_delete(child, [str(r[0]) for r in rows], stamp=stamp,
                                     user_id=user_id)
