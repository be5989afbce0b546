"""Ledger: intents before, results after, pending, rollback input, last written, keys."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

from sfrenew.store import (
    NOT_SENT,
    FieldWrite,
    LedgerCounts,
    Operation,
    RunKind,
    RunStateError,
    StateStore,
    UnknownIntent,
    UnknownRun,
    WriteIntent,
    WriteResult,
    WriteStatus,
    ledger,
    open_store,
)
from tests.store.conftest import NOW

OK = WriteStatus.SUCCEEDED
LATER = NOW + timedelta(seconds=2)


def opp(key: str, op: Operation, sf_id: str | None = None, **fields: tuple[object, object],
        ) -> WriteIntent:
    return WriteIntent(object="Opportunity", key=key, operation=op, sf_id=sf_id,
                       fields=tuple(FieldWrite(f, b, a) for f, (b, a) in fields.items()))


@pytest.fixture
def run(store: StateStore) -> str:
    store.start_run(run_id="r-1", job="main", kind=RunKind.APPLY, now=NOW)
    return "r-1"


def test_intents_then_results(store: StateStore, run: str) -> None:
    seqs = store.record_intents(run, [
        opp("k1", Operation.CREATE, Amount=(None, Decimal("1200.00")),
            CloseDate=(None, date(2027, 1, 1))),
        opp("k2", Operation.UPDATE, "006B", StageName=("Prospecting", "Qualification")),
    ], now=NOW)
    assert seqs == [1, 2]
    assert store.record_intents(run, [opp("k3", Operation.CREATE)], now=NOW) == [3]
    assert store.record_intents(run, [], now=NOW) == []
    assert [p.seq for p in store.pending_intents(run)] == [1, 2, 3]

    store.record_results(run, [
        WriteResult(1, OK, sf_id="006A"),
        WriteResult(2, WriteStatus.FAILED, error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    error_message="Stage cannot go back", error_fields=("StageName",)),
    ], now=LATER)
    pending = store.pending_intents(run)
    assert [(p.seq, p.key, p.status) for p in pending] == [(3, "k3", WriteStatus.INTENT)]

    entries = {e.seq: e for e in store.ledger_entries(run)}
    assert entries[1].status is OK
    assert entries[1].sf_id == "006A"
    assert entries[1].intent_at == NOW
    assert entries[1].result_at == LATER
    assert entries[1].fields == (FieldWrite("Amount", None, Decimal("1200.00")),
                                 FieldWrite("CloseDate", None, date(2027, 1, 1)))
    assert entries[2].status is WriteStatus.FAILED
    assert entries[2].sf_id == "006B"
    assert entries[2].error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert entries[2].error_fields == ("StageName",)
    assert entries[3].result_at is None


def test_results_are_checked(store: StateStore, run: str) -> None:
    store.record_intents(run, [opp("k1", Operation.CREATE)], now=NOW)
    with pytest.raises(UnknownIntent, match=r"seq \[9\]"):
        store.record_results(run, [WriteResult(9, OK)], now=NOW)
    with pytest.raises(ValueError, match="succeeded or failed"):
        store.record_results(run, [WriteResult(1, WriteStatus.INTENT)], now=NOW)
    store.record_results(run, [WriteResult(1, OK, sf_id="006A")], now=NOW)
    with pytest.raises(RunStateError, match="already recorded"):
        store.record_results(run, [WriteResult(1, OK, sf_id="006A")], now=NOW)
    with pytest.raises(UnknownRun):
        store.record_intents("r-404", [opp("k1", Operation.CREATE)], now=NOW)


def test_results_another_process_recorded_are_refused(store: StateStore, run: str,
                                                     store_url: str) -> None:
    (seq,) = store.record_intents(run, [opp("k1", Operation.CREATE, Amount=(None, 1))],
                                  now=NOW)
    with open_store(store_url) as other:
        other.record_results(run, [WriteResult(seq, OK, sf_id="006A")], now=NOW)
    with pytest.raises(RunStateError, match=r"already recorded for seq \[1\]"):
        store.record_results(run, [WriteResult(seq, WriteStatus.FAILED)], now=NOW)
    assert store.last_written("Opportunity", ["k1"]) == {("k1", "Amount"): 1}


def test_intents_past_the_books_limit_are_read_back(store: StateStore, run: str) -> None:
    book = ledger.IntentBook(limit=1)  # holds k2 only: k1 is read from the ledger
    db = store._db
    seqs = ledger.record_intents(db, run, [opp("k1", Operation.CREATE, Amount=(None, 1)),
                                           opp("k2", Operation.CREATE, Amount=(None, 2))],
                                 now=NOW, book=book)
    ledger.record_results(db, run, [WriteResult(q, OK, sf_id=f"006{q}") for q in seqs],
                          now=NOW, book=book)
    assert book.get(run, seqs) == {}
    assert store.last_written("Opportunity", ["k1", "k2"]) == {("k1", "Amount"): 1,
                                                               ("k2", "Amount"): 2}
    assert store.find_by_keys("Opportunity", ["k1", "k2"]) == {"k1": "0061", "k2": "0062"}


def test_kept_intents_settle_their_results_as_the_ledger_would(
        store: StateStore, run: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Bulk row's intent, kept by the caller and handed back with its result, is the
    # one the ledger holds; with it the results read nothing back.
    kept = store.record_intents_kept(run, [
        opp("k1", Operation.CREATE, Amount=(None, Decimal("1200.00")),
            CloseDate=(None, date(2027, 1, 1))),
        opp("k2", Operation.UPDATE, "006B", StageName=("Prospecting", "Qualification"))],
        now=NOW)
    assert [it.seq for it in kept] == [1, 2]
    with store._db.read() as conn:
        assert ledger._read_intents(conn, run, [1, 2]) == {it.seq: it for it in kept}
    assert ledger.IntentBook().get(run, [1, 2]) == {}
    assert store._intents.get(run, [1, 2]) == {}  # not kept in the store's memory

    def no_reading(*_a: object, **_k: object) -> None:
        raise AssertionError("the intents were read back")

    monkeypatch.setattr(ledger, "_read_intents", no_reading)
    store.record_results(run, [WriteResult(1, OK, sf_id="006A"), WriteResult(2, OK)],
                         now=LATER, intents=kept)
    assert store.last_written("Opportunity", ["k1", "k2"]) == {
        ("k1", "Amount"): Decimal("1200.00"), ("k1", "CloseDate"): date(2027, 1, 1),
        ("k2", "StageName"): "Qualification"}
    assert store.find_by_keys("Opportunity", ["k1", "k2"]) == {"k1": "006A", "k2": "006B"}
    assert not store.pending_intents(run)
    with pytest.raises(RunStateError, match="already recorded"):  # still refused twice
        store.record_results(run, [WriteResult(1, OK)], now=LATER, intents=kept)


def test_kept_intents_of_another_run_or_seq_are_not_taken(store: StateStore,
                                                          run: str) -> None:
    store.start_run(run_id="r-2", job="main", kind=RunKind.APPLY, now=NOW)
    (other,) = store.record_intents_kept("r-2", [opp("k9", Operation.CREATE,
                                                     Amount=(None, 9))], now=NOW)
    (mine,) = store.record_intents_kept(run, [opp("k1", Operation.CREATE,
                                                  Amount=(None, 1))], now=NOW)
    assert other.seq == mine.seq == 1
    # r-2's intent 1 is handed over by mistake: run r-1's own is read from the ledger.
    store.record_results(run, [WriteResult(1, OK, sf_id="006A")], now=LATER,
                         intents=[other])
    assert store.last_written("Opportunity", ["k1", "k9"]) == {("k1", "Amount"): 1}


def test_a_failed_chunk_transaction_records_nothing(store: StateStore, run: str) -> None:
    store.record_intents(run, [opp("k1", Operation.CREATE), opp("k2", Operation.CREATE)],
                         now=NOW)
    with pytest.raises(UnknownIntent):
        store.record_results(run, [WriteResult(1, OK), WriteResult(5, OK)], now=NOW)
    assert len(store.pending_intents(run)) == 2  # seq 1 was not recorded either


def test_last_written_and_find_by_key_across_runs(store: StateStore, run: str) -> None:
    s1 = store.record_intents(run, [
        opp("k1", Operation.CREATE, Amount=(None, Decimal("100")), StageName=(None, "Open")),
        opp("k2", Operation.CREATE, Amount=(None, Decimal("5"))),
    ], now=NOW)
    store.record_results(run, [WriteResult(s1[0], OK, sf_id="006A"),
                               WriteResult(s1[1], WriteStatus.FAILED, error_code="X")],
                         now=NOW)
    store.start_run(run_id="r-2", job="main", kind=RunKind.APPLY, now=LATER)
    s2 = store.record_intents("r-2", [
        opp("k1", Operation.UPDATE, "006A", Amount=(Decimal("100"), Decimal("110.00"))),
        opp("k1", Operation.UPDATE, "006A", StageName=("Open", "Won")),  # never answered
    ], now=LATER)
    store.record_results("r-2", [WriteResult(s2[0], OK)], now=LATER)

    assert store.last_written("Opportunity", ["k1", "k2", "k9"]) == {
        ("k1", "Amount"): Decimal("110.00"), ("k1", "StageName"): "Open"}
    assert store.last_written("Task", ["k1"]) == {}
    assert store.last_operations("Opportunity", ["k1", "k2"], "Amount") == {
        "k1": (Operation.UPDATE, LATER)}  # k2's create failed
    assert store.last_operations("Opportunity", ["k1"], "StageName") == {
        "k1": (Operation.CREATE, NOW)}  # the StageName update was never answered
    assert store.find_by_key("Opportunity", "k1") == "006A"
    assert store.find_by_key("Opportunity", "k2") is None  # its create failed
    assert store.find_by_keys("Opportunity", ["k1", "k2"]) == {"k1": "006A"}

    # A successful delete forgets the record; a re-create starts clean.
    store.record_results("r-2", [WriteResult(s2[1], WriteStatus.FAILED)], now=LATER)
    s3 = store.record_intents("r-2", [opp("k1", Operation.DELETE, "006A")], now=LATER)
    store.record_results("r-2", [WriteResult(s3[0], OK)], now=LATER)
    assert store.find_by_key("Opportunity", "k1") is None
    assert store.last_written("Opportunity", ["k1"]) == {}
    assert store.last_operations("Opportunity", ["k1"], "Amount") == {}
    s4 = store.record_intents("r-2", [opp("k1", Operation.CREATE, Amount=(None, 1))], now=LATER)
    store.record_results("r-2", [WriteResult(s4[0], OK, sf_id="006N")], now=LATER)
    assert store.find_by_key("Opportunity", "k1") == "006N"
    assert store.last_written("Opportunity", ["k1"]) == {("k1", "Amount"): 1}


def test_writes_of_run_fold_per_record_for_rollback(store: StateStore, run: str) -> None:
    seqs = store.record_intents(run, [
        opp("new", Operation.CREATE, Amount=(None, Decimal("10"))),
        opp("old", Operation.UPDATE, "006O", Amount=(Decimal("1"), Decimal("2")),
            StageName=("A", "B")),
        opp("old", Operation.UPDATE, "006O", Amount=(Decimal("2"), Decimal("3"))),
        opp("rejected", Operation.UPDATE, "006R", Amount=(Decimal("1"), Decimal("9"))),
        opp("unknown", Operation.UPDATE, "006U", Amount=(Decimal("1"), Decimal("9"))),
    ], now=NOW)
    store.record_results(run, [WriteResult(seqs[0], OK, sf_id="006N"),
                               WriteResult(seqs[1], OK), WriteResult(seqs[2], OK),
                               WriteResult(seqs[3], WriteStatus.FAILED, error_code="E")],
                         now=NOW)
    writes = {w.key: w for w in store.writes_of_run(run)}
    assert set(writes) == {"new", "old"}  # only what certainly happened
    assert writes["new"].created
    assert writes["new"].sf_id == "006N"
    assert not writes["old"].created
    assert writes["old"].sf_id == "006O"
    assert writes["old"].fields == {
        "Amount": FieldWrite("Amount", Decimal("1"), Decimal("3")),
        "StageName": FieldWrite("StageName", "A", "B")}
    assert [p.key for p in store.pending_intents(run)] == ["unknown"]


def test_entries_stream_in_pages(store: StateStore, run: str) -> None:
    total = 2_500  # more than one page of the entry stream
    for start in range(0, total, 500):
        seqs = store.record_intents(run, [
            WriteIntent("Task", f"t{i}", Operation.CREATE,
                        (FieldWrite("Subject", None, f"Call {i}"),))
            for i in range(start, start + 500)], now=NOW)
        store.record_results(run, [WriteResult(s, OK, sf_id=f"00T{s:015d}")
                                   for s in seqs if s % 2 == 0], now=NOW)
    entries = list(store.ledger_entries(run))
    assert [e.seq for e in entries] == list(range(1, total + 1))
    assert all(e.fields[0].after == f"Call {e.seq - 1}" for e in entries)
    assert len(store.pending_intents(run)) == total // 2
    assert len(store.find_by_keys("Task", [f"t{i}" for i in range(total)])) == total // 2


def test_concurrent_writers_do_not_collide(store: StateStore) -> None:
    """Threads writing at once (a pull and several runs): no lock errors, nothing lost."""
    errors: list[BaseException] = []

    def apply(run_id: str) -> None:
        try:
            store.start_run(run_id=run_id, job=run_id, kind=RunKind.APPLY, now=NOW)
            for chunk in range(10):
                seqs = store.record_intents(run_id, [
                    opp(f"{run_id}-{chunk}-{i}", Operation.CREATE, Amount=(None, i))
                    for i in range(20)], now=NOW)
                store.record_results(run_id, [WriteResult(s, OK, sf_id=f"006{s:015d}")
                                              for s in seqs], now=NOW)
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=apply, args=(f"r-t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n in range(4):
        entries = list(store.ledger_entries(f"r-t{n}"))
        assert [e.seq for e in entries] == list(range(1, 201))
        assert all(e.status is OK for e in entries)


def test_written_counts_come_from_the_ledger_per_run_and_object(store: StateStore,
                                                                 run: str) -> None:
    # r-1, first attempt: 3 creates (2 succeeded, 1 rejected), 1 update and 1 close
    # succeeded, 1 update never answered (killed). Second attempt (same run id): the
    # recovery finds the unanswered update was never sent (NOT_SENT: not counted), and
    # 1 more create succeeds. r-2 (a rollback): 2 deletes, 1 restore.
    s = store.record_intents(run, [
        opp("k1", Operation.CREATE), opp("k2", Operation.CREATE), opp("k3", Operation.CREATE),
        opp("k4", Operation.UPDATE, "006D"), opp("k5", Operation.CLOSE, "006E"),
        opp("k6", Operation.UPDATE, "006F"),
        WriteIntent("Task", "t1", Operation.CREATE),
    ], now=NOW)
    store.record_results(run, [
        WriteResult(s[0], OK, sf_id="006A"), WriteResult(s[1], OK, sf_id="006B"),
        WriteResult(s[2], WriteStatus.FAILED, error_code="REQUIRED_FIELD_MISSING"),
        WriteResult(s[3], OK), WriteResult(s[4], OK)], now=NOW)  # s[5], s[6]: killed
    assert store.written_counts([run, "r-9"]) == {run: {
        "Opportunity": LedgerCounts(created=2, updated=2, rejected=1, unknown=1),
        "Task": LedgerCounts(unknown=1)}}

    store.record_results(run, [WriteResult(s[5], WriteStatus.FAILED, error_code=NOT_SENT),
                               WriteResult(s[6], OK, sf_id="00TA")], now=LATER)
    (again,) = store.record_intents(run, [opp("k7", Operation.CREATE)], now=LATER)
    store.record_results(run, [WriteResult(again, OK, sf_id="006G")], now=LATER)
    store.start_run(run_id="r-2", job="rollback", kind=RunKind.ROLLBACK, now=LATER)
    r2 = store.record_intents("r-2", [opp("k1", Operation.DELETE, "006A"),
                                      opp("k2", Operation.DELETE, "006B"),
                                      opp("k4", Operation.UPDATE, "006D")], now=LATER)
    store.record_results("r-2", [WriteResult(q, OK) for q in r2], now=LATER)

    counts = store.written_counts([run, "r-2"])
    # created 2 + 1 = 3; updated 1 update + 1 close = 2; NOT_SENT neither rejected nor written
    assert counts[run]["Opportunity"] == LedgerCounts(created=3, updated=2, rejected=1)
    assert counts[run]["Task"] == LedgerCounts(created=1)
    assert counts["r-2"] == {"Opportunity": LedgerCounts(updated=1, deleted=2)}
    assert counts["r-2"]["Opportunity"].written == 3
