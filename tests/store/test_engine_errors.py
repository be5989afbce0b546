"""A store.url or state_dir sfrenew cannot use is a message naming the setting, never a
traceback (issue 16): postgres:// URLs, a database that does not exist, a server that is
not there, a state folder that cannot be created, a URL that is not one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from sfrenew.store import (
    StoreConfigurationError,
    StoreUnavailable,
    make_state_dir,
    normalise_url,
    open_store,
)
from tests.store.conftest import PG_URL


@pytest.mark.parametrize(("given", "read"), [
    # Heroku, Render, Fly and others hand out postgres:// URLs.
    ("postgres://u:p@db.example:5432/renewals", "postgresql+psycopg://u:p@db.example:5432/renewals"),
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///.state/sfrenew.sqlite3", "sqlite:///.state/sfrenew.sqlite3"),
])
def test_postgres_urls_are_read_as_psycopg(given: str, read: str) -> None:
    assert normalise_url(given) == read


def test_a_state_dir_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(StoreConfigurationError, match=r"^state_dir: cannot create the folder"):
        make_state_dir(blocker / "state")
    with pytest.raises(StoreConfigurationError, match=r"state_dir \(or store.url\): cannot "):
        open_store(f"sqlite:///{blocker}/state/sfrenew.sqlite3")


def test_a_url_that_is_not_one() -> None:
    with pytest.raises(StoreConfigurationError, match="is not a database URL: use sqlite"):
        open_store("not a url")


@pytest.mark.postgres
def test_a_database_that_does_not_exist_is_a_configuration_error() -> None:
    url = make_url(PG_URL).set(database="sfrenew_no_such_database")
    given = "postgres://" + url.render_as_string(hide_password=False).split("://", 1)[1]
    with pytest.raises(StoreConfigurationError) as exc:
        open_store(given)
    assert not isinstance(exc.value, StoreUnavailable)
    said = str(exc.value)
    assert said.startswith("store.url postgresql+psycopg://")
    assert "sfrenew_no_such_database" in said
    assert "createdb" in said


def test_a_server_that_is_not_there_is_unavailable_not_configuration() -> None:
    # Port 1 on the loopback: refused at once, no server answered.
    with pytest.raises(StoreUnavailable, match="check that the database server is up"):
        open_store("postgres://nobody@127.0.0.1:1/x")
