"""Engines for the two supported backends, and the two kinds of transaction the store uses.

SQLite: WAL (readers never block the writer), ``synchronous=NORMAL`` (durable at
checkpoints, safe against application crashes, which is what a ``kill -9`` is),
foreign keys on, and a busy timeout. Python's sqlite3 module does not emit BEGIN
before DDL or SELECT, which would break transactional migrations and consistent
reads, so SQLAlchemy is made to emit BEGIN itself (the documented recipe), and
writing transactions use ``BEGIN IMMEDIATE`` so they take the write lock up front
instead of failing half way with "database is locked".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL

from sfrenew.store.errors import StoreConfigurationError, StoreMissing

BUSY_TIMEOUT_MS = 10_000
_WRITE = "sfrenew_write"


def _sqlite_engine(url: URL, *, create: bool) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise StoreConfigurationError(
            "store.url must name a SQLite file (e.g. sqlite:///.state/sfrenew.sqlite3); "
            "an in-memory database would forget everything at exit")
    path = Path(database)
    if not path.exists():
        if not create:
            raise StoreMissing(f"no state store at {path} (store.url {url})")
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(url: str, *, create: bool) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://…``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, create=create)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            # A bare postgresql:// would mean psycopg2 to SQLAlchemy; psycopg 3 is ours.
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_driver_name() != "psycopg":
            raise StoreConfigurationError(
                f"store.url {parsed!r}: use the psycopg 3 driver (postgresql+psycopg://…)")
        # pre-ping: a replica's pooled connection may have been cut by a failover.
        return create_engine(parsed, pool_pre_ping=True)
    raise StoreConfigurationError(
        f"store.url {parsed!r}: only sqlite:/// and postgresql+psycopg:// are supported")


def describe(engine: Engine) -> str:
    """Where the store is, for messages (password hidden)."""
    return engine.url.render_as_string(hide_password=True)


class Database:
    """The engine plus the two transaction shapes every store module uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes: committed on success, rolled back on error."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (one consistent snapshot on both backends)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn
