"""Data replication: ``sobjects/{Type}/updated`` and ``sobjects/{Type}/deleted``.

As documented (REST API Developer Guide, "sObject Get Updated" and "sObject Get
Deleted", resources_getupdated.htm / resources_getdeleted.htm):

* ``start`` and ``end`` are UTC date-times; seconds are ignored (both are truncated
  to the minute), ``start`` must be before ``end`` and no more than 30 days before
  now, else 400 ``INVALID_REPLICATION_DATE``;
* records count by ``SystemModstamp`` (updated: live records added or changed in
  ``[start, end]``; deleted: records whose deletion falls there);
* ``latestDateCovered`` is ``end`` (truncated), or now when ``end`` is in the future
  (the answer then holds every write so far);
  more than 600,000 Ids is 400 ``EXCEEDED_ID_LIMIT``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import ReadConnections
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import OrgSchema, SObjectSchema
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.tables import quote
from sfrenew.localorg.values import format_datetime, parse_datetime
from sfrenew.localorg.wire import Response, not_found

MAX_IDS = 600_000
MAX_AGE = timedelta(days=30)


def _replication_error(message: str) -> SalesforceApiError:
    return SalesforceApiError.single(400, "INVALID_REPLICATION_DATE", message)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class ReplicationResource:
    """Handlers for ``sobjects/{Type}/updated`` and ``/deleted``."""

    def __init__(self, *, store: ReadConnections, schema: OrgSchema, clock: Clock) -> None:
        self._store = store
        self._schema = schema
        self._clock = clock

    def updated(self, call: Call) -> Response:
        """``GET sobjects/{Type}/updated/?start=&end=``."""
        obj, start, end, covered = self._window(call)
        rows = self._rows(obj, deleted=False, start=start, end=end)
        return Response.json(200, {"ids": [row[0] for row in rows],
                                   "latestDateCovered": format_datetime(covered)})

    def deleted(self, call: Call) -> Response:
        """``GET sobjects/{Type}/deleted/?start=&end=``."""
        obj, start, end, covered = self._window(call)
        rows = self._rows(obj, deleted=True, start=start, end=end)
        earliest = self._earliest_deletion(obj)
        body: dict[str, Any] = {
            "deletedRecords": [{"id": row[0], "deletedDate": row[1]} for row in rows],
            "earliestDateAvailable": earliest or format_datetime(covered),
            "latestDateCovered": format_datetime(covered),
        }
        return Response.json(200, body)

    def _window(self, call: Call) -> tuple[SObjectSchema, str, str, datetime]:
        obj = self._schema.object(call.args["type"])
        if obj is None:
            raise not_found()
        texts = {name: call.request.param(name) for name in ("start", "end")}
        bounds: dict[str, datetime] = {}
        for name, text in texts.items():
            if not text:
                raise SalesforceApiError.single(
                    400, "MISSING_ARGUMENT", f"Missing required parameter: {name}")
            try:
                bounds[name] = _minute(parse_datetime(text))
            except ValueError as exc:
                raise SalesforceApiError.single(
                    400, "INVALID_DATE_FORMAT",
                    f"{name}: {text} is not a valid value for the type xsd:dateTime") from exc
        now = self._clock()
        start, end = bounds["start"], bounds["end"]
        if end <= start:
            raise _replication_error("startDate must chronologically precede endDate by "
                                     "more than one minute")
        if start < _minute(now) - MAX_AGE:
            raise _replication_error("startDate cannot be more than 30 days ago")
        # The window is [start, end) to the minute; when end lies in the future, what it
        # covers ends now (every write so far is in the answer).
        covered = min(end, now)
        return obj, format_datetime(start), format_datetime(end), covered

    def _rows(self, obj: SObjectSchema, *, deleted: bool, start: str, end: str
              ) -> list[tuple[str, str]]:
        conn = self._store.read_connection()
        try:
            rows = conn.execute(
                f'SELECT "Id", "SystemModstamp" FROM {quote(obj.name)} '  # noqa: S608
                'WHERE "IsDeleted" = ? AND "SystemModstamp" >= ? AND "SystemModstamp" < ? '
                'ORDER BY "SystemModstamp", "Id" LIMIT ?',
                (1 if deleted else 0, start, end, MAX_IDS + 1)).fetchall()
        finally:
            conn.close()
        if len(rows) > MAX_IDS:
            raise SalesforceApiError.single(
                400, "EXCEEDED_ID_LIMIT",
                "Too many ids were requested. Please choose a smaller date range")
        return [(str(r[0]), str(r[1])) for r in rows]

    def _earliest_deletion(self, obj: SObjectSchema) -> str | None:
        conn = self._store.read_connection()
        try:
            row = conn.execute(
                f'SELECT MIN("SystemModstamp") FROM {quote(obj.name)} '  # noqa: S608
                'WHERE "IsDeleted" = 1').fetchone()
        finally:
            conn.close()
        return str(row[0]) if row and row[0] else None
