"""One contract suite, every backend: each ``store`` test runs on SQLite and PostgreSQL.

PostgreSQL: a fresh database per test session (dropped at the end) and a fresh
schema per test inside it (selected with ``search_path`` in the URL, dropped after
the test). Set ``SFRENEW_TEST_PG_URL`` to use another server; when none can be
reached the PostgreSQL cases are skipped with the reason (CI makes sure one is up).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, exc, make_url, text

from sfrenew.store import StateStore, open_store

PG_URL = os.environ.get("SFRENEW_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")

NOW = datetime(2026, 11, 24, 7, 15, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a database created for this test session."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"sfrenew_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except exc.OperationalError as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({err.orig}); "
                    "start it or set SFRENEW_TEST_PG_URL")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _fresh_schema(database: str) -> Iterator[str]:
    """A URL on ``database`` whose search path is a new, empty schema (dropped after)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(database)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(database).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A URL where no state store exists yet, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state/sfrenew.sqlite3"
        return
    with _fresh_schema(request.getfixturevalue("pg_database")) as url:
        yield url


@pytest.fixture
def pg_store_url(pg_database: str) -> Iterator[str]:
    """A URL where no state store exists yet, on PostgreSQL only (the job queue's)."""
    with _fresh_schema(pg_database) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    """A fresh, open state store on each backend."""
    with open_store(store_url) as opened:
        yield opened
