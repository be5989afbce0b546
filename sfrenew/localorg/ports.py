"""What the REST layer needs from the data layer and the SOQL engine.

The REST handlers are written against these small protocols, not the concrete
``OrgStore`` and ``QueryEngine`` classes, so they can be exercised with fakes and
so the contract between the layers is written down in one place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol


class PreparedQueryPort(Protocol):
    """A parsed and compiled SOQL statement."""

    @property
    def is_count_query(self) -> bool:
        """True for ``SELECT COUNT() FROM ...`` (answers totalSize and no records)."""

    @property
    def object_name(self) -> str:
        """The queried object's API name."""

    def column_metadata(self) -> dict[str, Any]:
        """The ``query?columns=true`` answer."""

    def total_size(self, conn: sqlite3.Connection) -> int:
        """The ``totalSize`` Salesforce reports for this query."""

    def records(self, conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        """JSON-ready records, streamed from the database."""


class QueryEnginePort(Protocol):
    """Turns SOQL text into prepared queries (raising Salesforce-shaped errors)."""

    def prepare(self, soql: str, *, include_deleted: bool, now: datetime, api_version: str,
                bulk: bool = False) -> PreparedQueryPort:
        """Parse and compile one statement."""


class ReadConnections(Protocol):
    """Where readers get their own database connection."""

    def read_connection(self) -> sqlite3.Connection:
        """A new connection for reading (the caller closes it)."""


class StorePort(ReadConnections, Protocol):
    """The org's records."""

    def create(self, sobject: str, values: dict[str, Any], *, user_id: str) -> str:
        """Insert a record; its new Id."""

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *,
               user_id: str) -> None:
        """Change fields of a record."""

    def delete(self, sobject: str, record_id: str, *, user_id: str) -> None:
        """Delete a record (to the recycle bin)."""

    def get(self, sobject: str, record_id: str, fields: list[str] | None = None, *,
            api_version: str) -> dict[str, Any]:
        """One record as REST returns it."""

    def upsert(self, sobject: str, ext_field: str, ext_value: Any, values: dict[str, Any], *,
               user_id: str) -> tuple[str, bool]:
        """Insert or update by external Id: ``(id, created)``."""

    def transaction(self) -> AbstractContextManager[Any]:
        """All writes inside commit together or not at all."""
