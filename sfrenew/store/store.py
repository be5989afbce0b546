""":class:`StateStore`: the one object the run, the CLI and the scheduler talk to.

Every method is one short transaction (or, for streams, one per page), so callers
never manage connections. Methods take and return the values of
:mod:`sfrenew.store.values`; times are passed in (``now``), never read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sfrenew.store import (
    deadletters,
    ledger,
    locks,
    migrations,
    mirror,
    ownership,
    planfiles,
    planstate,
    runs,
)
from sfrenew.store.engine import Database, describe
from sfrenew.store.port import DEFAULT_BATCH, PLAN_GROUPS_BATCH
from sfrenew.store.values import (
    DeadLetter,
    FieldOwnership,
    LedgerCounts,
    LedgerEntry,
    MirrorCount,
    MirrorGroup,
    MirrorRecord,
    MirrorRow,
    Operation,
    PlanMeta,
    PlanState,
    RecordedIntent,
    RecordWrites,
    Rejection,
    Run,
    RunKind,
    RunStats,
    RunStatus,
    WriteIntent,
    WriteResult,
)

DEFAULT_URL = "sqlite:///.state/sfrenew.sqlite3"


class StateStore:
    """Mirror, watermarks, runs, ledger, field ownership, dead letters and locks."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._intents = ledger.IntentBook()

    # --- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where the store is (password hidden)."""
        return describe(self._db.engine)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._db.read() as conn:
            version = migrations.read_version(conn)
        assert version is not None  # open_store created or checked it
        return version

    def close(self) -> None:
        """Close every pooled connection."""
        self._db.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- mirror and watermarks -------------------------------------------------------

    def upsert_mirror(self, object_name: str, rows: Iterable[MirrorRow], *,
                      batch: int = DEFAULT_BATCH) -> int:
        """Insert or replace pulled records of one object, ``batch`` rows per
        transaction; return how many were written."""
        return mirror.upsert(self._db, object_name, rows, batch=batch)

    def mark_deleted(self, object_name: str, ids: Iterable[str], *,
                     system_modstamp: str | None = None) -> int:
        """Flag records deleted in the org; return how many the mirror held."""
        return mirror.mark_deleted(self._db, object_name, ids, system_modstamp=system_modstamp)

    def purge_deleted(self, object_name: str | None = None) -> int:
        """Drop records flagged deleted; return how many."""
        return mirror.purge_deleted(self._db, object_name)

    def get_mirror(self, object_name: str, ids: Iterable[str]) -> dict[str, MirrorRecord]:
        """``{sf_id: record}`` for the mirrored records of one object among ``ids``."""
        return mirror.get(self._db, object_name, ids)

    def iter_object(self, object_name: str, *, batch: int = DEFAULT_BATCH,
                    ) -> Iterator[MirrorRecord]:
        """Every live mirrored record of one object (``sf_id`` order), a page at a time:
        for objects mirrored without an account, such as price book entries."""
        return mirror.iter_object(self._db, object_name, batch=batch)

    def iter_groups(self, objects: Iterable[str], *, batch: int = DEFAULT_BATCH,
                    include_deleted: bool = False,
                    after_group: str | None = None) -> Iterator[MirrorGroup]:
        """Stream the mirror account by account (``group_key`` order): each group has
        every record of ``objects`` for that account. Memory: one group + one page.

        ``after_group`` resumes after a checkpointed account (or starts a backfill
        chunk); stop iterating to end a chunk. Pages are separate transactions: run
        it while no pull writes the same mirror (one run per org at a time).
        """
        return mirror.iter_groups(self._db, objects, batch=batch,
                                  include_deleted=include_deleted, after_group=after_group)

    def iter_groups_of(self, objects: Iterable[str], group_keys: Sequence[str], *,
                       batch: int = PLAN_GROUPS_BATCH) -> Iterator[MirrorGroup]:
        """The live records of ``objects`` of the accounts ``group_keys`` (sorted), one
        group at a time in that order; accounts with none are not yielded."""
        return mirror.iter_groups_of(self._db, objects, group_keys, batch=batch)

    # --- plan state (planning only what changed) -------------------------------------

    def mirror_version(self) -> int:
        """The newest mirror version: every mirror write takes the next one."""
        return planstate.mirror_version(self._db)

    def ungrouped_version(self) -> int:
        """The version of the last change to records mirrored without an account."""
        return planstate.ungrouped_version(self._db)

    def plan_meta(self) -> PlanMeta | None:
        """The last complete plan's fingerprint and mirror version, if saved."""
        return planstate.get_meta(self._db)

    def set_plan_meta(self, meta: PlanMeta | None) -> None:
        """Save the plan's meta, or forget it (None): the next plan is a full pass."""
        planstate.set_meta(self._db, meta)

    def replan_groups(self, today: str) -> list[str]:
        """The accounts to plan again (changed, or their day has come), in order."""
        return planstate.replan_groups(self._db, today)

    def iter_plan_states(self, *, batch: int = DEFAULT_BATCH,
                         after_group: str | None = None) -> Iterator[PlanState]:
        """Every account's plan state in ``group_key`` order (after ``after_group`` if
        given), a page at a time."""
        return planstate.iter_states(self._db, batch=batch, after_group=after_group)

    def save_plan_states(self, states: Iterable[PlanState], *,
                         drop: Sequence[str] = ()) -> None:
        """Insert or replace plan states; drop those of ``drop``; one transaction."""
        planstate.save_states(self._db, states, drop=drop)

    def clear_plan_states(self) -> None:
        """Forget every account's plan state."""
        planstate.clear_states(self._db)

    def count_groups(self, objects: Iterable[str]) -> int:
        """How many accounts :meth:`iter_groups` would yield (for progress)."""
        return mirror.count_groups(self._db, objects)

    def group_keys(self, objects: Iterable[str]) -> list[str]:
        """The accounts :meth:`iter_groups` would yield, in order (to split a plan)."""
        return mirror.group_keys(self._db, objects)

    def mirror_counts(self) -> dict[str, MirrorCount]:
        """Live and deleted records per object."""
        return mirror.counts(self._db)

    def get_watermark(self, object_name: str) -> datetime | None:
        """The SystemModstamp ``object_name`` is pulled up to, or None (never pulled)."""
        return mirror.get_watermark(self._db, object_name)

    def set_watermark(self, object_name: str, value: datetime, *,
                      run_id: str | None = None) -> None:
        """Move the watermark; call only once the object's pull has committed."""
        mirror.set_watermark(self._db, object_name, value, run_id=run_id)

    def watermarks(self) -> dict[str, datetime]:
        """Every object's watermark."""
        return mirror.all_watermarks(self._db)

    def clear_watermarks(self, objects: Iterable[str] | None = None) -> None:
        """Forget watermarks (all, or some) so the next pull reads everything."""
        mirror.clear_watermarks(self._db, objects)

    # --- runs ------------------------------------------------------------------------

    def start_run(self, *, run_id: str, job: str, kind: RunKind, now: datetime,
                  params: Mapping[str, Any] | None = None) -> Run:
        """Record a new ``running`` run (see :func:`make_run_id` for ids)."""
        return runs.start(self._db, run_id=run_id, job=job, kind=kind, now=now, params=params)

    def update_checkpoint(self, run_id: str, checkpoint: Mapping[str, Any], *,
                          stats: RunStats | None = None) -> None:
        """Save a running run's resume point (and stats so far, replacing the old)."""
        runs.update_checkpoint(self._db, run_id, checkpoint, stats=stats)

    def finish_run(self, run_id: str, *, status: RunStatus, now: datetime,
                   stats: RunStats | None = None, error: str | None = None) -> Run:
        """End a running run (succeeded, failed, stopped or interrupted)."""
        return runs.finish(self._db, run_id, status=status, now=now, stats=stats, error=error)

    def resume_run(self, run_id: str) -> Run:
        """Set an interrupted run running again; returns it with its checkpoint."""
        return runs.resume(self._db, run_id)

    def get_run(self, run_id: str) -> Run:
        """The run; :class:`UnknownRun` if there is none."""
        return runs.get(self._db, run_id)

    def list_runs(self, limit: int = 20, *, job: str | None = None,
                  kind: RunKind | None = None) -> list[Run]:
        """The newest runs first."""
        return runs.list_runs(self._db, limit=limit, job=job, kind=kind)

    def last_run(self, job: str, *, status: RunStatus | None = None) -> Run | None:
        """The newest run of ``job`` (with ``status``, if given)."""
        return runs.last_run(self._db, job, status=status)

    def unfinished_runs(self, *, job: str | None = None) -> list[Run]:
        """Runs left ``running`` or ``interrupted``, oldest first."""
        return runs.unfinished(self._db, job=job)

    def keep_plan_file(self, run_id: str, path: Path) -> None:
        """Keep ``run_id``'s saved plan file in the store (PostgreSQL; a no-op on SQLite),
        for a resume on another machine (:mod:`sfrenew.store.planfiles`)."""
        planfiles.keep(self._db, run_id, path)

    def restore_plan_file(self, run_id: str, path: Path) -> bool:
        """Write ``run_id``'s kept plan file to ``path``; False when none is kept."""
        return planfiles.restore(self._db, run_id, path)

    def drop_plan_file(self, run_id: str, *, superseded_in: str | None = None) -> None:
        """Forget ``run_id``'s kept plan file (the run settled) and, with
        ``superseded_in`` (its job, on success), those of the job's earlier runs left
        stopped or interrupted."""
        planfiles.drop(self._db, run_id, superseded_in=superseded_in)

    # --- ledger ----------------------------------------------------------------------

    def record_intents(self, run_id: str, intents: Iterable[WriteIntent], *,
                       now: datetime) -> list[int]:
        """Before sending a chunk: record its writes in one transaction; returns each
        write's ``seq`` (in order) for :meth:`record_results`."""
        return ledger.record_intents(self._db, run_id, intents, now=now, book=self._intents)

    def record_intents_kept(self, run_id: str, intents: Iterable[WriteIntent], *,
                            now: datetime) -> list[RecordedIntent]:
        """:meth:`record_intents` for writes answered much later (see
        :meth:`StorePort.record_intents_kept`)."""
        kept: list[RecordedIntent] = []
        ledger.record_intents(self._db, run_id, intents, now=now, kept=kept)
        return kept

    def record_results(self, run_id: str, results: Iterable[WriteResult], *,
                       now: datetime, intents: Iterable[RecordedIntent] = ()) -> None:
        """After Salesforce answered: record each write's outcome in one transaction
        (``intents``: as :meth:`record_intents_kept` gave them)."""
        ledger.record_results(self._db, run_id, results, now=now, book=self._intents,
                              intents=intents)

    def pending_intents(self, run_id: str) -> list[LedgerEntry]:
        """Writes of ``run_id`` with no recorded result (maybe sent, maybe not)."""
        return ledger.pending_intents(self._db, run_id)

    def ledger_entries(self, run_id: str) -> Iterator[LedgerEntry]:
        """Every write of ``run_id`` with its outcome, in order (streamed)."""
        return ledger.iter_entries(self._db, run_id)

    def writes_of_run(self, run_id: str) -> list[RecordWrites]:
        """What ``run_id`` successfully wrote, per record, for rollback."""
        return ledger.writes_of_run(self._db, run_id)

    def written_counts(self, run_ids: Iterable[str]) -> dict[str, dict[str, LedgerCounts]]:
        """Per run and object, what the ledger holds (every attempt; see LedgerCounts)."""
        return ledger.written_counts(self._db, run_ids)

    def last_written(self, object_name: str,
                     keys: Iterable[str]) -> dict[tuple[str, str], Any]:
        """``{(key, field): value}`` last written successfully by sfrenew."""
        return ledger.last_written(self._db, object_name, keys)

    def last_operations(self, object_name: str, keys: Iterable[str],
                        field: str) -> dict[str, tuple[Operation, datetime]]:
        """``{key: (operation, when)}`` of sfrenew's last successful write of ``field``."""
        return ledger.last_operations(self._db, object_name, keys, field)

    def find_by_keys(self, object_name: str, keys: Iterable[str]) -> dict[str, str]:
        """``{key: sf_id}`` of live records sfrenew wrote under those keys."""
        return ledger.find_by_keys(self._db, object_name, keys)

    def find_by_key(self, object_name: str, key: str) -> str | None:
        """The Salesforce Id sfrenew wrote under ``key``, if any."""
        return self.find_by_keys(object_name, [key]).get(key)

    # --- field ownership -------------------------------------------------------------

    def get_owners(self, object_name: str,
                   keys: Iterable[str]) -> dict[tuple[str, str], FieldOwnership]:
        """``{(key, field): ownership}`` recorded for those records."""
        return ownership.get_owners(self._db, object_name, keys)

    def set_owners(self, rows: Iterable[FieldOwnership]) -> int:
        """Insert or replace ownership rows; return how many."""
        return ownership.set_owners(self._db, rows)

    # --- dead letters ----------------------------------------------------------------

    def add_dead_letters(self, run_id: str | None, rejections: Iterable[Rejection], *,
                         now: datetime) -> int:
        """Keep rejected rows (an open one for the same record and operation is bumped)."""
        return deadletters.add(self._db, run_id, rejections, now=now)

    def open_dead_letters(self, object_name: str | None = None) -> list[DeadLetter]:
        """Unresolved rejected rows."""
        return deadletters.open_letters(self._db, object_name)

    def resolve_dead_letters(self, object_name: str, keys: Iterable[str], *,
                             now: datetime) -> int:
        """Close the open letters of records that were written successfully since."""
        return deadletters.resolve(self._db, object_name, keys, now=now)

    def dead_letter_counts_by_code(self) -> dict[str, int]:
        """Open dead letters per error code."""
        return deadletters.counts_by_code(self._db)

    # --- locks -----------------------------------------------------------------------

    def lock(self, name: str, *, shared: bool = False) -> locks.AdvisoryLock:
        """The named lock (a :class:`sfrenew.locks.Lock`: PostgreSQL advisory lock;
        in-process on SQLite); ``shared`` holders only exclude exclusive ones."""
        return locks.AdvisoryLock(self._db, name, shared=shared)

    def advisory_lock(self, name: str, *, wait: bool = False) -> AbstractContextManager[None]:
        """Hold a named lock for a ``with`` block: ``lock(name).hold(wait=wait)``.
        Raises :class:`sfrenew.locks.Busy` when taken and ``wait`` is false."""
        return self.lock(name).hold(wait=wait)


def open_store(url: str = DEFAULT_URL, *, create: bool = True) -> StateStore:
    """Open (creating or migrating forward as needed) the state store at ``url``.

    ``sqlite:///path`` (the parent directory is created) or
    ``postgresql+psycopg://user@host:port/db``; add
    ``?options=-csearch_path%3Dmyschema`` to keep the tables in a schema. Raises
    :class:`SchemaTooNew` for a database written by a newer sfrenew and
    :class:`StoreMissing` when ``create`` is false and there is nothing there.
    """
    return StateStore(migrations.open_prepared(url, create=create))
