"""The local org's records in SQLite: every write goes through ``OrgStore``.

Writes are validated like Salesforce validates a save (see ``writes.py`` and
``values.py``), get their system fields from the injected clock, and run on one write
connection behind a re-entrant lock; ``transaction()`` nests with SAVEPOINTs so an
``allOrNone`` collection rolls back as a whole. Readers that page through large
results use their own connections (``read_connection``); WAL mode keeps them from
blocking writers. Storage follows the convention in ``schema.py``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sfrenew.localorg.derive import (
    apply_derivations,
    check_validation_rules,
    format_auto_number,
)
from sfrenew.localorg.errors import ErrorDetail, SalesforceApiError
from sfrenew.localorg.ids import make_id, normalize_id
from sfrenew.localorg.rollup import Rollups
from sfrenew.localorg.schema import FieldSchema, FieldType, OrgSchema, SObjectSchema
from sfrenew.localorg.store_records import RecordAccess, not_found
from sfrenew.localorg.store_seed import SeedRows
from sfrenew.localorg.tables import columns, ensure_tables, next_counter, quote
from sfrenew.localorg.values import format_datetime, parse_datetime, to_json
from sfrenew.localorg.writes import (
    coerce_write,
    no_such_column_on_entity,
    required_missing,
    split_relationships,
)

OWNER_DEFAULT = "$user"  # schema default of OwnerId: the user doing the write


class MultipleMatches(SalesforceApiError):
    """An upsert whose external Id matches several records (HTTP 300)."""

    def __init__(self, *, field: str, value: str, ids: list[str]) -> None:
        super().__init__(300, [ErrorDetail(
            "DUPLICATE_EXTERNAL_ID",
            f"{field}: more than one record found for external id field: [{', '.join(ids)}]",
            (), True)])
        self.ids = ids
        self.value = value


def _truncate_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


class OrgStore:
    """The org's records; thread-safe; all writes validated like Salesforce."""

    def __init__(self, path: Path | str, schema: OrgSchema, *,
                 clock: Callable[[], datetime]) -> None:
        self.schema = schema
        self._path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        # 64 MB of page cache: index maintenance during large seeds stays in memory.
        self._conn.execute("PRAGMA cache_size=-65536")
        with self.transaction():
            ensure_tables(self._conn, schema)
        self._records = RecordAccess(self._conn, schema)
        self._rollups = Rollups(self._conn, schema)
        self._last_stamp = self._latest_stamp()

    # --- connections and transactions ---------------------------------------------------

    def read_connection(self) -> sqlite3.Connection:
        """A new read-only connection for long-running cursors; the caller closes it."""
        conn = sqlite3.connect(self._path, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA query_only=1")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together, or rolls back if an exception escapes.

        Nests: an inner block is a SAVEPOINT, so an inner failure that the caller
        catches undoes only the inner block. Other threads wait for the outermost block.
        """
        with self._lock:
            depth = self._depth
            savepoint = f"sfrenew_sp{depth}"
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            self._depth -= 1
            self._conn.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")

    def close(self) -> None:
        """Close the write connection (idempotent)."""
        with self._lock:
            self._conn.close()

    # --- system fields -------------------------------------------------------------------

    def _latest_stamp(self) -> datetime | None:
        latest: str | None = None
        for obj in self.schema.objects.values():
            row = self._conn.execute(
                f'SELECT MAX("SystemModstamp") FROM {quote(obj.name)}').fetchone()  # noqa: S608
            if row[0] is not None and (latest is None or row[0] > latest):
                latest = row[0]
        return parse_datetime(latest) if latest else None

    def _stamp(self) -> str:
        """The write time: the clock at ms precision, never before an earlier write."""
        now = _truncate_ms(self._clock())
        if self._last_stamp is not None and now < self._last_stamp:
            now = self._last_stamp
        self._last_stamp = now
        return format_datetime(now)

    def _object(self, sobject: str) -> SObjectSchema:
        obj = self.schema.object(sobject)
        if obj is None:
            raise not_found()
        return obj

    # --- writes ------------------------------------------------------------------------

    def create(self, sobject: str, values: dict[str, Any], *, user_id: str) -> str:
        """Insert a validated record; its 18-character Id."""
        return self._create(self._object(sobject), values, user_id=user_id)

    def create_system_user(self, values: dict[str, Any]) -> str:
        """Create a User that is its own creator (the org's first, integration user)."""
        return self._create(self._object("User"), values, user_id=None)

    def ensure_fixed_record(self, sobject: str, record_id: str, values: dict[str, Any], *,
                            user_id: str) -> None:
        """Insert a record with a given Id unless it exists (the org's Organization row).

        ``values`` are stored as given (booleans as 0/1), without validation: such records
        are read-only to clients.
        """
        obj = self._object(sobject)
        with self.transaction():
            exists = self._conn.execute(
                f'SELECT 1 FROM {quote(obj.name)} WHERE "Id" = ?',  # noqa: S608
                (record_id,)).fetchone()
            if exists is not None:
                return
            stamp = self._stamp()
            record = {k: int(v) if isinstance(v, bool) else v for k, v in values.items()}
            record.update({"Id": record_id, "IsDeleted": 0, "CreatedDate": stamp,
                           "CreatedById": user_id, "LastModifiedDate": stamp,
                           "LastModifiedById": user_id, "SystemModstamp": stamp})
            self._records.insert(obj, record)

    def _create(self, obj: SObjectSchema, values: dict[str, Any], *,
                user_id: str | None) -> str:
        plain, parents = split_relationships(obj, values)
        stored = coerce_write(obj, plain, creating=True)
        with self.transaction():
            stored.update(self._records.resolve_parents(parents))
            self._records.check_references(obj, stored)
            record_id = make_id(obj.key_prefix,
                                next_counter(self._conn, f"id:{obj.key_prefix}"))
            writer = user_id or record_id
            record: dict[str, Any] = {}
            for field in obj.fields.values():
                if field.default is not None and field.name not in stored:
                    record[field.name] = self._default(field, writer)
            record.update(stored)
            self._assign_auto_numbers(obj, record)
            stamp = self._stamp()
            apply_derivations(obj, record, given=stored.keys(), creating=True,
                              lookup=self._records.parent_value, now=stamp)
            required_missing(obj, record)
            check_validation_rules(obj, record)
            self._records.check_unique(obj, record, record_id=None)
            record.update({"Id": record_id, "IsDeleted": 0, "CreatedDate": stamp,
                           "CreatedById": writer, "LastModifiedDate": stamp,
                           "LastModifiedById": writer, "SystemModstamp": stamp})
            self._records.insert(obj, record)
            self._refresh_rollups(obj.name, [record], stamp=stamp, user_id=writer)
        return record_id

    def _refresh_rollups(self, sobject: str, records: Sequence[dict[str, Any]], *,
                         stamp: str | None, user_id: str | None) -> None:
        """Recompute the parents' rolled-up fields these child records feed."""
        for rollup in self._rollups.of_child(sobject):
            self._rollups.refresh(sobject, [r.get(rollup.lookup) for r in records],
                                  stamp=stamp, user_id=user_id)

    @staticmethod
    def _default(field: FieldSchema, user_id: str) -> Any:
        if field.default == OWNER_DEFAULT:
            return user_id
        if field.type == FieldType.BOOLEAN:
            return int(bool(field.default))
        return field.default

    def _assign_auto_numbers(self, obj: SObjectSchema, record: dict[str, Any]) -> None:
        for field in obj.fields.values():
            if field.auto_number is not None:
                number = next_counter(self._conn, f"auto:{obj.name}.{field.name}")
                record[field.name] = format_auto_number(field.auto_number, number)

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *,
               user_id: str) -> None:
        """Change fields of a live record (validated like a Salesforce update)."""
        obj = self._object(sobject)
        plain, parents = split_relationships(obj, values)
        stored = coerce_write(obj, plain, creating=False)
        with self.transaction():
            record = self._records.live_record(obj, record_id)
            stored.update(self._records.resolve_parents(parents))
            self._records.check_references(obj, stored)
            changed = dict(stored)
            before = dict(record)
            record.update(stored)
            # A rolled-up field (Opportunity.Amount with line items) ignores the write.
            self._rollups.keep_rolled_up(obj.name, record["Id"], record, before,
                                         given=stored.keys())
            stamp = self._stamp()
            apply_derivations(obj, record, given=stored.keys(), creating=False,
                              lookup=self._records.parent_value, now=stamp)
            required_missing(obj, record, checked=list(stored))
            check_validation_rules(obj, record)
            self._records.check_unique(obj, {k: record[k] for k in changed},
                                       record_id=record["Id"])
            record.update({"LastModifiedDate": stamp, "LastModifiedById": user_id,
                           "SystemModstamp": stamp})
            self._records.rewrite(obj, record)
            self._refresh_rollups(obj.name, [record], stamp=stamp, user_id=user_id)

    def delete(self, sobject: str, record_id: str, *, user_id: str) -> None:
        """Soft-delete a record and, through master-detail, its children."""
        obj = self._object(sobject)
        with self.transaction():
            record = self._records.live_record(obj, record_id)
            stamp = self._stamp()
            self._records.soft_delete(obj, [record["Id"]], stamp=stamp, user_id=user_id)
            self._refresh_rollups(obj.name, [record], stamp=stamp, user_id=user_id)

    def upsert(self, sobject: str, external_field: str, external_value: Any,
               values: dict[str, Any], *, user_id: str) -> tuple[str, bool]:
        """Insert or update by an external Id field (or ``Id``): ``(id, created)``.

        Raises MultipleMatches (HTTP 300) when the value matches several live records,
        and NOT_FOUND (404) when the field is not an external Id of the object.
        """
        obj = self._object(sobject)
        field = obj.field(external_field)
        if field is None or not field.identifies_records:
            raise SalesforceApiError.single(
                404, "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: "
                f"{external_field}")
        text = "" if external_value is None else str(external_value)
        with self.transaction():
            if field.name == "Id":
                if not text:
                    return self._create(obj, values, user_id=user_id), True
                rest = {k: v for k, v in values.items() if k.lower() != "id"}
                self.update(obj.name, text, rest, user_id=user_id)
                return normalize_id(text) or text, False
            ids = self._records.find_by_value(obj, field, text)
            if len(ids) > 1:
                raise MultipleMatches(field=field.name, value=text, ids=ids)
            if ids:
                self.update(obj.name, ids[0], values, user_id=user_id)
                return ids[0], False
            given = {k.lower() for k in values}
            create_values = dict(values)
            if field.name.lower() not in given:
                create_values[field.name] = text
            return self._create(obj, create_values, user_id=user_id), True

    def insert_many(self, sobject: str, rows: Iterable[dict[str, Any]], *,
                    user_id: str) -> list[str]:
        """Fast bulk insert of already-valid stored values (the seed generator's path).

        Assigns Ids, system fields (rows may bring their own CreatedDate etc. to look
        historical), defaults, auto numbers and the derived values a row leaves out
        (lookups excepted: the rows carry those); skips per-value validation. One
        transaction, one ``executemany``.
        """
        obj = self._object(sobject)
        batch = list(rows)
        if not batch:
            return []
        with self.transaction():
            seed = SeedRows(obj, user_id=user_id, stamp=self._stamp())
            first_id = next_counter(self._conn, f"id:{obj.key_prefix}", len(batch))
            auto_first = {f.name: next_counter(self._conn, f"auto:{obj.name}.{f.name}",
                                               len(batch))
                          for f in obj.fields.values() if f.auto_number is not None}
            ids, tuples = seed.build(batch, first_id=first_id, auto_first=auto_first)
            try:
                self._conn.executemany(seed.insert_sql, tuples)
            except sqlite3.IntegrityError as exc:
                raise SalesforceApiError.dml(
                    "DUPLICATE_VALUE", f"duplicate value found: {exc}") from exc
            # Seeded line items roll up into their parents (values only: rows are history).
            if self._rollups.of_child(obj.name):
                self._refresh_rollups(obj.name, batch, stamp=None, user_id=None)
            # Rows may carry their own (historical or later) SystemModstamp.
            latest = parse_datetime(seed.latest_stamp)
            if self._last_stamp is None or latest > self._last_stamp:
                self._last_stamp = latest
        return ids

    # --- reads -------------------------------------------------------------------------

    def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None, *,
            api_version: str) -> dict[str, Any]:
        """One record as the REST API returns it (``attributes`` first)."""
        obj = self._object(sobject)
        wanted: list[FieldSchema] = []
        for name in fields if fields is not None else [f.name for f in obj.fields.values()]:
            field = obj.field(name.strip())
            if field is None:
                raise no_such_column_on_entity(obj, name.strip())
            wanted.append(field)
        with self._lock:
            record = self._records.live_record(obj, record_id)
        body: dict[str, Any] = {"attributes": {
            "type": obj.name,
            "url": f"/services/data/v{api_version}/sobjects/{obj.name}/{record['Id']}",
        }}
        for field in wanted:
            body[field.name] = to_json(field, record.get(field.name))
        return body

    def counts(self) -> dict[str, int]:
        """Live (not deleted) records per object."""
        with self._lock:
            return {obj.name: int(self._conn.execute(
                f'SELECT COUNT(*) FROM {quote(obj.name)} WHERE "IsDeleted" = 0'  # noqa: S608
            ).fetchone()[0]) for obj in self.schema.objects.values()}

    def reset(self) -> None:
        """Delete every record and counter (tables stay)."""
        with self.transaction():
            for obj in self.schema.objects.values():
                self._conn.execute(f"DELETE FROM {quote(obj.name)}")  # noqa: S608
            self._conn.execute("DELETE FROM _meta")

    def column_names(self, sobject: str) -> tuple[str, ...]:
        """The table columns of an object (its field API names), in schema order."""
        return columns(self._object(sobject))
