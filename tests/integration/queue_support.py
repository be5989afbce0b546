"""Helpers for the scale-out tests: a fresh PostgreSQL database per test, a config
for an org on it, and waiting on the queue's observable state."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, exc, make_url, text

from sfrenew.localorg.app import LocalOrg
from tests.integration.ops_support import MAPPING

PG_URL = os.environ.get("SFRENEW_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a database created for one test and dropped after it."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"sfrenew_queue_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except exc.OperationalError as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({err.orig})")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_queue_config(folder: Path, org: LocalOrg, *, url: str, name: str = "acme",
                       chunk_accounts: int = 10, concurrency: int = 4,
                       jobs_dir: Path | None = None, state_dir: str | None = None) -> Path:
    """A config for ``org`` on PostgreSQL at ``url``, with its queue section
    (``state_dir`` as written, e.g. relative to the file; default ``folder/state``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        f"salesforce:\n  target: local\n  local_data_dir: {org.data_dir}\n"
        f"  bulk_poll_seconds: 0.1\nstate_dir: {state_dir or folder / 'state'}\n"
        f"mappings: {MAPPING}\n"
        f"store:\n  url: '{url}'\n"
        f"queue:\n  org: {name}\n  chunk_accounts: {chunk_accounts}\n"
        f"  concurrency: {concurrency}\n  jobs_dir: {jobs_dir or folder / 'jobs'}\n",
        encoding="utf-8")
    return path


def wait_until(probe: Callable[[], T | None], *, timeout: float, what: str,
               every: float = 0.2, show: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns a value (not None); fail naming ``what`` (and
    with ``show()``'s text, e.g. the processes' output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(every)
    shown = "" if show is None else "\n" + show()[-20_000:]
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{shown}")
