"""Mirror upserts, deletes, reads, account-by-account streaming, and watermarks."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from sfrenew.store import MirrorCount, MirrorRow, StateStore
from tests.store.conftest import NOW


def acct(i: int) -> str:
    return f"001{i:015d}"


def rows(obj_prefix: str, n: int, *, groups: int, start: int = 0) -> Iterator[MirrorRow]:
    for i in range(start, start + n):
        yield MirrorRow(sf_id=f"{obj_prefix}{i:015d}", group_key=acct(i % groups),
                        system_modstamp="2026-11-24T07:15:00.000+0000",
                        data={"Id": f"{obj_prefix}{i:015d}", "Amount": Decimal(i) / 100})


def test_upsert_inserts_then_replaces(store: StateStore) -> None:
    first = [MirrorRow("800A", {"Status": "Draft", "EndDate": "2026-12-31"}, group_key=acct(1),
                       system_modstamp="2026-11-01T00:00:00.000+0000")]
    assert store.upsert_mirror("Contract", first) == 1
    second = [MirrorRow("800A", {"Status": "Activated"}, group_key=acct(2),
                        system_modstamp="2026-11-02T00:00:00.000+0000"),
              MirrorRow("800B", {"Status": "Activated", "Amount": Decimal("1200.50")})]
    assert store.upsert_mirror("Contract", second) == 2
    got = store.get_mirror("Contract", ["800A", "800B", "800Z"])
    assert set(got) == {"800A", "800B"}
    assert got["800A"].data == {"Status": "Activated"}
    assert got["800A"].group_key == acct(2)
    assert got["800A"].system_modstamp == "2026-11-02T00:00:00.000+0000"
    assert got["800B"].data["Amount"] == Decimal("1200.50")
    assert got["800B"].group_key is None
    assert store.get_mirror("Account", ["800A"]) == {}  # the key is (object, Id)


def test_same_id_twice_in_a_batch_keeps_the_last(store: StateStore) -> None:
    batch = [MirrorRow("800A", {"v": 1}), MirrorRow("800A", {"v": 2})]
    assert store.upsert_mirror("Contract", batch) == 1
    assert store.get_mirror("Contract", ["800A"])["800A"].data == {"v": 2}


def test_upsert_in_many_batches_and_counts(store: StateStore) -> None:
    assert store.upsert_mirror("Contract", rows("800", 2_345, groups=100), batch=500) == 2_345
    assert store.upsert_mirror("Account", [MirrorRow(acct(0), {}, group_key=acct(0))]) == 1
    assert store.mirror_counts() == {"Account": MirrorCount(live=1, deleted=0),
                                      "Contract": MirrorCount(live=2_345, deleted=0)}


def test_mark_deleted_and_purge(store: StateStore) -> None:
    store.upsert_mirror("Contract", rows("800", 10, groups=2))
    ids = [f"800{i:015d}" for i in (1, 2)]
    assert store.mark_deleted("Contract", [*ids, "800nothere"],
                              system_modstamp="2026-11-25T00:00:00.000+0000") == 2
    got = store.get_mirror("Contract", ids)
    assert all(r.is_deleted for r in got.values())
    assert got[ids[0]].system_modstamp == "2026-11-25T00:00:00.000+0000"
    assert store.mirror_counts()["Contract"] == MirrorCount(live=8, deleted=2)
    # A deleted record leaves the stream unless asked for.
    streamed = {r.sf_id for g in store.iter_groups(["Contract"]) for r in g.of("Contract")}
    assert streamed.isdisjoint(ids)
    with_deleted = {r.sf_id for g in store.iter_groups(["Contract"], include_deleted=True)
                    for r in g.of("Contract")}
    assert set(ids) <= with_deleted
    assert store.purge_deleted("Contract") == 2
    assert store.mirror_counts()["Contract"] == MirrorCount(live=8, deleted=0)


def test_groups_hold_every_object_of_one_account(store: StateStore) -> None:
    store.upsert_mirror("Contract", rows("800", 30, groups=7))
    store.upsert_mirror("Opportunity", rows("006", 20, groups=5))
    store.upsert_mirror("Task", rows("00T", 9, groups=3))  # not asked for
    store.upsert_mirror("Contract", [MirrorRow("800orphan", {})])  # no account: not streamed
    groups = list(store.iter_groups(["Opportunity", "Contract"], batch=4))
    assert [g.group_key for g in groups] == [acct(i) for i in range(7)]
    assert sum(len(g) for g in groups) == 50
    for g in groups:
        assert set(g.records) <= {"Contract", "Opportunity"}
        for obj, recs in g.records.items():
            assert all(r.group_key == g.group_key and r.object == obj for r in recs)
            assert [r.sf_id for r in recs] == sorted(r.sf_id for r in recs)
    assert groups[6].of("Opportunity") == ()  # accounts 5 and 6 have no opportunity
    assert list(store.iter_groups([])) == []
    assert store.count_groups(["Opportunity", "Contract"]) == 7
    assert store.count_groups(["Opportunity"]) == 5
    # the accounts to split a plan by: those iter_groups yields, in its order
    assert store.group_keys(["Opportunity", "Contract"]) == [acct(i) for i in range(7)]
    assert store.group_keys(["Opportunity"]) == [acct(i) for i in range(5)]
    assert store.group_keys([]) == []
    # Resuming after a checkpointed account yields exactly the accounts after it.
    resumed = list(store.iter_groups(["Opportunity", "Contract"], batch=4,
                                     after_group=acct(3)))
    assert resumed == groups[4:]


def test_streaming_is_paged_not_fetched_at_once(store: StateStore) -> None:
    """Memory is one group plus one page: the stream runs one bounded query per page,
    lazily, so a row added to a later account while streaming is still seen."""
    n, groups, batch = 5_000, 500, 100
    store.upsert_mirror("Contract", rows("800", n, groups=groups), batch=1_000)
    pages: list[Any] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              executemany: bool) -> None:
        if "FROM mirror" in statement and "LIMIT" in statement:
            pages.append(params)

    engine = store._db.engine  # the contract test watches the store's own queries
    event.listen(engine, "before_cursor_execute", count)
    try:
        stream = store.iter_groups(["Contract"], batch=batch)
        first = next(stream)
        assert first.group_key == acct(0)
        assert len(pages) <= 2  # the first group needs at most two pages, not all of them
        store.upsert_mirror("Contract", [MirrorRow("800late", {}, group_key=acct(groups - 1))])
        rest = list(stream)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(first) + sum(len(g) for g in rest) == n + 1
    assert "800late" in {r.sf_id for r in rest[-1].of("Contract")}
    assert n // batch <= len(pages) <= n // batch + 2


def test_a_group_bigger_than_a_page_stays_whole(store: StateStore) -> None:
    store.upsert_mirror("Contract", rows("800", 250, groups=1))
    store.upsert_mirror("Opportunity", rows("006", 3, groups=2))
    groups = list(store.iter_groups(["Contract", "Opportunity"], batch=7))
    assert [len(g) for g in groups] == [252, 1]


def test_batch_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ValueError, match="batch"):
        list(store.iter_groups(["Contract"], batch=0))


def test_watermarks(store: StateStore) -> None:
    assert store.get_watermark("Contract") is None
    store.set_watermark("Contract", NOW, run_id="r-1")
    store.set_watermark("Account", NOW - timedelta(days=1))
    assert store.get_watermark("Contract") == NOW
    later = NOW + timedelta(hours=1, microseconds=123_000)
    store.set_watermark("Contract", later)
    got = store.get_watermark("Contract")
    assert got == later
    assert got is not None
    assert got.utcoffset() == timedelta(0)  # aware UTC on both backends
    assert store.watermarks() == {"Account": NOW - timedelta(days=1), "Contract": later}
    store.clear_watermarks(["Account"])
    assert store.watermarks() == {"Contract": later}
    store.clear_watermarks()
    assert store.watermarks() == {}


def test_naive_datetimes_are_refused(store: StateStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.set_watermark("Contract", NOW.replace(tzinfo=None))


def _stream_peak(store: StateStore, *, batch: int) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for group in store.iter_groups(["Contract"], batch=batch):
            assert len(group) == 10
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_mirror(store: StateStore) -> None:
    """Peak memory streaming 4× the rows stays about the same (a fetch-all would not)."""
    def accounts(start: int, stop: int) -> Iterator[MirrorRow]:
        for i in range(start, stop):
            yield MirrorRow(sf_id=f"800{i:015d}", group_key=acct(i // 10),
                            data={"Id": f"800{i:015d}", "Amount": Decimal(i) / 100})

    store.upsert_mirror("Contract", accounts(0, 4_000), batch=2_000)
    small = _stream_peak(store, batch=200)
    store.upsert_mirror("Contract", accounts(4_000, 16_000), batch=2_000)
    large = _stream_peak(store, batch=200)
    assert large < 1.5 * small, (small, large)


def test_iter_object_pages_every_live_record_of_one_object(store: StateStore) -> None:
    """Objects mirrored without an account (price book entries) are read whole, paged."""
    store.upsert_mirror("PricebookEntry", [
        MirrorRow(f"01u{i:015d}", {"UnitPrice": Decimal(i)}, group_key=None)
        for i in range(7)])
    store.upsert_mirror("Contract", rows("800", 3, groups=1))
    store.mark_deleted("PricebookEntry", ["01u000000000000003"])
    got = list(store.iter_object("PricebookEntry", batch=2))
    # 7 upserted − 1 deleted = 6, in Id order, whatever the page size; no other object
    assert [r.sf_id for r in got] == [f"01u{i:015d}" for i in (0, 1, 2, 4, 5, 6)]
    assert got[3].data == {"UnitPrice": Decimal(4)}
    assert list(store.iter_object("Nothing", batch=2)) == []
    with pytest.raises(ValueError, match="batch"):
        list(store.iter_object("PricebookEntry", batch=0))
