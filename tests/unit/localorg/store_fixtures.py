"""Shared helpers for the store tests: a stepping clock and a store with a user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sfrenew.localorg.schema import OrgSchema, default_schema
from sfrenew.localorg.store import OrgStore

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


class SteppingClock:
    """A clock that advances by ``step`` on each call (and can be set back)."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def open_store(tmp_path: Path, *, clock: SteppingClock | None = None,
               schema: OrgSchema | None = None) -> tuple[OrgStore, str]:
    """A store in ``tmp_path`` with one user; (store, user id)."""
    store = OrgStore(tmp_path / "org.db", schema or default_schema(),
                     clock=clock or SteppingClock())
    user = store.create_system_user({"Username": "rep@example.com", "FirstName": "Renée",
                                     "LastName": "Rep", "Email": "rep@example.com"})
    return store, user
