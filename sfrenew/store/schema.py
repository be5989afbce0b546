"""The tables of the state store (SQLAlchemy Core), at the current schema version.

Column types behave the same on SQLite and PostgreSQL: JSON is kept as text through
:mod:`sfrenew.store.codec` (so Decimal and date round-trip on both), and datetimes
are stored in UTC and always read back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

from sfrenew.store import codec

SCHEMA_VERSION = 3
"""The schema version this sfrenew writes; older ones are migrated forward on open.

2: mirror change markers and per-account plan state (plan only what changed);
3: the ledger's last-written snapshot (``ledger_last``, ``ledger_keys``)."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both backends (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # Naive datetimes are ambiguous; the caller injects an aware clock.
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:  # noqa: ARG002 -- SQLAlchemy's signature
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JsonText(TypeDecorator[Any]):
    """Any JSON-able value (plus Decimal and dates), stored as text via the codec."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any,
                           dialect: Dialect) -> str | None:  # noqa: ARG002 -- SQLAlchemy's signature
        # SQL NULL is kept for "no value at all"; JSON null is the text 'null'.
        return codec.dumps(value)

    def process_result_value(self, value: str | None,
                             dialect: Dialect) -> Any:  # noqa: ARG002 -- SQLAlchemy's signature
        return None if value is None else codec.loads(value)


# An auto-incrementing 64-bit id; on SQLite only INTEGER PRIMARY KEY is the rowid alias.
_BigId = BigInteger().with_variant(Integer(), "sqlite")



def _ident(length: int) -> String:
    # Byte order on PostgreSQL too (SQLite's default is binary), so keyset paging and
    # every ORDER BY give the same order on both backends whatever the server locale.
    return String(length).with_variant(String(length, collation="C"), "postgresql")


SF_ID = _ident(18)
OBJECT = _ident(80)
KEY = _ident(255)
FIELD = _ident(80)
RUN_ID = _ident(64)
CODE = String(80)

metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

mirror = Table(
    "mirror", metadata,
    Column("object", OBJECT, nullable=False),
    Column("sf_id", SF_ID, nullable=False),
    Column("group_key", SF_ID, nullable=True),
    Column("system_modstamp", String(40), nullable=True),
    Column("is_deleted", Boolean, nullable=False, server_default=false()),
    Column("data", JsonText, nullable=False),
    # Id first: Salesforce Ids are unique across objects, lookups are by Id, and an
    # index led by ``object`` would tempt SQLite's planner away from ix_mirror_group
    # for iter_groups (then it sorts the whole object on every page).
    PrimaryKeyConstraint("sf_id", "object"),
    # Keyset order of iter_groups: account by account, then object, then Id.
    Index("ix_mirror_group", "group_key", "object", "sf_id"),
)

watermarks = Table(
    "watermarks", metadata,
    Column("object", OBJECT, primary_key=True),
    Column("value", UtcDateTime, nullable=False),
    Column("run_id", RUN_ID, nullable=True),
)

runs = Table(
    "runs", metadata,
    Column("run_id", RUN_ID, primary_key=True),
    Column("job", String(120), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("params", JsonText, nullable=False),
    Column("checkpoint", JsonText, nullable=True),
    Column("stats", JsonText, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_runs_job_started", "job", "started_at"),
    Index("ix_runs_status", "status"),
)

# The ledger is append-only: an intent row (with one row per field) before a write is
# sent, a result row after. Nothing is updated in place, so the audit trail shows what
# was about to happen even when the process died before the answer came back.
ledger_intents = Table(
    "ledger_intents", metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),  # global write order
    Column("run_id", RUN_ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("object", OBJECT, nullable=False),
    Column("key", KEY, nullable=False),
    Column("operation", String(16), nullable=False),
    Column("sf_id", SF_ID, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["run_id"], ["runs.run_id"]),
    UniqueConstraint("run_id", "seq", name="uq_ledger_intents_run_seq"),
    Index("ix_ledger_intents_object_key", "object", "key", "id"),
)

ledger_fields = Table(
    "ledger_fields", metadata,
    Column("run_id", RUN_ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("field", FIELD, nullable=False),
    Column("value_before", JsonText, nullable=True),
    Column("value_after", JsonText, nullable=True),
    PrimaryKeyConstraint("run_id", "seq", "field"),
    ForeignKeyConstraint(["run_id", "seq"], ["ledger_intents.run_id", "ledger_intents.seq"]),
)

ledger_results = Table(
    "ledger_results", metadata,
    Column("run_id", RUN_ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("sf_id", SF_ID, nullable=True),
    Column("error_code", CODE, nullable=True),
    Column("error_message", Text, nullable=True),
    Column("error_fields", JsonText, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("run_id", "seq"),  # at most one result per intent
    ForeignKeyConstraint(["run_id", "seq"], ["ledger_intents.run_id", "ledger_intents.seq"]),
)

# The ledger's snapshot: what its history means for the next plan, kept up to date by
# ``record_results`` in the same transaction as the results it follows from, so a plan
# reads one row per field instead of folding every write ever made to a record (see
# docs/adr/0020-ledger-snapshot.md). ``write_id`` is the ``ledger_intents.id`` of the
# write the row comes from: results can be recorded out of write order (a crashed
# run's intents settled later), and the snapshot keeps the newest write, as the history
# read in ``id`` order did.
ledger_last = Table(
    "ledger_last", metadata,
    Column("object", OBJECT, nullable=False),
    Column("key", KEY, nullable=False),
    Column("field", FIELD, nullable=False),
    Column("value", JsonText, nullable=True),  # copied as text from ledger_fields
    Column("write_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("object", "key", "field"),
)

# Per record: its Salesforce Id as last written and the newest successful delete of
# the key, which forgets every earlier write (a record re-created under the key starts
# clean).
ledger_keys = Table(
    "ledger_keys", metadata,
    Column("object", OBJECT, nullable=False),
    Column("key", KEY, nullable=False),
    Column("sf_id", SF_ID, nullable=True),
    Column("sf_id_write", BigInteger, nullable=True),
    Column("deleted_write", BigInteger, nullable=True),
    PrimaryKeyConstraint("object", "key"),
)

field_owners = Table(
    "field_owners", metadata,
    Column("object", OBJECT, nullable=False),
    Column("key", KEY, nullable=False),
    Column("field", FIELD, nullable=False),
    Column("owner", String(16), nullable=False),
    Column("since_run_id", RUN_ID, nullable=True),
    Column("last_seen", JsonText, nullable=True),
    PrimaryKeyConstraint("object", "key", "field"),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("object", OBJECT, nullable=False),
    Column("key", KEY, nullable=False),
    Column("operation", String(16), nullable=False),
    Column("error_code", CODE, nullable=False),
    Column("message", Text, nullable=False),
    Column("payload", JsonText, nullable=False),
    Column("fields", JsonText, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_run_id", RUN_ID, nullable=True),
    Column("last_run_id", RUN_ID, nullable=True),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("resolved", Boolean, nullable=False, server_default=false()),
    Column("resolved_at", UtcDateTime, nullable=True),
)

# One open dead letter per (object, key, operation): a row rejected again on the next
# run bumps ``attempts`` instead of piling up. Resolved ones stay as history.
Index("uq_dead_letters_open", dead_letters.c.object, dead_letters.c.key,
      dead_letters.c.operation, unique=True,
      sqlite_where=dead_letters.c.resolved == false(),
      postgresql_where=dead_letters.c.resolved == false())


# Version 2 (issue 19): planning only what changed. ``mirror_changes`` holds, per
# account (``group_key``; '' for records mirrored without one: users, price book
# entries), the mirror version of its last change: every upsert, delete flag or purge
# takes the next version and stamps the accounts it touched (the old account too when
# a record moved). ``plan_state`` holds per account what the last plan made of it: the
# mirror version it saw, the day its plan may change with the date alone
# (``replan_on``, ISO text, NULL: never) and its output (the plan file's line and its
# share of the totals), replayed as is while neither moves.
mirror_changes = Table(
    "mirror_changes", metadata,
    Column("group_key", KEY, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Index("ix_mirror_changes_version", "version"),
)

plan_state = Table(
    "plan_state", metadata,
    Column("group_key", KEY, primary_key=True),
    Column("marker", BigInteger, nullable=False),
    Column("replan_on", String(10), nullable=True),
    Column("entry", JsonText, nullable=False),
    Index("ix_plan_state_replan_on", "replan_on"),
)
