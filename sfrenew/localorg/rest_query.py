"""``query`` and ``queryAll``: SOQL over REST with server-side cursors.

The first call runs the statement and answers up to one page (2,000 rows, or the
``Sforce-Query-Options: batchSize=N`` the client asked for, 200..2000). When more
rows remain, the streaming record iterator stays open on its own read connection
in a :class:`QueryCursor`, and the answer carries ``nextRecordsUrl``
(``/services/data/vNN.0/query/01g...-2000``). Each further page pulls the next rows
from that iterator, so memory never grows with the size of a result.

As in Salesforce, a user holds at most ``max_per_user`` cursors (opening one more
releases that user's least recently used), and a cursor idle for 15 minutes is
released; a released or unknown locator answers 400 ``INVALID_QUERY_LOCATOR``.
"""

from __future__ import annotations

import itertools
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import make_id
from sfrenew.localorg.ports import PreparedQueryPort, QueryEnginePort, ReadConnections
from sfrenew.localorg.routes import Call
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.wire import Response

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
DEFAULT_CURSOR_IDLE = timedelta(minutes=15)
DEFAULT_CURSORS_PER_USER = 10
_LOCATOR = re.compile(r"^(01g[0-9A-Za-z]{15})-(\d+)$")
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
# "By default, SOQL statements can't exceed 100,000 characters" (Salesforce App Limits
# Cheatsheet, "SOQL and SOSL Limits for Search Queries"). Only statements sent in a body
# (composite, Bulk query jobs) can reach it: a GET URI is refused at 16,384 bytes first.
MAX_SOQL_LENGTH = 100_000


def check_soql_length(soql: str) -> None:
    """400 MALFORMED_QUERY for a statement longer than Salesforce accepts."""
    if len(soql) > MAX_SOQL_LENGTH:
        raise SalesforceApiError.single(
            400, "MALFORMED_QUERY",
            f"SOQL statements cannot be longer than {MAX_SOQL_LENGTH:,} characters; this one "
            f"has {len(soql):,}")


