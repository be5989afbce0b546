"""The ledger's last-written snapshot means what the history means, on both backends.

``last_written`` and ``find_by_keys`` read the snapshot that ``record_results`` keeps;
these cases check it against the history's meaning: the newest successful write wins
(by write order, whatever order the results came in), a successful delete forgets
everything written to the key before it, failed and unanswered writes do not count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from sfrenew.store import (
    FieldWrite,
    Operation,
    RunKind,
    StateStore,
    WriteIntent,
    WriteResult,
    WriteStatus,
    codec,
    open_store,
)
from tests.store.conftest import NOW
from tests.store.test_migrations import raw, version_of

OK = WriteStatus.SUCCEEDED
FAILED = WriteStatus.FAILED


def opp(key: str, op: Operation, sf_id: str | None = None, **after: object) -> WriteIntent:
    return WriteIntent(object="Opportunity", key=key, operation=op, sf_id=sf_id,
                       fields=tuple(FieldWrite(f, None, a) for f, a in after.items()))


@pytest.fixture
def run(store: StateStore) -> str:
    store.start_run(run_id="r-1", job="main", kind=RunKind.APPLY, now=NOW)
    return "r-1"


def test_results_out_of_write_order_keep_the_newest_write(store: StateStore,
                                                          run: str) -> None:
    # Writes 1 and 2 set Amount; 2's result is recorded first (1 was a crashed run's
    # intent, settled later). The value is write 2's, as in the history.
    s = store.record_intents(run, [opp("k1", Operation.UPDATE, "006A", Amount=Decimal("1")),
                                   opp("k1", Operation.UPDATE, "006A", Amount=Decimal("2"),
                                       StageName="Won")], now=NOW)
    store.record_results(run, [WriteResult(s[1], OK)], now=NOW)
    store.record_results(run, [WriteResult(s[0], OK, sf_id="006B")], now=NOW)
    assert store.last_written("Opportunity", ["k1"]) == {
        ("k1", "Amount"): Decimal("2"), ("k1", "StageName"): "Won"}
    assert store.find_by_keys("Opportunity", ["k1"]) == {"k1": "006A"}


def test_a_delete_forgets_earlier_writes_whenever_its_result_comes(store: StateStore,
                                                                   run: str) -> None:
    # 1 create (006A, Amount 1), 2 delete, 3 re-create (006C, StageName), answered 3, 2, 1.
    s = store.record_intents(run, [opp("k1", Operation.CREATE, Amount=1),
                                   opp("k1", Operation.DELETE, "006A"),
                                   opp("k1", Operation.CREATE, StageName="Open")], now=NOW)
    store.record_results(run, [WriteResult(s[2], OK, sf_id="006C")], now=NOW)
    store.record_results(run, [WriteResult(s[1], OK)], now=NOW)
    store.record_results(run, [WriteResult(s[0], OK, sf_id="006A")], now=NOW)
    assert store.last_written("Opportunity", ["k1"]) == {("k1", "StageName"): "Open"}
    assert store.find_by_key("Opportunity", "k1") == "006C"

    # A delete of k2 newer than its only write: nothing left of k2.
    t = store.record_intents(run, [opp("k2", Operation.CREATE, Amount=5),
                                   opp("k2", Operation.DELETE, "006K")], now=NOW)
    store.record_results(run, [WriteResult(t[1], OK), WriteResult(t[0], OK, sf_id="006K")],
                         now=NOW)
    assert store.last_written("Opportunity", ["k2"]) == {}
    assert store.find_by_key("Opportunity", "k2") is None


def test_one_chunk_writing_a_record_twice(store: StateStore, run: str) -> None:
    s = store.record_intents(run, [opp("k1", Operation.CREATE, Amount=1, Name="a"),
                                   opp("k1", Operation.UPDATE, "006A", Amount=2),
                                   opp("k1", Operation.UPDATE, "006A", Amount=3),
                                   opp("k2", Operation.CREATE, Amount=9)], now=NOW)
    store.record_results(run, [WriteResult(s[0], OK, sf_id="006A"), WriteResult(s[1], OK),
                               WriteResult(s[2], FAILED, error_code="X"),
                               WriteResult(s[3], OK, sf_id="006Z")], now=NOW)
    assert store.last_written("Opportunity", ["k1", "k2"]) == {
        ("k1", "Amount"): 2, ("k1", "Name"): "a", ("k2", "Amount"): 9}
    assert store.find_by_keys("Opportunity", ["k1", "k2"]) == {"k1": "006A", "k2": "006Z"}


def test_settling_copies_stored_text_without_encoding_again(
        store: StateStore, run: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s = store.record_intents(run, [opp(f"k{i}", Operation.CREATE, Amount=Decimal(i),
                                       Name=f"n{i}") for i in range(10)], now=NOW)
    encoded: list[Any] = []
    real = codec.dumps

    def counting(value: Any) -> str:
        encoded.append(value)
        return real(value)

    monkeypatch.setattr(codec, "dumps", counting)
    store.record_results(run, [WriteResult(q, OK, sf_id=f"006{q:015d}") for q in s], now=NOW)
    # One encode per result (its error_fields), none for the 20 field values copied.
    assert encoded == [[]] * 10
    assert store.last_written("Opportunity", ["k3"]) == {("k3", "Amount"): Decimal(3),
                                                        ("k3", "Name"): "n3"}


@dataclass
class _History:
    """The history's meaning, folded by hand in write order (the reference)."""

    last: dict[tuple[str, str], Any]
    ids: dict[str, str]

    def apply(self, intent: WriteIntent, sf_id: str | None) -> None:
        if intent.operation is Operation.DELETE:
            self.last = {k: v for k, v in self.last.items() if k[0] != intent.key}
            self.ids.pop(intent.key, None)
            return
        for fw in intent.fields:
            self.last[(intent.key, fw.field)] = fw.after
        if sf_id:
            self.ids[intent.key] = sf_id


