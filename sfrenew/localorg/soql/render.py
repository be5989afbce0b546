"""Turning SQL rows into Salesforce's JSON records, and records into Bulk CSV cells.

A render plan is built once per query; rendering a row is then a loop over
precomputed (key, column, converter) entries, which keeps the hot path cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sfrenew.localorg.schema import FieldType

FIELD, PARENT, CHILD, TYPEOF = 0, 1, 2, 3

Converter = Callable[[Any], Any] | None


@dataclass
class RecordNode:
    """How to build one record (root, parent relationship or child record) from a row."""

    type_name: str
    url_prefix: str  # "/services/data/vNN.0/sobjects/Account/"
    id_index: int
    # (kind, key, column index | node | child number, converter)
    items: list[tuple[int, str, Any, Converter]] = field(default_factory=list)
    type_index: int | None = None  # polymorphic lookups: the column holding the sObject type

    def key_set(self) -> set[str]:
        """The keys already present (to detect duplicates)."""
        return {key.lower() for _, key, _, _ in self.items}

    def parent(self, key: str) -> RecordNode | None:
        """The nested node for a parent relationship key, if already present."""
        for kind, k, payload, _ in self.items:
            if kind == PARENT and k == key:
                assert isinstance(payload, RecordNode)
                return payload
        return None


def render(node: RecordNode, row: Sequence[Any], *,
           children: Sequence[dict[Any, Any]]) -> dict[str, Any] | None:
    """The JSON record for ``row``; None for a parent whose lookup is empty."""
    record_id = row[node.id_index]
    if record_id is None:
        return None
    if node.type_index is None:
        attributes = {"type": node.type_name, "url": node.url_prefix + record_id}
    else:
        type_name = row[node.type_index]
        attributes = {"type": type_name, "url": f"{node.url_prefix}{type_name}/{record_id}"}
    record: dict[str, Any] = {"attributes": attributes}
    for kind, key, payload, conv in node.items:
        if kind == FIELD:
            value = row[payload]
            record[key] = value if conv is None or value is None else conv(value)
        elif kind == PARENT:
            record[key] = render(payload, row, children=children)
        elif kind == TYPEOF:
            record[key] = render_typeof(payload, row)
        else:
            record[key] = children[payload].get(record_id)
    return record


@dataclass
class TypeOfNode:
    """A TYPEOF entry: the fields rendered depend on the related record's type."""

    url_prefix: str  # "/services/data/vNN.0/sobjects/"
    id_index: int
    type_index: int
    branches: dict[str, list[tuple[str, int, Converter]]]  # by sObject type
    else_items: list[tuple[str, int, Converter]]


def render_typeof(node: TypeOfNode, row: Sequence[Any]) -> dict[str, Any] | None:
    """The related record of a TYPEOF entry, or None when the lookup is empty."""
    record_id = row[node.id_index]
    if record_id is None:
        return None
    type_name = row[node.type_index]
    record: dict[str, Any] = {"attributes": {"type": type_name,
                                             "url": f"{node.url_prefix}{type_name}/{record_id}"}}
    for key, index, conv in node.branches.get(type_name, node.else_items):
        value = row[index]
        record[key] = value if conv is None or value is None else conv(value)
    return record


@dataclass(frozen=True)
class FlatColumn:
    """A Bulk CSV column: its header and the keys leading to its value in a record."""

    header: str
    keys: tuple[str, ...]
    type: FieldType | None  # None for aggregate values


def flat_cell(value: Any, ftype: FieldType | None) -> str:
    """A value as Bulk API 2.0 writes it in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if ftype is FieldType.DATETIME and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"  # Bulk CSV writes UTC datetimes with a Z
    return str(value)


def flat_row(columns: Sequence[FlatColumn], record: dict[str, Any]) -> list[str]:
    """The CSV cells of one record."""
    cells = []
    for column in columns:
        value: Any = record
        for key in column.keys:
            value = value.get(key) if isinstance(value, dict) else None
        cells.append(flat_cell(value, column.type))
    return cells