def invalid_locator() -> SalesforceApiError:
    """Salesforce's answer for an unknown, exhausted or released query locator."""
    return SalesforceApiError.single(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def batch_size(header: str | None) -> int:
    """The page size asked for by ``Sforce-Query-Options``, clamped to 200..2000."""
    if not header:
        return DEFAULT_BATCH_SIZE
    match = _BATCH_SIZE.search(header)
    if match is None:
        return DEFAULT_BATCH_SIZE
    # Salesforce treats the value as a hint: it may return more than asked (never
    # fewer than 200), and never more than 2,000.
    return min(max(int(match.group(1)), MIN_BATCH_SIZE), DEFAULT_BATCH_SIZE)


_END: Any = object()


@dataclass
class QueryCursor:
    """An open result: its record stream, its read connection and where the client is."""

    locator: str
    user_id: str
    prepared: PreparedQueryPort
    conn: sqlite3.Connection
    rows: Iterator[dict[str, Any]]
    total_size: int
    last_used: datetime
    position: int = 0  # rows handed out so far
    pending: dict[str, Any] | None = None  # the row peeked at to know whether more remain
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def take(self, count: int) -> tuple[list[dict[str, Any]], bool]:
        """The next ``count`` rows and whether the result is exhausted after them."""
        page: list[dict[str, Any]] = []
        if self.pending is not None:
            page.append(self.pending)
            self.pending = None
        page.extend(itertools.islice(self.rows, count - len(page)))
        following = next(self.rows, _END)
        if following is not _END:
            self.pending = following
        self.position += len(page)
        return page, following is _END

    def rewind_to(self, offset: int) -> None:
        """Reposition to ``offset`` (a retried or skipped page), re-running if needed."""
        if offset < self.position:
            _close_iterator(self.rows)
            self.rows = iter(self.prepared.records(self.conn))
            self.pending = None
            self.position = 0
        skip = offset - self.position
        if skip and self.pending is not None:
            self.pending = None
            self.position += 1
            skip -= 1
        if skip:
            self.position += sum(1 for _ in itertools.islice(self.rows, skip))

    def close(self) -> None:
        """Release the record stream, then its connection (idempotent)."""
        if self.closed:
            return
        self.closed = True
        # The stream's own cleanup uses the connection, so it must run first.
        _close_iterator(self.rows)
        self.conn.close()


def _close_iterator(rows: Iterator[dict[str, Any]]) -> None:
    close = getattr(rows, "close", None)
    if callable(close):
        close()


class CursorRegistry:
    """Open query cursors by locator, with per-user caps and idle expiry. Thread-safe."""

    def __init__(self, *, clock: Clock, idle: timedelta = DEFAULT_CURSOR_IDLE,
                 max_per_user: int = DEFAULT_CURSORS_PER_USER) -> None:
        self._clock = clock
        self._idle = idle
        self._max_per_user = max_per_user
        self._lock = threading.Lock()
        self._cursors: dict[str, QueryCursor] = {}
        self._counter = itertools.count(1)

    def new_locator(self) -> str:
        """A fresh 18-character ``01g`` locator."""
        with self._lock:
            return make_id("01g", next(self._counter))

    def register(self, cursor: QueryCursor) -> None:
        """Keep a cursor open, releasing the user's oldest beyond the cap."""
        cursor.last_used = self._clock()
        released: list[QueryCursor] = []
        with self._lock:
            released += self._take_expired(cursor.last_used)
            mine = sorted((c for c in self._cursors.values() if c.user_id == cursor.user_id),
                          key=lambda c: c.last_used)
            while len(mine) >= self._max_per_user:
                oldest = mine.pop(0)
                released.append(self._cursors.pop(oldest.locator))
            self._cursors[cursor.locator] = cursor
        self._close_all(released)

    def get(self, locator: str) -> QueryCursor:
        """The live cursor of a locator; 400 INVALID_QUERY_LOCATOR otherwise."""
        now = self._clock()
        with self._lock:
            released = self._take_expired(now)
            cursor = self._cursors.get(locator)
            if cursor is not None:
                cursor.last_used = now
        self._close_all(released)
        if cursor is None:
            raise invalid_locator()
        return cursor

    def release(self, locator: str) -> None:
        """Forget and close one cursor (its last page was served)."""
        with self._lock:
            cursor = self._cursors.pop(locator, None)
        if cursor is not None:
            with cursor.lock:
                cursor.close()

    def expire_idle(self) -> int:
        """Release cursors idle for longer than the idle timeout; how many were."""
        with self._lock:
            released = self._take_expired(self._clock())
        self._close_all(released)
        return len(released)

    def close_all(self) -> None:
        """Release every cursor (the org is stopping or being reset)."""
        with self._lock:
            released = list(self._cursors.values())
            self._cursors.clear()
        self._close_all(released)

    def __len__(self) -> int:
        with self._lock:
            return len(self._cursors)

    def _take_expired(self, now: datetime) -> list[QueryCursor]:
        expired = [c for c in self._cursors.values()
                   if now - c.last_used > self._idle]
        for cursor in expired:
            del self._cursors[cursor.locator]
        return expired

    @staticmethod
    def _close_all(cursors: list[QueryCursor]) -> None:
        for cursor in cursors:
            # Wait for a page being served from it to finish before closing.
            with cursor.lock:
                cursor.close()


class QueryResource:
    """Handlers for ``query``, ``queryAll`` and their locators."""

    def __init__(self, *, engine: QueryEnginePort, store: ReadConnections,
                 cursors: CursorRegistry, clock: Clock) -> None:
        self._engine = engine
        self._store = store
        self._cursors = cursors
        self._clock = clock

    def query(self, call: Call) -> Response:
        """``GET query?q=``."""
        return self._first_page(call, include_deleted=False)

    def query_all(self, call: Call) -> Response:
        """``GET queryAll?q=`` (deleted and archived rows included)."""
        return self._first_page(call, include_deleted=True)

    def more(self, call: Call) -> Response:
        """``GET query/{locator}-{offset}`` (also under ``queryAll/``)."""
        match = _LOCATOR.match(call.args["locator"])
        if match is None:
            raise invalid_locator()
        locator, offset = match.group(1), int(match.group(2))
        cursor = self._cursors.get(locator)
        size = batch_size(call.request.header("sforce-query-options"))
        with cursor.lock:
            if cursor.closed:
                raise invalid_locator()
            if offset > cursor.total_size:
                raise invalid_locator()
            cursor.rewind_to(offset)
            page, done = cursor.take(size)
            body = self._page_body(call, total=cursor.total_size, page=page, done=done,
                                   locator=cursor.locator, position=cursor.position)
        if done:
            self._cursors.release(locator)
        return Response.json(200, body)

    def _first_page(self, call: Call, *, include_deleted: bool) -> Response:
        explain = call.request.param("explain")
        if explain is not None and call.request.param("q") is None:
            return self._explain(call, explain)
        soql = call.request.param("q")
        if soql is None or not soql.strip():
            raise SalesforceApiError.single(400, "MALFORMED_QUERY",
                                            "A query string has to be specified")
        check_soql_length(soql)
        prepared = self._engine.prepare(soql, include_deleted=include_deleted,
                                        now=self._clock(), api_version=call.version)
        if (call.request.param("columns") or "").lower() == "true":
            return Response.json(200, prepared.column_metadata())
        size = batch_size(call.request.header("sforce-query-options"))
        conn = self._store.read_connection()
        handed_off = False  # once the registry owns the cursor, it closes the connection
        try:
            total = prepared.total_size(conn)
            if prepared.is_count_query:
                return Response.json(200, {"totalSize": total, "done": True, "records": []})
            cursor = QueryCursor(locator="", user_id=call.session.user_id, prepared=prepared,
                                 conn=conn, rows=iter(prepared.records(conn)), total_size=total,
                                 last_used=self._clock())
            try:
                page, done = cursor.take(size)
            except BaseException:
                _close_iterator(cursor.rows)
                raise
            if done:
                _close_iterator(cursor.rows)
                return Response.json(200, self._page_body(call, total=total, page=page, done=True))
            if page and page[0].get("attributes", {}).get("type") == "AggregateResult":
                _close_iterator(cursor.rows)
                raise SalesforceApiError.single(
                    400, "EXCEEDED_ID_LIMIT", "Aggregate query does not support queryMore(), "
                    "use LIMIT to restrict the results to a single batch")
            cursor.locator = self._cursors.new_locator()
            body = self._page_body(call, total=total, page=page, done=False,
                                   locator=cursor.locator, position=cursor.position)
            self._cursors.register(cursor)
            handed_off = True
            log.debug("query cursor %s opened (%d rows)", cursor.locator, total)
            return Response.json(200, body)
        finally:
            if not handed_off:
                conn.close()

    def _explain(self, call: Call, soql: str) -> Response:
        """``GET query?explain=``: the statement's query plan.

        Salesforce answers ``{"plans": [...], "sourceQuery"}`` with one plan per
        candidate access path, cheapest first (REST API Developer Guide, "Get Feedback
        on Query Performance"). The local org has no indexes besides the Id, so it
        answers the one plan it runs: a ``TableScan`` whose cardinality is the row count
        the statement selects, and whose relative cost is that count over the object's
        live rows (Salesforce calls a plan selective below 1.0). Report and list view
        Ids are refused with 400 ``MALFORMED_QUERY``: the org has neither.
        """
        if not soql.strip():
            raise SalesforceApiError.single(400, "MALFORMED_QUERY",
                                            "A query string has to be specified")
        check_soql_length(soql)
        prepared = self._engine.prepare(soql, include_deleted=False, now=self._clock(),
                                        api_version=call.version)
        # SOQL for the org's engine; the name comes from the schema.
        everything = self._engine.prepare(f"SELECT COUNT() FROM {prepared.object_name}",  # noqa: S608
                                          include_deleted=False, now=self._clock(),
                                          api_version=call.version)
        conn = self._store.read_connection()
        try:
            cardinality = prepared.total_size(conn)
            sobject_cardinality = everything.total_size(conn)
        finally:
            conn.close()
        plan = {
            "cardinality": cardinality,
            "fields": [],
            "leadingOperationType": "TableScan",
            "notes": [],
            "relativeCost": round(cardinality / max(sobject_cardinality, 1), 4),
            "sobjectCardinality": sobject_cardinality,
            "sobjectType": prepared.object_name,
        }
        return Response.json(200, {"plans": [plan], "sourceQuery": soql})

    @staticmethod
    def _page_body(call: Call, *, total: int, page: list[dict[str, Any]], done: bool,
                   locator: str = "", position: int = 0) -> dict[str, Any]:
        body: dict[str, Any] = {"totalSize": total, "done": done}
        if not done:
            body["nextRecordsUrl"] = f"{call.base}/query/{locator}-{position}"
        body["records"] = page
        return body

