"""SQLite tables for the local org's objects (the storage convention of ``schema.py``).

One table per object named by its API name, one column per field; the column's
affinity follows the field type. Indexes serve what the store and the SOQL engine
look up: references (child lookups, cascades), unique and external-Id fields
(upsert, duplicate checks; case-insensitive like Salesforce), and SystemModstamp
(incremental pulls). A ``_meta`` table holds counters (Ids per key prefix, auto
numbers per field).
"""

from __future__ import annotations

import sqlite3

from sfrenew.localorg.schema import FieldSchema, FieldType, OrgSchema, SObjectSchema

META_TABLE = "_meta"

_INTEGER_TYPES = frozenset({FieldType.BOOLEAN, FieldType.INT})
_REAL_TYPES = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})


def quote(name: str) -> str:
    """A quoted SQL identifier (names come from the schema, never from clients)."""
    return '"' + name.replace('"', '""') + '"'


def column_type(field: FieldSchema) -> str:
    """The SQLite column type of a field."""
    if field.type in _INTEGER_TYPES:
        return "INTEGER"
    if field.type in _REAL_TYPES:
        return "REAL"
    return "TEXT"


def columns(obj: SObjectSchema) -> tuple[str, ...]:
    """The column names of an object's table, in schema order."""
    return tuple(f.name for f in obj.fields.values())


def _column_def(field: FieldSchema) -> str:
    if field.name == "Id":
        return '"Id" TEXT PRIMARY KEY'
    if field.name == "IsDeleted":
        return '"IsDeleted" INTEGER NOT NULL DEFAULT 0'
    return f"{quote(field.name)} {column_type(field)}"


def _index_statements(obj: SObjectSchema) -> list[str]:
    table = obj.name
    statements = [
        f"CREATE INDEX IF NOT EXISTS {quote(f'ix_{table}_SystemModstamp')} "
        f'ON {quote(table)} ("SystemModstamp")'
    ]
    for field in obj.fields.values():
        if field.name in ("Id", "CreatedById", "LastModifiedById"):
            continue
        name = quote(f"ix_{table}_{field.name}")
        if field.unique or field.external_id or field.id_lookup:
            collate = "" if field.case_sensitive else " COLLATE NOCASE"
            # Only live records compete for a unique value (a deleted one may be reused).
            unique = "UNIQUE " if field.unique else ""
            statements.append(
                f"CREATE {unique}INDEX IF NOT EXISTS {name} ON {quote(table)} "
                f"({quote(field.name)}{collate})" + (' WHERE "IsDeleted" = 0' if unique else ""))
        elif field.type == FieldType.REFERENCE:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table)} ({quote(field.name)})")
    return statements


def ensure_tables(conn: sqlite3.Connection, schema: OrgSchema) -> None:
    """Create missing tables, columns and indexes (existing data is kept)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} "
                 "(key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    for obj in schema.objects.values():
        existing = {row[1] for row in conn.execute(f"PRAGMA table_info({quote(obj.name)})")}
        if not existing:
            body = ", ".join(_column_def(f) for f in obj.fields.values())
            conn.execute(f"CREATE TABLE {quote(obj.name)} ({body})")
        else:
            # A field added to schema.yaml after the data dir was created.
            for field in obj.fields.values():
                if field.name not in existing:
                    conn.execute(f"ALTER TABLE {quote(obj.name)} ADD COLUMN {_column_def(field)}")
        for statement in _index_statements(obj):
            conn.execute(statement)


def next_counter(conn: sqlite3.Connection, key: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of counter ``key``; the first one.

    Must run inside the caller's transaction, so a rolled-back write gives its numbers
    back.
    """
    row = conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
    first = int(row[0]) if row else 1
    conn.execute("INSERT INTO _meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, first + count))
    return first
