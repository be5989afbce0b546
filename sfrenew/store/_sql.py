"""Small SQL helpers shared by the store modules (dialect-specific INSERT, chunking)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Table
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
