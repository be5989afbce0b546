"""Locks: one interface, one "busy" error, a file lock for one machine.

Everything in sfrenew that must happen one at a time takes a :class:`Lock` and
``with lock.hold():`` around the work; a lock someone else holds raises :class:`Busy`
(unless ``wait=True``), whatever the implementation:

* :class:`FileLock` — an exclusive ``flock`` on a file in the state directory, with the
  holder's PID written in it. The kernel drops it when the process dies, even on
  ``kill -9``, so no stale lock needs a clock to expire. The daemon holds
  ``daemon.lock`` for its life; every run holds ``run.lock`` (SQLite state).
* ``sfrenew.store.locks.AdvisoryLock`` — a named lock in the state store: a PostgreSQL
  session-level advisory lock across replicas (scale-out), an in-process lock on
  SQLite. SQLAlchemy lives in the store, so that implementation does too.

This module imports nothing of sfrenew: the store, the runner and the daemon all
build on it.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Protocol


class Busy(Exception):
    """Someone else holds the lock: another run, another daemon, another replica.

    Expected in normal operation: the daemon waits and tries again, the CLI says who
    holds it and exits 1. ``pid`` is the holder's process id when the lock records it.
    """

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class Lock(Protocol):
    """Something only one holder may hold at a time."""

    def hold(self, *, wait: bool = False) -> AbstractContextManager[None]:
        """Hold the lock for a ``with`` block; :class:`Busy` if taken and not ``wait``."""


class FileLock:
    """An exclusive ``flock`` on ``path`` with the holder's PID in the file.

    ``busy`` is the message a second holder gets, as it is; the default names the
    holder's PID, the file and the ``purpose``. Also usable directly as a
    context manager or with :meth:`acquire`/:meth:`release`, for a lock held across
    calls (the daemon's).
    """

    def __init__(self, path: Path, *, purpose: str, busy: str | None = None) -> None:
        self.path = path
        self.purpose = purpose
        self._busy = busy
        self._fd: int | None = None

    def holder(self) -> int | None:
        """The PID written by the current holder (None if unreadable)."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def acquire(self, *, wait: bool = False) -> FileLock:
        """Take the lock; raise :class:`Busy` when another holder has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise self._refused() from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def _refused(self) -> Busy:
        pid = self.holder()
        if self._busy is not None:
            return Busy(self._busy, pid=pid)
        who = f"process {pid}" if pid else "another process"
        return Busy(f"{who} holds {self.path} ({self.purpose}); stop it first, or give "
                    "this one another state_dir", pid=pid)

    def release(self) -> None:
        """Let go (the PID is cleared so a reader does not blame a finished process)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def hold(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the lock for the ``with`` block."""
        self.acquire(wait=wait)
        try:
            yield
        finally:
            self.release()

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
