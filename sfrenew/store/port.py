"""The state store's interface, declared once: what the runner and the steps call.

:class:`sfrenew.store.StateStore` (SQLAlchemy: SQLite, PostgreSQL) implements it; the
steps (pull, plan, apply) and the runner take a :class:`StorePort`, so a step never
depends on SQLAlchemy, and another implementation (an in-memory one for a test, a
queue worker's) only has to implement this. The values it takes and returns are in
:mod:`sfrenew.store.values`, the errors in :mod:`sfrenew.store.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sfrenew.locks import Lock
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

DEFAULT_BATCH = 1000  # mirror rows per transaction, groups per page
PLAN_GROUPS_BATCH = 100  # accounts per query when reading only some accounts


class StorePort(Protocol):
    """Mirror, watermarks, runs, ledger, field ownership, dead letters and locks."""

    @property
    def url(self) -> str:
        """Where the store is (password hidden)."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""

    def schema_version(self) -> int:
        """The schema version of the open database."""

    def close(self) -> None:
        """Close every pooled connection."""

    def upsert_mirror(self, object_name: str, rows: Iterable[MirrorRow], *,
                      batch: int = DEFAULT_BATCH) -> int:
        """Insert or replace pulled records of one object, ``batch`` rows per transaction; return
        how many were written."""

    def mark_deleted(self, object_name: str, ids: Iterable[str], *,
                     system_modstamp: str | None = None) -> int:
        """Flag records deleted in the org; return how many the mirror held."""

    def purge_deleted(self, object_name: str | None = None) -> int:
        """Drop records flagged deleted; return how many."""

    def get_mirror(self, object_name: str, ids: Iterable[str]) -> dict[str, MirrorRecord]:
        """``{sf_id: record}`` for the mirrored records of one object among ``ids``."""

    def iter_object(self, object_name: str, *, batch: int = DEFAULT_BATCH,
                    ) -> Iterator[MirrorRecord]:
        """Every live mirrored record of one object, in ``sf_id`` order (objects mirrored
        without an account: price book entries). Memory: one page."""

    def iter_groups(self, objects: Iterable[str], *, batch: int = DEFAULT_BATCH,
                    include_deleted: bool = False,
                    after_group: str | None = None) -> Iterator[MirrorGroup]:
        """Stream the mirror account by account (``group_key`` order): each group has every
        record of ``objects`` for that account. Memory: one group + one page."""

    def iter_groups_of(self, objects: Iterable[str], group_keys: Sequence[str], *,
                       batch: int = PLAN_GROUPS_BATCH) -> Iterator[MirrorGroup]:
        """The live records of ``objects`` of the accounts ``group_keys`` (sorted), one
        group at a time in that order; accounts with none are not yielded."""

    def mirror_version(self) -> int:
        """The newest mirror version: every mirror write takes the next one."""

    def ungrouped_version(self) -> int:
        """The version of the last change to records mirrored without an account."""

    def plan_meta(self) -> PlanMeta | None:
        """The last complete plan's fingerprint and mirror version, if saved."""

    def set_plan_meta(self, meta: PlanMeta | None) -> None:
        """Save the plan's meta, or forget it (None): the next plan is a full pass."""

    def replan_groups(self, today: str) -> list[str]:
        """The accounts to plan again (changed, or their day has come), in order."""

    def iter_plan_states(self, *, batch: int = DEFAULT_BATCH,
                         after_group: str | None = None) -> Iterator[PlanState]:
        """Every account's plan state in ``group_key`` order (after ``after_group`` if
        given), a page at a time."""

    def save_plan_states(self, states: Iterable[PlanState], *,
                         drop: Sequence[str] = ()) -> None:
        """Insert or replace plan states; drop those of ``drop``; one transaction."""

    def clear_plan_states(self) -> None:
        """Forget every account's plan state."""

    def count_groups(self, objects: Iterable[str]) -> int:
        """How many accounts :meth:`iter_groups` would yield (for progress)."""

    def group_keys(self, objects: Iterable[str]) -> list[str]:
        """The accounts :meth:`iter_groups` would yield, in order (to split a plan)."""

    def mirror_counts(self) -> dict[str, MirrorCount]:
        """Live and deleted records per object."""

    def get_watermark(self, object_name: str) -> datetime | None:
        """The SystemModstamp ``object_name`` is pulled up to, or None (never pulled)."""

    def set_watermark(self, object_name: str, value: datetime, *,
                      run_id: str | None = None) -> None:
        """Move the watermark; call only once the object's pull has committed."""

    def watermarks(self) -> dict[str, datetime]:
        """Every object's watermark."""

    def clear_watermarks(self, objects: Iterable[str] | None = None) -> None:
        """Forget watermarks (all, or some) so the next pull reads everything."""

    def start_run(self, *, run_id: str, job: str, kind: RunKind, now: datetime,
                  params: Mapping[str, Any] | None = None) -> Run:
        """Record a new ``running`` run (see :func:`make_run_id` for ids)."""

    def update_checkpoint(self, run_id: str, checkpoint: Mapping[str, Any], *,
                          stats: RunStats | None = None) -> None:
        """Save a running run's resume point (and stats so far, replacing the old)."""

    def finish_run(self, run_id: str, *, status: RunStatus, now: datetime,
                   stats: RunStats | None = None, error: str | None = None) -> Run:
        """End a running run (succeeded, failed, stopped or interrupted)."""

    def resume_run(self, run_id: str) -> Run:
        """Set an interrupted run running again; returns it with its checkpoint."""

    def get_run(self, run_id: str) -> Run:
        """The run; :class:`UnknownRun` if there is none."""

    def list_runs(self, limit: int = 20, *, job: str | None = None,
                  kind: RunKind | None = None) -> list[Run]:
        """The newest runs first."""

    def last_run(self, job: str, *, status: RunStatus | None = None) -> Run | None:
        """The newest run of ``job`` (with ``status``, if given)."""

    def unfinished_runs(self, *, job: str | None = None) -> list[Run]:
        """Runs left ``running`` or ``interrupted``, oldest first."""

    def keep_plan_file(self, run_id: str, path: Path) -> None:
        """Keep ``run_id``'s saved plan file in the store (PostgreSQL; a no-op on SQLite),
        so the run resumes on a machine that does not have the file."""

    def restore_plan_file(self, run_id: str, path: Path) -> bool:
        """Write ``run_id``'s kept plan file to ``path``; False when none is kept."""

    def drop_plan_file(self, run_id: str, *, superseded_in: str | None = None) -> None:
        """Forget ``run_id``'s kept plan file (the run settled) and, with
        ``superseded_in`` (its job, on success), those of the job's earlier runs left
        stopped or interrupted."""

    def record_intents(self, run_id: str, intents: Iterable[WriteIntent], *,
                       now: datetime) -> list[int]:
        """Before sending a chunk: record its writes in one transaction; returns each write's
        ``seq`` (in order) for :meth:`record_results`. The results follow within the
        batch (REST), so the store keeps the intents in memory until then."""

    def record_intents_kept(self, run_id: str, intents: Iterable[WriteIntent], *,
                            now: datetime) -> list[RecordedIntent]:
        """:meth:`record_intents` for writes whose answer comes much later (a Bulk job):
        the intents as recorded, in order, for the caller to keep (on disk, not in the
        store's memory) and hand back to :meth:`record_results`, which then need not
        read them back from the ledger."""

    def record_results(self, run_id: str, results: Iterable[WriteResult], *,
                       now: datetime, intents: Iterable[RecordedIntent] = ()) -> None:
        """After Salesforce answered: record each write's outcome in one transaction
        (``intents``: those :meth:`record_intents_kept` gave back, any subset)."""

    def pending_intents(self, run_id: str) -> list[LedgerEntry]:
        """Writes of ``run_id`` with no recorded result (maybe sent, maybe not)."""

    def ledger_entries(self, run_id: str) -> Iterator[LedgerEntry]:
        """Every write of ``run_id`` with its outcome, in order (streamed)."""

    def writes_of_run(self, run_id: str) -> list[RecordWrites]:
        """What ``run_id`` successfully wrote, per record, for rollback."""

    def written_counts(self, run_ids: Iterable[str]) -> dict[str, dict[str, LedgerCounts]]:
        """Per run and object, what the ledger holds (every attempt; see LedgerCounts)."""

    def last_written(self, object_name: str,
                     keys: Iterable[str]) -> dict[tuple[str, str], Any]:
        """``{(key, field): value}`` last written successfully by sfrenew."""

    def last_operations(self, object_name: str, keys: Iterable[str],
                        field: str) -> dict[str, tuple[Operation, datetime]]:
        """``{key: (operation, when)}`` of sfrenew's last successful write of ``field``."""

    def find_by_keys(self, object_name: str, keys: Iterable[str]) -> dict[str, str]:
        """``{key: sf_id}`` of live records sfrenew wrote under those keys."""

    def find_by_key(self, object_name: str, key: str) -> str | None:
        """The Salesforce Id sfrenew wrote under ``key``, if any."""

    def get_owners(self, object_name: str,
                   keys: Iterable[str]) -> dict[tuple[str, str], FieldOwnership]:
        """``{(key, field): ownership}`` recorded for those records."""

    def set_owners(self, rows: Iterable[FieldOwnership]) -> int:
        """Insert or replace ownership rows; return how many."""

    def add_dead_letters(self, run_id: str | None, rejections: Iterable[Rejection], *,
                         now: datetime) -> int:
        """Keep rejected rows (an open one for the same record and operation is bumped)."""

    def open_dead_letters(self, object_name: str | None = None) -> list[DeadLetter]:
        """Unresolved rejected rows."""

    def resolve_dead_letters(self, object_name: str, keys: Iterable[str], *,
                             now: datetime) -> int:
        """Close the open letters of records that were written successfully since."""

    def dead_letter_counts_by_code(self) -> dict[str, int]:
        """Open dead letters per error code."""

    def lock(self, name: str, *, shared: bool = False) -> Lock:
        """The named lock (a :class:`sfrenew.locks.Lock`: PostgreSQL advisory lock; in-process on
        SQLite); ``shared`` holders only exclude exclusive ones."""

    def advisory_lock(self, name: str, *, wait: bool = False) -> AbstractContextManager[None]:
        """Hold a named lock for a ``with`` block: ``lock(name).hold(wait=wait)``. Raises
        :class:`sfrenew.locks.Busy` when taken and ``wait`` is false."""
