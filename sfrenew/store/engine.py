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
from sqlalchemy.exc import ArgumentError, OperationalError

from sfrenew.store.errors import StoreConfigurationError, StoreMissing, StoreUnavailable

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
        make_state_dir(path.parent, setting="state_dir (or store.url)")
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


def make_state_dir(path: Path, *, setting: str = "state_dir") -> None:
    """Create ``path`` (and its parents), or say which setting names a folder that
    cannot be (StoreConfigurationError)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreConfigurationError(
            f"{setting}: cannot create the folder {path} ({exc.strerror or exc}); point "
            f"{setting} at a folder sfrenew may write to") from None


POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` (as hosting providers hand them out) as
    ``postgresql+psycopg://``, the driver sfrenew uses; any other URL as it is."""
    for scheme in POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def make_engine(url: str, *, create: bool) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://…``;
    ``postgres://`` is read as the latter)."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise StoreConfigurationError(
            f"store.url {url!r} is not a database URL: use sqlite:///path/to/file or "
            f"postgresql+psycopg://user@host:port/database") from None
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


# PostgreSQL SQLSTATEs that mean store.url is wrong, not that the server is away.
_CONFIG_SQLSTATES = {"3D000": "the database does not exist: create it (createdb NAME) or "
                              "fix the database name in store.url",
                     "28P01": "the password was refused: fix store.url",
                     "28000": "the login was refused: fix the user in store.url",
                     "3F000": "the schema in store.url's search_path does not exist: "
                              "create it or fix store.url"}


def connection_error(engine: Engine, exc: OperationalError,
                     ) -> StoreConfigurationError | StoreUnavailable:
    """What the user can do about a failed connection, with the URL (password hidden).

    libpq gives no SQLSTATE for a refused connection, but marks the server's own answer
    with its FATAL severity: the server was reached and refused (no such database, bad
    login) — store.url is wrong. Without it the server was not reached (down, DNS).
    """
    where = describe(engine)
    orig = exc.orig
    cause = str(orig).strip().splitlines()[0] if orig is not None else str(exc)
    state = getattr(orig, "sqlstate", None)
    if state in _CONFIG_SQLSTATES:
        return StoreConfigurationError(f"store.url {where}: {_CONFIG_SQLSTATES[state]} "
                                       f"({cause})")
    pgconn = getattr(orig, "pgconn", None)
    if b"FATAL:" in (getattr(pgconn, "error_message", b"") or b""):
        return StoreConfigurationError(
            f"store.url {where}: the database server refused the connection ({cause}): fix "
            f"the database name, user or password in store.url, or create the database "
            f"(createdb NAME)")
    return StoreUnavailable(f"cannot reach the state store at {where} ({cause}): check "
                            f"that the database server is up and reachable from here")


def libpq_conninfo(engine: Engine) -> str:
    """The engine's PostgreSQL database as a libpq connection string, password and
    ``options`` (such as a ``search_path``) kept: for clients that take one, such as
    procrastinate's connector. psycopg, the driver, is used here only."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415 - PostgreSQL only

    url = engine.url
    params: dict[str, Any] = {"host": url.host, "port": url.port, "dbname": url.database,
                              "user": url.username, "password": url.password,
                              **{k: v for k, v in url.query.items() if isinstance(v, str)}}
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


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
