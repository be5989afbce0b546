"""Small SQL helpers shared by the store modules (dialect-specific INSERT, chunking)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# Bound parameters per IN list: far below SQLite's 32,766 variables and small enough
# that PostgreSQL plans each query quickly.
IN_CHUNK = 500


def upsert_insert(dialect: str, table: Table) -> Any:
    """``INSERT`` that supports ``on_conflict_do_update`` on the engine's dialect."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, in order (itertools.batched is 3.12+)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def insert_many(conn: Connection, stmt: Insert, rows: Sequence[Mapping[str, Any]], *,
                raw: Collection[str] = ()) -> None:
    """Run ``stmt`` (an INSERT, upserts included, of one table) once per row with the
    driver's own ``executemany``.

    ``conn.execute(stmt, rows)`` does the same but builds a parameter dict per row
    and checks it against the statement first: for the ledger's and the mirror's
    thousands of small rows that was as much CPU as the database's own work. Here the
    statement is compiled once, each column's type converts its values (the same bind
    processors SQLAlchemy uses: JSON text, UTC datetimes), and the driver gets plain
    tuples or dicts in its own parameter style. Every row has the keys of the first.
    Columns named in ``raw`` hold values already in the driver's form (JSON text the
    caller encoded once for two tables) and are passed as they are.
    """
    if not rows:
        return
    names = list(rows[0])
    compiled = stmt.compile(dialect=conn.dialect, column_keys=names)
    table = stmt.table
    assert isinstance(table, Table)
    convert = [(name, table.c[name].type.bind_processor(conn.dialect)) for name in names]
    convert = [(name, None if name in raw else f) for name, f in convert]
    if compiled.positional:
        # The statement's placeholders, in order; each is a column of the row, converted
        # straight into its place (one tuple per row).
        placed = [convert[names.index(bind)] for bind in compiled.positiontup or ()]
        params: list[Any] = [tuple([f(row[n]) if f else row[n] for n, f in placed])
                             for row in rows]
    else:
        params = [{n: f(row[n]) if f else row[n] for n, f in convert} for row in rows]
    conn.exec_driver_sql(compiled.string, params)
