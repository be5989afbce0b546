"""Named advisory locks, for "one at a time per org" and scheduler leadership.

:class:`AdvisoryLock` is the store's implementation of :class:`sfrenew.locks.Lock`; a
lock that is taken raises the one :class:`sfrenew.locks.Busy`.

PostgreSQL: a session-level ``pg_try_advisory_lock`` (or ``pg_advisory_lock`` when
waiting) held on a dedicated pooled connection for the duration of the ``with``
block. The server drops it if the process dies, so a crashed replica never leaves a
stale lock behind.

SQLite: one process owns the file (the daemon's OS lock refuses a second one), so a
lock only has to exclude threads and stores inside this process: an in-process lock
per (database, name). A table-based lock would outlive a ``kill -9`` and need a
clock to expire, which the store does not read.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import func, select

from sfrenew.locks import Busy
from sfrenew.store.engine import Database, describe

_local_guard = threading.Lock()
_local_locks: dict[tuple[str, str], threading.Lock] = {}


def lock_key(name: str) -> int:
    """The signed 64-bit key PostgreSQL's advisory locks take, stable across processes."""
    digest = hashlib.blake2b(f"sfrenew:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _pg_lock(db: Database, name: str, *, wait: bool, shared: bool) -> Iterator[None]:
    key = lock_key(name)
    # Shared holders exclude an exclusive one but not each other (backfill chunks of an
    # org run together; its nightly run waits for all of them, and they for it).
    take = (func.pg_advisory_lock_shared if shared else func.pg_advisory_lock) if wait \
        else (func.pg_try_advisory_lock_shared if shared else func.pg_try_advisory_lock)
    unlock = func.pg_advisory_unlock_shared if shared else func.pg_advisory_unlock
    with db.engine.connect() as conn:
        if wait:
            conn.execute(select(take(key)))
            got = True
        else:
            got = bool(conn.scalar(select(take(key))))
        # End the implicit transaction: the lock is session-level, and an
        # idle-in-transaction connection would hold a snapshot for nothing.
        conn.commit()
        if not got:
            raise Busy(f"lock {name!r} is held by another process")
        try:
            yield
        finally:
            conn.execute(select(unlock(key)))
            conn.commit()


@contextmanager
def _local_lock(db: Database, name: str, *, wait: bool) -> Iterator[None]:
    with _local_guard:
        lock = _local_locks.setdefault((describe(db.engine), name), threading.Lock())
    if not lock.acquire(blocking=wait):
        raise Busy(f"lock {name!r} is held in this process")
    try:
        yield
    finally:
        lock.release()


@contextmanager
def advisory_lock(db: Database, name: str, *, wait: bool = False,
                  shared: bool = False) -> Iterator[None]:
    """Hold the lock ``name`` for the ``with`` block; :class:`~sfrenew.locks.Busy` if it
    is taken and ``wait`` is false. ``shared`` (PostgreSQL): several shared holders at
    once, none while an exclusive one holds it; SQLite, one process, has no shared mode."""
    if db.dialect == "postgresql":
        with _pg_lock(db, name, wait=wait, shared=shared):
            yield
    else:
        with _local_lock(db, name, wait=wait):
            yield


class AdvisoryLock:
    """The lock ``name`` in the store ``db``, as a :class:`sfrenew.locks.Lock`."""

    def __init__(self, db: Database, name: str, *, shared: bool = False) -> None:
        self._db = db
        self.name = name
        self.shared = shared

    def hold(self, *, wait: bool = False) -> AbstractContextManager[None]:
        """Hold it for the ``with`` block; :class:`~sfrenew.locks.Busy` if taken."""
        return advisory_lock(self._db, self.name, wait=wait, shared=self.shared)
