"""Schema versions: create on first open, migrate forward, refuse what is newer.

The version lives in ``meta`` (``name = 'schema_version'``). Each registered
:class:`Migration` brings the schema from ``from_version`` to ``from_version + 1``;
opening a store runs every step it needs, in order, inside ONE transaction together
with the version bump, so a failed step leaves the database exactly as it was (both
SQLite and PostgreSQL have transactional DDL). A database written by a newer
sfrenew is refused before anything is touched: an older binary cannot know what the
newer schema means, and guessing would corrupt the ledger.

Adding version 2 later means: change the tables in ``schema.py``, bump
``SCHEMA_VERSION`` to 2, and register ``Migration(1, "…", step)`` here, whose step
turns a version-1 database into exactly what ``create_all`` makes for version 2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.exc import OperationalError

from sfrenew.store import schema, snapshot
from sfrenew.store.engine import Database, connection_error, describe, make_engine
from sfrenew.store.errors import (
    MigrationError,
    SchemaTooNew,
    StoreConfigurationError,
    StoreMissing,
)
from sfrenew.store.queue_schema import install_queue_schema

VERSION_KEY = "schema_version"
# Serialises concurrent first opens of one PostgreSQL database (two replicas starting).
_PG_MIGRATION_LOCK = 0x5F5245_4E4557  # "_RENEW"


@dataclass(frozen=True)
class Migration:
    """One step forward: from ``from_version`` to ``from_version + 1``."""

    from_version: int
    description: str
    apply: Callable[[Connection], None]


def _plan_only_what_changed(conn: Connection) -> None:
    """Version 2: the mirror's change markers and the per-account plan state (both start
    empty: the first plan after the migration is a full pass and fills them)."""
    schema.mirror_changes.create(conn)
    schema.plan_state.create(conn)


def _ledger_snapshot(conn: Connection) -> None:
    """Version 3: the ledger's last-written snapshot (ADR 20), created and filled from
    the history, so plans read after the upgrade what they read before."""
    schema.metadata.create_all(conn, tables=[schema.ledger_last, schema.ledger_keys])
    snapshot.backfill(conn)


MIGRATIONS: Mapping[int, Migration] = {
    1: Migration(1, "mirror change markers and per-account plan state (issue 19)",
                 _plan_only_what_changed),
    2: Migration(2, "the ledger's last-written snapshot, filled from its history",
                 _ledger_snapshot),
}
"""The registry, keyed by the version a step starts from."""


def read_version(conn: Connection) -> int | None:
    """The stored schema version, or None when the database has no ``meta`` table."""
    if not inspect(conn).has_table(schema.meta.name):
        return None
    value = conn.scalar(select(schema.meta.c.value).where(schema.meta.c.name == VERSION_KEY))
    return None if value is None else int(value)


def _write_version(conn: Connection, version: int) -> None:
    updated = conn.execute(schema.meta.update().where(schema.meta.c.name == VERSION_KEY)
                           .values(value=str(version)))
    if updated.rowcount == 0:
        conn.execute(schema.meta.insert().values(name=VERSION_KEY, value=str(version)))


def _create(conn: Connection, *, where: str, version: int) -> None:
    present = set(inspect(conn).get_table_names())
    clash = sorted(present & set(schema.metadata.tables))
    if clash:
        # Tables with our names but no version: not ours, or not safely ours.
        raise StoreConfigurationError(
            f"database at {where} already has tables {', '.join(clash)} but no sfrenew "
            "schema version — point store.url at an empty database or schema")
    schema.metadata.create_all(conn)
    _write_version(conn, version)


def prepare(db: Database, *, create: bool, target: int = schema.SCHEMA_VERSION,
            steps: Mapping[int, Migration] = MIGRATIONS) -> int:
    """Make the database hold schema ``target``; return the version it was at before
    (0 for a fresh database).

    Raises :class:`StoreMissing` when there is no store and ``create`` is false,
    :class:`SchemaTooNew` for a newer version, :class:`MigrationError` when a step is
    missing or fails (the database is then unchanged).
    """
    where = describe(db.engine)
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        found = read_version(conn)
        if found is None:
            if not create:
                raise StoreMissing(f"no sfrenew state store at {where}")
            _create(conn, where=where, version=target)
            _queue_schema(db, conn, where=where)
            return 0
        if found > target:
            raise SchemaTooNew(where=where, found=found, supported=target)
        version = found
        while version < target:
            step = steps.get(version)
            if step is None:
                raise MigrationError(
                    f"state store at {where} has schema version {version} and this "
                    f"sfrenew has no migration from it to {version + 1}")
            try:
                step.apply(conn)
            except Exception as exc:
                raise MigrationError(
                    f"migrating the state store at {where} from version {version} "
                    f"({step.description}) failed: {exc}") from exc
            version += 1
            _write_version(conn, version)
        _queue_schema(db, conn, where=where)
        return found


def _queue_schema(db: Database, conn: Connection, *, where: str) -> None:
    """PostgreSQL stores also hold the job queue (procrastinate's schema and sfrenew's
    queue tables, :mod:`sfrenew.store.queue`), installed or upgraded in the same
    transaction; SQLite stores never run a queue."""
    if db.dialect == "postgresql":
        install_queue_schema(conn, where=where)


def open_prepared(url: str, *, create: bool,
                  check: Callable[[Database], object] | None = None) -> Database:
    """The database at ``url`` with its schema created or migrated forward (``check``
    first, e.g. that it is PostgreSQL); the engine is disposed of when that fails, and a
    connection failure is a :class:`~sfrenew.store.errors.StoreUnavailable` naming it."""
    engine = make_engine(url, create=create)
    db = Database(engine)
    try:
        if check is not None:
            check(db)
        prepare(db, create=create)
    except OperationalError as exc:
        engine.dispose()
        raise connection_error(engine, exc) from None
    except BaseException:
        engine.dispose()
        raise
    return db