def _random_history(store: StateStore, seed: int,
                    settler: StateStore | None = None) -> _History:
    """Writes to a few keys over two runs, answered in shuffled order, some failing,
    some never answered (through ``settler``, if given: another process, which has
    not the intents in memory); returns the reference fold of what succeeded."""
    rnd = random.Random(seed)
    written: list[tuple[str, int, WriteIntent, str | None]] = []  # write order
    for run_id in ("r-a", "r-b"):
        store.start_run(run_id=run_id, job="main", kind=RunKind.APPLY, now=NOW)
        for _ in range(6):
            chunk = []
            for _ in range(rnd.randint(1, 6)):
                op = rnd.choice([Operation.CREATE, Operation.UPDATE, Operation.UPDATE,
                                 Operation.CLOSE, Operation.DELETE, Operation.RESTORE])
                fields = {f: rnd.choice([None, 1, "x", Decimal("2.50")])
                          for f in rnd.sample(["Amount", "Name", "StageName"],
                                              rnd.randint(0, 3))}
                chunk.append(opp(rnd.choice("abcd"), op,
                                 None if op is Operation.CREATE else "006OLD", **fields))
            seqs = store.record_intents(run_id, chunk, now=NOW)
            written += [(run_id, q, it, f"006{run_id[-1]}{q:014d}" if rnd.random() < 0.5
                         else None) for q, it in zip(seqs, chunk, strict=True)]
    reference = _History(last={}, ids={})
    answers = list(written)
    rnd.shuffle(answers)
    outcome = {}
    for run_id, q, _, new_id in answers:
        fate = rnd.choice([OK, OK, OK, FAILED, None])
        outcome[(run_id, q)] = fate
        if fate is not None:
            (settler or store).record_results(run_id, [WriteResult(q, fate, sf_id=new_id)],
                                              now=NOW)
    for run_id, q, intent, new_id in written:
        if outcome[(run_id, q)] is OK:
            reference.apply(intent, new_id if new_id is not None else intent.sf_id)
    return reference


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_snapshot_agrees_with_the_history_fold(store: StateStore, seed: int) -> None:
    reference = _random_history(store, seed)
    assert store.last_written("Opportunity", "abcdz") == reference.last
    assert store.find_by_keys("Opportunity", "abcdz") == reference.ids


@pytest.mark.parametrize("seed", [5, 6])
def test_results_settled_by_another_process_read_the_intents(store: StateStore,
                                                             store_url: str, seed: int) -> None:
    # A resumed run settles intents a dead process recorded: read from the ledger.
    with open_store(store_url) as other:
        reference = _random_history(store, seed, settler=other)
        assert other.last_written("Opportunity", "abcdz") == reference.last
        assert other.find_by_keys("Opportunity", "abcdz") == reference.ids


def test_migration_from_version_2_backfills_the_snapshot(store_url: str) -> None:
    with open_store(store_url) as store:
        reference = _random_history(store, 7)
        s = store.record_intents("r-a", [opp("m", Operation.CREATE, Amount=Decimal("12.30")),
                                         opp("m", Operation.UPDATE, "006M", Name="Renewal")],
                                 now=NOW)
        store.record_results("r-a", [WriteResult(s[1], OK),
                                     WriteResult(s[0], OK, sf_id="006M")], now=NOW)
    # Back to what a version-2 store holds: the history, no snapshot.
    with raw(store_url) as conn:
        conn.execute(text("DROP TABLE ledger_last"))
        conn.execute(text("DROP TABLE ledger_keys"))
        conn.execute(text("UPDATE meta SET value = '2' WHERE name = 'schema_version'"))
    assert version_of(store_url) == 2
    with open_store(store_url, create=False) as store:
        assert store.schema_version() == 3
        assert store.last_written("Opportunity", ["m"]) == {
            ("m", "Amount"): Decimal("12.30"), ("m", "Name"): "Renewal"}
        assert store.find_by_key("Opportunity", "m") == "006M"
        assert store.last_written("Opportunity", "abcd") == reference.last
        assert store.find_by_keys("Opportunity", "abcd") == reference.ids
