"""The pull stores its batches in a thread of its own while it reads on, on each backend.

The gateway here is a stand-in that yields records as a read would (the pull through
the local org over HTTPS is covered by the run's integration tests); the store is the
real one. What is checked: batches are stored in order, while the next batch is read;
an object's watermark moves only after its last batch is stored; a failure while
storing or while reading is raised and nothing after it is stored or marked pulled;
a stop between batches keeps the old watermark.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sfrenew.mapping import load_mapping
from sfrenew.pull import pull
from sfrenew.pull.incremental import BATCH_ROWS
from sfrenew.salesforce.errors import UnexpectedResponse
from sfrenew.salesforce.port import ReadSpec
from sfrenew.store import StateStore
from sfrenew.store.values import MirrorRow, RunKind

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
UPPER = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
MAPPING = load_mapping(ROOT / "mappings/standard.yaml").model
ACCOUNTS = 5_000  # three batches: 2,000, 2,000, 1,000
CONTRACTS = 3


def _record(spec: ReadSpec, i: int) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(spec.fields)
    record["SystemModstamp"] = datetime(2026, 11, 1, tzinfo=UTC)
    if spec.sobject == "Account":
        record["Id"] = f"001{i:015d}"
    else:
        record["Id"] = f"800{i:015d}"
        record["AccountId"] = f"001{i:015d}"
    return record


class Gateway:
    """``read_many`` of the pull: Accounts and a few Contracts, nothing else.
    ``on_row(sobject, n)`` is called before the ``n``-th record of an object (from 1)
    is given."""

    def __init__(self, on_row: Callable[[str, int], None] = lambda _o, _n: None) -> None:
        self.on_row = on_row

    def read_many(self, specs: Sequence[ReadSpec]) -> Iterator[Iterator[dict[str, Any]]]:
        sizes = {"Account": ACCOUNTS, "Contract": CONTRACTS}
        for spec in specs:
            yield self._rows(spec, sizes.get(spec.sobject, 0))

    def _rows(self, spec: ReadSpec, n: int) -> Iterator[dict[str, Any]]:
        for i in range(1, n + 1):
            self.on_row(spec.sobject, i)
            yield _record(spec, i)


class Watched:
    """The real store, with what the pull did to it in order (and on which thread)."""

    def __init__(self, store: StateStore,
                 before_upsert: Callable[[str, int], None] = lambda _o, _n: None) -> None:
        self._store = store
        self._before_upsert = before_upsert
        self.events: list[tuple[str, str, int]] = []
        self.threads: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def upsert_mirror(self, object_name: str, rows: list[MirrorRow]) -> int:
        self.threads.add(threading.current_thread().name)
        self._before_upsert(object_name, sum(1 for e in self.events if e[0] == "rows"))
        written = self._store.upsert_mirror(object_name, rows)
        self.events.append(("rows", object_name, len(rows)))
        return written

    def set_watermark(self, object_name: str, value: datetime, *,
                      run_id: str | None = None) -> None:
        self._store.set_watermark(object_name, value, run_id=run_id)
        self.events.append(("watermark", object_name, 0))


def _pull(store: Any, gateway: Gateway, stop: threading.Event | None = None) -> Any:
    return pull(gateway=gateway, store=store, mapping=MAPPING, upper=UPPER,  # type: ignore[arg-type]
                overlap=UPPER - UPPER, run_id="r-1", stop=stop)


@pytest.fixture
def started(store: StateStore) -> StateStore:
    store.start_run(run_id="r-1", job="main", kind=RunKind.APPLY, now=NOW)
    return store


def test_batches_are_stored_in_order_while_the_next_is_read(started: StateStore) -> None:
    reading_second = threading.Event()
    gateway = Gateway(lambda o, n: reading_second.set()
                      if (o, n) == ("Account", BATCH_ROWS + 1) else None)

    def first_waits_for_the_reader(object_name: str, stored_batches: int) -> None:
        if stored_batches == 0:  # the reader goes on to the second batch meanwhile
            assert reading_second.wait(timeout=30), "the reader waited for the store"

    watched = Watched(started, first_waits_for_the_reader)
    result = _pull(watched, gateway)
    assert [e for e in watched.events if e[1] in ("Account", "Contract")] == [
        ("rows", "Account", 2_000), ("rows", "Account", 2_000), ("rows", "Account", 1_000),
        ("watermark", "Account", 0), ("rows", "Contract", CONTRACTS),
        ("watermark", "Contract", 0)]
    assert watched.threads == {"sfrenew-pull-store"}
    assert not result.stopped
    assert result.pulled["Account"] == ACCOUNTS
    assert result.pulled["Contract"] == CONTRACTS
    assert result.pulled["Case"] == 0  # nothing to read: pulled, watermark moved
    assert set(result.pulled) == set(started.watermarks())
    assert started.mirror_counts()["Account"].live == ACCOUNTS


def test_a_failure_while_storing_is_raised_and_nothing_after_it_is_stored(
        started: StateStore) -> None:
    def second_fails(object_name: str, stored_batches: int) -> None:
        if stored_batches == 1:
            raise OSError("disk full")

    watched = Watched(started, second_fails)
    with pytest.raises(OSError, match="disk full"):
        _pull(watched, Gateway())
    assert watched.events == [("rows", "Account", 2_000)]
    assert started.watermarks() == {}  # read again from the start next time
    assert started.mirror_counts()["Account"].live == 2_000
    assert "Contract" not in started.mirror_counts()


def test_a_failure_while_reading_is_raised_after_what_was_read_is_stored(
        started: StateStore) -> None:
    def breaks(sobject: str, n: int) -> None:
        if (sobject, n) == ("Account", 3_000):
            raise UnexpectedResponse("the answer was cut short")

    watched = Watched(started)
    with pytest.raises(UnexpectedResponse, match="cut short"):
        _pull(watched, Gateway(breaks))
    assert watched.events == [("rows", "Account", 2_000)]
    assert started.watermarks() == {}


def test_a_stop_between_batches_keeps_the_old_watermark(started: StateStore) -> None:
    stop = threading.Event()
    gateway = Gateway(lambda o, n: stop.set() if (o, n) == ("Account", 2_500) else None)
    watched = Watched(started)
    result = _pull(watched, gateway, stop)
    assert result.stopped
    # The batch being read when the stop came is stored; nothing after it is read.
    assert watched.events == [("rows", "Account", 2_000), ("rows", "Account", 2_000)]
    assert result.pulled == {"Account": 4_000}
    assert started.watermarks() == {}
