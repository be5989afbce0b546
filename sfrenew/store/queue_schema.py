"""The job queue's schema on PostgreSQL: procrastinate's, and sfrenew's queue tables.

Installed and upgraded by :func:`sfrenew.store.migrations.prepare` on every PostgreSQL
store (SQLite stores never run a queue); :mod:`sfrenew.store.queue` reads and writes
the tables. The queue schema has its own version in ``meta`` (``queue_schema_version``:
the procrastinate release whose schema is installed), so a procrastinate upgrade applies
procrastinate's own migration files, in order, in the store's migration transaction.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
)

from sfrenew.store import schema
from sfrenew.store.errors import StoreConfigurationError

QUEUE_VERSION_KEY = "queue_schema_version"

queue_metadata = MetaData()

fires = Table(
    "queue_fires", queue_metadata,
    Column("schedule", String(200), primary_key=True),  # "<org>/<job>"
    Column("fire_time", DateTime(timezone=True), primary_key=True),
    Column("job_id", BigInteger, nullable=True),  # procrastinate's job id
    Column("deferred_at", DateTime(timezone=True), nullable=False),
    Column("leader", String(200), nullable=False),  # who deferred it (host:pid)
)

backfills = Table(
    "queue_backfills", queue_metadata,
    Column("backfill_id", String(64), primary_key=True),
    Column("org", String(40), nullable=False),
    Column("contract_end_from", Date, nullable=False),
    Column("contract_end_to", Date, nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("dry_run", Integer, nullable=False, default=0),
    Column("max_api_calls", Integer, nullable=True),
    Column("calls_used", Integer, nullable=False, default=0),
    Column("chunks_total", Integer, nullable=True),  # known once the pull has run
    Column("created_at", DateTime(timezone=True), nullable=False),
)

chunks = Table(
    "queue_backfill_chunks", queue_metadata,
    Column("backfill_id", String(64), primary_key=True),
    Column("chunk", Integer, primary_key=True),
    Column("accounts", JSON, nullable=False),
    Column("status", String(20), nullable=False, default="queued"),
    Column("run_id", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

# A run's saved plan file (JSON Lines, ADR 0007), zlib-compressed in parts of at most
# planfiles.PART_BYTES of the file each: a run resumed by a worker on another machine,
# with its own empty state_dir, reads it back from here (sfrenew.store.planfiles).
plan_files = Table(
    "queue_plan_files", queue_metadata,
    Column("run_id", String(64), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)


class QueueTables:
    """Names of the queue schema's statuses, for readers of ``queue_backfill_chunks``."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the chunk's run succeeded
    STOPPED = "stopped"  # the chunk's run stopped (budget, shutdown): resumable


def _procrastinate_schema() -> tuple[str, str, list[tuple[str, str]]]:
    """procrastinate's release, its full schema SQL, and its migrations as (release, SQL)
    in order. Read as data files of the installed package, without importing it (its
    Python API stays in ``sfrenew.queue._procrastinate``)."""
    spec = importlib.util.find_spec("procrastinate")
    if spec is None or not spec.submodule_search_locations:
        raise StoreConfigurationError("the job queue needs the procrastinate package "
                                      "(pip install sfrenew installs it)")
    sql = Path(next(iter(spec.submodule_search_locations))) / "sql"
    steps = []
    for path in sorted((sql / "migrations").glob("*.sql")):
        release = path.name.split("_", 1)[0]  # "03.04.00_01_…" is release 3.4.0
        steps.append((".".join(str(int(p)) for p in release.split(".")),
                      path.read_text(encoding="utf-8")))
    return (importlib.metadata.version("procrastinate"),
            (sql / "schema.sql").read_text(encoding="utf-8"), steps)


def install_queue_schema(conn: Connection, *, where: str) -> None:
    """Install or upgrade procrastinate's schema and sfrenew's queue tables (PostgreSQL,
    inside :func:`~sfrenew.store.migrations.prepare`'s transaction and lock)."""
    release, full_schema, migrations = _procrastinate_schema()
    found = conn.scalar(select(schema.meta.c.value)
                        .where(schema.meta.c.name == QUEUE_VERSION_KEY))
    driver = conn.connection.driver_connection  # psycopg: runs multi-statement SQL as is
    if driver is None:  # pragma: no cover (an open connection always has one)
        raise StoreConfigurationError(f"no database connection to {where}")
    if found is None:
        present = set(conn.dialect.get_table_names(conn))
        if "procrastinate_jobs" in present:
            raise StoreConfigurationError(
                f"database at {where} already has a procrastinate schema that sfrenew did "
                "not install: give the queue its own database or schema (queue.url)")
        driver.execute(full_schema)
        conn.execute(schema.meta.insert().values(name=QUEUE_VERSION_KEY, value=release))
    elif _release_key(found) < _release_key(release):
        for version, sql in migrations:
            if _release_key(found) < _release_key(version) <= _release_key(release):
                driver.execute(sql)
        conn.execute(schema.meta.update().where(schema.meta.c.name == QUEUE_VERSION_KEY)
                     .values(value=release))
    queue_metadata.create_all(conn)


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
