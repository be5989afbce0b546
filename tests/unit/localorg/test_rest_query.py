"""Query paging and cursors with a stub engine over a real SQLite table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.rest_query import CursorRegistry, QueryResource, batch_size
from sfrenew.localorg.routes import Call
from sfrenew.localorg.sessions import Session
from sfrenew.localorg.wire import Request
from tests.clock import now


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Prepared:
    is_count_query = False
    object_name = "T"

    def column_metadata(self) -> dict[str, Any]:
        return {"columnMetadata": [], "entityName": "T"}

    def total_size(self, conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0])

    def records(self, conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        cursor = conn.execute("SELECT n FROM t ORDER BY n")
        try:
            while rows := cursor.fetchmany(100):
                for (n,) in rows:
                    yield {"attributes": {"type": "T"}, "N": n}
        finally:
            cursor.close()


class Engine:
    def prepare(self, soql: str, *, include_deleted: bool, now: datetime, api_version: str,
                bulk: bool = False) -> Prepared:
        return Prepared()


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = 0
        self.connections: list[sqlite3.Connection] = []

    def read_connection(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        self.connections.append(conn)
        return conn

    def transaction(self) -> AbstractContextManager[Any]:
        return nullcontext()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "t.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(4500)])
    conn.close()
    s = Store(path)
    yield s
    for c in s.connections:
        c.close()


def _call(target: str, args: dict[str, str] | None = None,
          headers: dict[str, str] | None = None, user: str = "005A") -> Call:
    issued = now()  # the suite's pinned clock
    session = Session(token="t", user_id=user, username="u", issued_at=issued,
                      expires_at=issued + timedelta(hours=1))
    return Call(request=Request.build(method="GET", target=target, headers=headers or {}),
                session=session, version="59.0", args=args or {})


def _resource(store: Store, clock: Clock, **kwargs: Any) -> tuple[QueryResource, CursorRegistry]:
    cursors = CursorRegistry(clock=clock, **kwargs)
    return QueryResource(engine=Engine(), store=store, cursors=cursors, clock=clock), cursors


def _locator(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_pages_until_done_and_cursor_released(store: Store) -> None:
    resource, cursors = _resource(store, Clock())
    page = resource.query(_call("/query?q=x")).json_body()
    seen = [r["N"] for r in page["records"]]
    while not page["done"]:
        page = resource.more(_call("", {"locator": _locator(page["nextRecordsUrl"])})).json_body()
        seen += [r["N"] for r in page["records"]]
    assert seen == list(range(4500))
    assert len(cursors) == 0
    assert all(_closed(c) for c in store.connections)


def _closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_idle_cursors_expire(store: Store) -> None:
    clock = Clock()
    resource, cursors = _resource(store, clock, idle=timedelta(minutes=15))
    page = resource.query(_call("/query?q=x")).json_body()
    clock.now += timedelta(minutes=16)
    with pytest.raises(SalesforceApiError) as failure:
        resource.more(_call("", {"locator": _locator(page["nextRecordsUrl"])}))
    assert failure.value.errors[0].error_code == "INVALID_QUERY_LOCATOR"
    assert len(cursors) == 0


def test_cursor_cap_is_per_user(store: Store) -> None:
    resource, cursors = _resource(store, Clock(), max_per_user=2)
    first = resource.query(_call("/query?q=x")).json_body()
    resource.query(_call("/query?q=x", user="005B"))
    resource.query(_call("/query?q=x"))
    resource.query(_call("/query?q=x"))
    assert len(cursors) == 3
    with pytest.raises(SalesforceApiError):
        resource.more(_call("", {"locator": _locator(first["nextRecordsUrl"])}))
    cursors.close_all()


def test_skipping_ahead_and_going_back(store: Store) -> None:
    resource, cursors = _resource(store, Clock())
    page = resource.query(_call("/query?q=x")).json_body()
    locator = _locator(page["nextRecordsUrl"]).split("-")[0]
    later = resource.more(_call("", {"locator": f"{locator}-3000"})).json_body()
    assert later["records"][0]["N"] == 3000
    assert later["done"] is True
    resource2, _ = resource, cursors
    page = resource2.query(_call("/query?q=x")).json_body()
    locator = _locator(page["nextRecordsUrl"]).split("-")[0]
    resource2.more(_call("", {"locator": f"{locator}-2000"}))
    back = resource2.more(_call("", {"locator": f"{locator}-2000"})).json_body()
    assert back["records"][0]["N"] == 2000
    cursors.close_all()


@pytest.mark.parametrize(("header", "size"), [
    (None, 2000), ("batchSize=500", 500), ("batchSize=1", 200), ("batchSize=9999", 2000),
    ("foo", 2000), ("BatchSize = 300", 300),
])
def test_batch_size(header: str | None, size: int) -> None:
    assert batch_size(header) == size
