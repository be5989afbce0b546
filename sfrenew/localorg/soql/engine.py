"""The SOQL engine the local org's server calls: prepare once, then count and stream.

Records are streamed from a cursor in batches; child subqueries run once per batch
of parent rows (``fk IN (...)``), so memory stays bounded by the batch size whatever
the result size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sfrenew.localorg.schema import OrgSchema
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._plan import ChildPlan, CompiledQuery
from sfrenew.localorg.soql.columns import column_metadata
from sfrenew.localorg.soql.compiler import compile_statement
from sfrenew.localorg.soql.parser import parse
from sfrenew.localorg.soql.render import FlatColumn, RecordNode, flat_row, render

BATCH_SIZE = 500  # parent rows fetched per round trip; also bounds the child IN list
_AGGREGATE_ATTRIBUTES = {"type": "AggregateResult"}


class QueryEngine:
    """Prepares SOQL statements against one org schema."""

    def __init__(self, schema: OrgSchema) -> None:
        self.schema = schema

    def prepare(self, soql: str, *, include_deleted: bool, now: datetime, api_version: str,
                bulk: bool = False) -> PreparedQuery:
        """Parse and check a statement; raises SalesforceApiError as Salesforce would.

        ``now`` (timezone-aware) fixes TODAY and the other relative date literals;
        ``include_deleted`` is queryAll; ``bulk`` applies Bulk API 2.0's restrictions.
        """
        query = parse(soql)
        today = now.astimezone(UTC).date()
        compiled = compile_statement(self.schema, query, soql=soql, today=today,
                                     include_deleted=include_deleted, api_version=api_version,
                                     bulk=bulk)
        return PreparedQuery(compiled, query=query, schema=self.schema)


class PreparedQuery:
    """A checked, compiled statement; run it on any connection to the org's database."""

    def __init__(self, compiled: CompiledQuery, *, query: ast.Query | None = None,
                 schema: OrgSchema | None = None) -> None:
        self._c = compiled
        self._query = query
        self._schema = schema
        self.object_name = compiled.object_name
        self.is_count_query = compiled.is_count_query

    @property
    def sql(self) -> str:
        """The main SQL statement (for debugging and tests)."""
        return self._c.sql

    @property
    def params(self) -> list[Any]:
        """The parameters of ``sql``."""
        return list(self._c.params)

    def column_metadata(self) -> dict[str, Any]:
        """The ``query?columns=true`` answer (see ``soql/columns.py``)."""
        assert self._query is not None  # set by the engine
        assert self._schema is not None
        return column_metadata(self._schema, self._query, self._c)

    def total_size(self, conn: sqlite3.Connection) -> int:
        """What the response's ``totalSize`` reports (LIMIT and OFFSET applied)."""
        c = self._c
        (count,) = conn.execute(c.count_sql, c.count_params).fetchone()
        count = max(0, int(count) - c.offset)
        return count if c.limit is None else min(count, c.limit)

    def records(self, conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        """The result records in Salesforce's JSON shape, streamed."""
        c = self._c
        if c.is_count_query:
            return
        cursor = conn.execute(c.sql, c.params)
        try:
            if c.is_aggregate:
                yield from self._aggregate_rows(cursor)
                return
            root = c.root
            assert root is not None
            no_children: list[dict[Any, Any]] = []
            while rows := cursor.fetchmany(BATCH_SIZE):
                children = ([_fetch_children(conn, plan, parent_ids=[r[0] for r in rows])
                             for plan in c.children] if c.children else no_children)
                for row in rows:
                    record = render(root, row, children=children)
                    assert record is not None
                    yield record
        finally:
            cursor.close()

    def _aggregate_rows(self, cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
        items = self._c.aggregate_items
        while rows := cursor.fetchmany(BATCH_SIZE):
            for row in rows:
                record: dict[str, Any] = {"attributes": dict(_AGGREGATE_ATTRIBUTES)}
                for key, index, conv in items:
                    value = row[index]
                    record[key] = value if conv is None or value is None else conv(value)
                yield record

    def flat_columns(self) -> list[str]:
        """Bulk CSV headers (``Account.Name`` for parent fields)."""
        return [column.header for column in self._c.flat]

    def flat_row(self, record: dict[str, Any]) -> list[str]:
        """Bulk CSV cells for one record from ``records()`` ("" for null)."""
        return flat_row(self._c.flat, record)

    @property
    def flat_spec(self) -> list[FlatColumn]:
        """The flat columns with their value paths and types."""
        return list(self._c.flat)


def _fetch_children(conn: sqlite3.Connection, plan: ChildPlan, *,
                    parent_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Child records for a batch of parents, as ``{parent Id: subquery result}``."""
    marks = ", ".join("?" * len(parent_ids))
    sql = f"{plan.select_sql} IN ({marks}){plan.order_sql}"
    grouped: dict[str, list[dict[str, Any]]] = {}
    node: RecordNode = plan.node
    for row in conn.execute(sql, [*plan.where_params, *parent_ids, *plan.order_params]):
        record = render(node, row, children=())
        if record is not None:
            grouped.setdefault(row[plan.fk_index], []).append(record)
    result: dict[str, dict[str, Any]] = {}
    for parent_id, records in grouped.items():
        end = None if plan.limit is None else plan.offset + plan.limit
        page = records[plan.offset:end]
        if page:
            result[parent_id] = {"totalSize": len(page), "done": True, "records": page}
    return result
