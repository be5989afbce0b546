"""Standard rollups Salesforce keeps on a parent: Opportunity.Amount from its line items.

Salesforce's Opportunity reference, field Amount: "For opportunities with products,
the amount is the sum of the related products. Any attempt to update this field, if
the record has products, will be ignored. The update call will not be rejected, and
other fields will be updated as specified, but the Amount will be unchanged."
(developer.salesforce.com, Object Reference, Opportunity.) The local org does the
same: every write of a line item (create, update, delete, and a cascade from a
deleted opportunity) sets its opportunity's Amount to Σ TotalPrice of its live line
items and stamps the opportunity as modified when the Amount changed; a write to
Amount while the opportunity has line items keeps the rolled-up value. When the last
line item goes the Amount is 0 (the sum of none).

These are standard-object behaviours, not schema data: each rollup applies when the
schema has both objects and all the named fields.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sfrenew.localorg.schema import OrgSchema
from sfrenew.localorg.tables import quote

_IN_CHUNK = 500


@dataclass(frozen=True)
class Rollup:
    """``parent.field`` = Σ ``child.summed`` over the live children linked by ``lookup``."""

    parent: str
    field: str
    child: str
    lookup: str
    summed: str
    scale: int = 2


STANDARD_ROLLUPS = (
    Rollup(parent="Opportunity", field="Amount", child="OpportunityLineItem",
           lookup="OpportunityId", summed="TotalPrice"),
)


class Rollups:
    """The rollups a schema supports, applied on one SQLite connection."""

    def __init__(self, conn: sqlite3.Connection, schema: OrgSchema) -> None:
        self._conn = conn
        self._by_child: dict[str, list[Rollup]] = {}
        self._by_parent: dict[str, list[Rollup]] = {}
        for rollup in STANDARD_ROLLUPS:
            parent, child = schema.object(rollup.parent), schema.object(rollup.child)
            if parent is None or child is None or parent.field(rollup.field) is None \
                    or child.field(rollup.lookup) is None or child.field(rollup.summed) is None:
                continue
            field = parent.field(rollup.field)
            assert field is not None
            fixed = Rollup(parent.name, field.name, child.name, rollup.lookup, rollup.summed,
                           field.scale or 0)
            self._by_child.setdefault(child.name.lower(), []).append(fixed)
            self._by_parent.setdefault(parent.name.lower(), []).append(fixed)

    def of_child(self, sobject: str) -> list[Rollup]:
        """The rollups a write of ``sobject`` records feeds."""
        return self._by_child.get(sobject.lower(), [])

    def keep_rolled_up(self, sobject: str, record_id: str, record: dict[str, Any],
                       before: dict[str, Any], *, given: Iterable[str]) -> None:
        """Undo a write to a rolled-up field of a parent that has children (ignored, as
        Salesforce ignores it: the call succeeds and the other fields change)."""
        rollups = self._by_parent.get(sobject.lower())
        if not rollups:
            return
        written = set(given)
        for rollup in rollups:
            if rollup.field in written and self._has_children(rollup, record_id):
                record[rollup.field] = before.get(rollup.field)

    def _has_children(self, rollup: Rollup, parent_id: str) -> bool:
        row = self._conn.execute(
            f"SELECT 1 FROM {quote(rollup.child)} WHERE {quote(rollup.lookup)} = ? "  # noqa: S608
            'AND "IsDeleted" = 0 LIMIT 1', (parent_id,)).fetchone()
        return row is not None

    def refresh(self, sobject: str, parent_ids: Iterable[Any], *, stamp: str | None,
                user_id: str | None = None) -> None:
        """Recompute the rollups ``sobject`` feeds for these parents.

        With a ``stamp``, a parent whose value changed is stamped modified at that time
        (by ``user_id``); without one (bulk seeding) only the value is set.
        """
        ids = sorted({str(p) for p in parent_ids if p})
        for rollup in self.of_child(sobject):
            for start in range(0, len(ids), _IN_CHUNK):
                self._refresh_chunk(rollup, ids[start:start + _IN_CHUNK], stamp=stamp,
                                    user_id=user_id)

    def _refresh_chunk(self, rollup: Rollup, ids: list[str], *, stamp: str | None,
                       user_id: str | None) -> None:
        marks = ", ".join("?" for _ in ids)
        sums: dict[str, Decimal] = dict.fromkeys(ids, Decimal(0))
        for parent_id, value in self._conn.execute(
                f"SELECT {quote(rollup.lookup)}, {quote(rollup.summed)} FROM "  # noqa: S608
                f"{quote(rollup.child)} WHERE {quote(rollup.lookup)} IN ({marks}) "
                'AND "IsDeleted" = 0', ids):
            if value is not None:
                sums[str(parent_id)] += Decimal(str(value))
        quantum = Decimal(1).scaleb(-rollup.scale)
        current = dict(self._conn.execute(
            f'SELECT "Id", {quote(rollup.field)} FROM {quote(rollup.parent)} '  # noqa: S608
            f'WHERE "Id" IN ({marks}) AND "IsDeleted" = 0', ids).fetchall())
        for parent_id, old in current.items():
            new = float(sums[str(parent_id)].quantize(quantum, rounding=ROUND_HALF_UP))
            if old is not None and float(old) == new:
                continue
            if stamp is None:
                self._conn.execute(
                    f"UPDATE {quote(rollup.parent)} SET {quote(rollup.field)} = ? "  # noqa: S608
                    'WHERE "Id" = ?', (new, parent_id))
            else:
                self._conn.execute(
                    f"UPDATE {quote(rollup.parent)} SET {quote(rollup.field)} = ?, "  # noqa: S608
                    '"SystemModstamp" = ?, "LastModifiedDate" = ?, '
                    '"LastModifiedById" = COALESCE(?, "LastModifiedById") WHERE "Id" = ?',
                    (new, stamp, stamp, user_id, parent_id))
