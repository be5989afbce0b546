"""Schema versions: fresh create, forward migration, refusal of a newer version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import Connection, inspect, text

from sfrenew.store import (
    SCHEMA_VERSION,
    MigrationError,
    SchemaTooNew,
    StoreConfigurationError,
    StoreMissing,
    open_store,
)
from sfrenew.store import schema as tables
from sfrenew.store.engine import Database, make_engine
from sfrenew.store.migrations import Migration, prepare, read_version
from tests.store.conftest import NOW


@contextmanager
def raw(url: str) -> Iterator[Connection]:
    """A plain SQLAlchemy transaction on the store's database, to stage old states."""
    with Database(make_engine(url, create=True)) as db, db.write() as conn:
        yield conn


def version_of(url: str) -> int | None:
    engine = make_engine(url, create=True)
    try:
        with engine.connect() as conn:
            return read_version(conn)
    finally:
        engine.dispose()


def test_fresh_create_writes_current_version(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION == 3
    with open_store(store_url, create=False) as again:  # reopening changes nothing
        assert again.schema_version() == SCHEMA_VERSION


def test_create_false_refuses_an_empty_database(store_url: str) -> None:
    with pytest.raises(StoreMissing, match="no"):
        open_store(store_url, create=False)


def test_refuses_a_newer_version_with_a_clear_message(store_url: str) -> None:
    with open_store(store_url) as store:
        where = store.url
    with raw(store_url) as conn:
        conn.execute(tables.meta.update().values(value="7"))
    with pytest.raises(SchemaTooNew) as err:
        open_store(store_url)
    assert str(err.value) == (
        f"state store at {where} has schema version 7; this sfrenew understands up "
        "to 3 — upgrade sfrenew or point store.url at another database")
    assert version_of(store_url) == 7  # untouched


_V2_TABLES = ("mirror_changes", "plan_state")
_V3_TABLES = ("ledger_last", "ledger_keys")


def _stage_v0(url: str) -> None:
    """A made-up version 0: a meta table and watermarks kept as text in another table."""
    with raw(url) as conn:
        conn.execute(text("CREATE TABLE meta (name VARCHAR(64) PRIMARY KEY, value TEXT)"))
        conn.execute(text("INSERT INTO meta VALUES ('schema_version', '0')"))
        conn.execute(text("CREATE TABLE old_watermarks (object VARCHAR(80), stamp TEXT)"))
        conn.execute(text("INSERT INTO old_watermarks VALUES "
                          "('Contract', '2026-11-24T07:15:00+00:00')"))


def _v0_to_v1(conn: Connection) -> None:
    tables.metadata.create_all(conn, tables=[t for t in tables.metadata.sorted_tables
                                             if t.name not in ("meta", *_V2_TABLES, *_V3_TABLES)])
    for obj, stamp in conn.execute(text("SELECT object, stamp FROM old_watermarks")):
        conn.execute(tables.watermarks.insert().values(
            object=obj, value=datetime.fromisoformat(stamp)))
    conn.execute(text("DROP TABLE old_watermarks"))


def test_migrates_forward_through_registered_steps(store_url: str) -> None:
    _stage_v0(store_url)
    calls: list[int] = []

    def step(conn: Connection) -> None:
        calls.append(0)
        _v0_to_v1(conn)

    with Database(make_engine(store_url, create=True)) as db:
        before = prepare(db, create=True, target=1,
                         steps={0: Migration(0, "watermarks as datetimes", step)})
        assert before == 0
        assert prepare(db, create=True, target=1,
                       steps={0: Migration(0, "again", step)}) == 1  # nothing to do
    assert calls == [0]
    assert version_of(store_url) == 1
    with open_store(store_url, create=False) as store:  # then the real steps 1 -> 3
        assert store.schema_version() == 3
        assert store.get_watermark("Contract") == NOW
    assert version_of(store_url) == 3


def test_version_1_gains_the_plan_state_tables_empty(store_url: str) -> None:
    """Step 1 -> 2 (issue 19): the mirror's change markers and the plan state, empty, so
    the first plan after the upgrade is a full pass."""
    with Database(make_engine(store_url, create=True)) as db, db.write() as conn:
        tables.metadata.create_all(conn, tables=[
            t for t in tables.metadata.sorted_tables
            if t.name not in (*_V2_TABLES, *_V3_TABLES)])
        conn.execute(tables.meta.insert().values(name="schema_version", value="1"))
    with open_store(store_url, create=False) as store:
        assert store.schema_version() == 3
        assert store.mirror_version() == 0
        assert store.plan_meta() is None
    with raw(store_url) as conn:
        names = set(inspect(conn).get_table_names())
    assert set(_V2_TABLES) <= names


def test_failed_step_leaves_the_database_unchanged(store_url: str) -> None:
    _stage_v0(store_url)

    def broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("disk full")

    with Database(make_engine(store_url, create=True)) as db:
        with pytest.raises(MigrationError, match=r"from version 0 .*disk full"):
            prepare(db, create=True, target=1, steps={0: Migration(0, "broken", broken)})
        with db.engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
    assert "half_done" not in names  # transactional DDL on both backends
    assert "old_watermarks" in names
    assert version_of(store_url) == 0


def test_missing_step_is_reported(store_url: str) -> None:
    _stage_v0(store_url)
    with pytest.raises(MigrationError, match="no migration from it to 1"):
        open_store(store_url)


def test_refuses_foreign_tables_with_our_names(store_url: str) -> None:
    with raw(store_url) as conn:
        conn.execute(text("CREATE TABLE runs (id INTEGER)"))
    with pytest.raises(StoreConfigurationError, match="already has tables runs"):
        open_store(store_url)


def test_unsupported_urls_are_configuration_errors() -> None:
    with pytest.raises(StoreConfigurationError, match="only sqlite"):
        open_store("mysql://x@localhost/db")
    with pytest.raises(StoreConfigurationError, match="SQLite file"):
        open_store("sqlite://")
    with pytest.raises(StoreConfigurationError, match="psycopg 3"):
        open_store("postgresql+psycopg2://x@localhost/db")


@pytest.mark.postgres
def test_bare_postgresql_url_means_psycopg(pg_database: str) -> None:
    # The session database's public schema: no other test uses it.
    with open_store(pg_database.replace("postgresql+psycopg://", "postgresql://")) as store:
        assert store.url.startswith("postgresql+psycopg://")


def test_sqlite_pragmas(tmp_path: object) -> None:
    with open_store(f"sqlite:///{tmp_path}/s.sqlite3") as store, \
            store._db.engine.connect() as conn:  # the store's own pooled connection
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 10_000
