"""Field ownership and dead letters."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sfrenew.store import FieldOwnership, Operation, Owner, Rejection, StateStore
from tests.store.conftest import NOW


def test_ownership_is_recorded_and_replaced(store: StateStore) -> None:
    assert store.get_owners("Opportunity", ["k1"]) == {}
    store.set_owners([
        FieldOwnership("Opportunity", "k1", "Amount", Owner.PERSON, since_run_id="r-2",
                       last_seen=Decimal("999.00")),
        FieldOwnership("Opportunity", "k1", "CloseDate", Owner.SFRENEW, since_run_id="r-1",
                       last_seen=date(2027, 1, 1)),
        FieldOwnership("Opportunity", "k2", "Amount", Owner.SFRENEW),
        FieldOwnership("Task", "k1", "ActivityDate", Owner.PERSON),
    ])
    got = store.get_owners("Opportunity", ["k1", "k3"])
    assert set(got) == {("k1", "Amount"), ("k1", "CloseDate")}
    assert got[("k1", "Amount")].owner is Owner.PERSON
    assert got[("k1", "Amount")].last_seen == Decimal("999.00")
    assert got[("k1", "CloseDate")].last_seen == date(2027, 1, 1)
    # Still a person's on the next run, with the newer value seen.
    assert store.set_owners([FieldOwnership("Opportunity", "k1", "Amount", Owner.PERSON,
                                            since_run_id="r-2",
                                            last_seen=Decimal("1000"))]) == 1
    again = store.get_owners("Opportunity", ["k1"])[("k1", "Amount")]
    assert again.since_run_id == "r-2"
    assert again.last_seen == Decimal("1000")


def reject(key: str, code: str, op: Operation = Operation.CREATE) -> Rejection:
    return Rejection(object="Opportunity", key=key, operation=op, error_code=code,
                     message=f"{code} on {key}", payload={"Amount": Decimal("5.00")},
                     fields=("Amount",))


def test_dead_letters_bump_resolve_and_count(store: StateStore) -> None:
    assert store.add_dead_letters("r-1", [reject("k1", "REQUIRED_FIELD_MISSING"),
                                          reject("k2", "STRING_TOO_LONG"),
                                          reject("k3", "STRING_TOO_LONG")], now=NOW) == 3
    later = NOW + timedelta(days=1)
    store.add_dead_letters("r-2", [reject("k1", "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
                                   reject("k1", "DUPLICATE_VALUE", Operation.UPDATE)],
                           now=later)
    open_ = store.open_dead_letters()
    assert [(d.key, d.operation) for d in open_] == [
        ("k1", Operation.CREATE), ("k1", Operation.UPDATE), ("k2", Operation.CREATE),
        ("k3", Operation.CREATE)]
    k1 = open_[0]
    assert k1.attempts == 2
    assert k1.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"  # the newest error
    assert (k1.first_run_id, k1.last_run_id) == ("r-1", "r-2")
    assert (k1.first_seen, k1.last_seen) == (NOW, later)
    assert k1.payload == {"Amount": Decimal("5.00")}
    assert k1.fields == ("Amount",)
    assert not k1.resolved
    assert store.dead_letter_counts_by_code() == {
        "STRING_TOO_LONG": 2, "DUPLICATE_VALUE": 1, "FIELD_CUSTOM_VALIDATION_EXCEPTION": 1}
    assert store.open_dead_letters("Task") == []

    assert store.resolve_dead_letters("Opportunity", ["k1", "k2"], now=later) == 3
    assert store.resolve_dead_letters("Opportunity", ["k1"], now=later) == 0
    assert [d.key for d in store.open_dead_letters("Opportunity")] == ["k3"]
    assert store.dead_letter_counts_by_code() == {"STRING_TOO_LONG": 1}
    # Rejected again after being resolved: a new letter, history kept.
    store.add_dead_letters("r-3", [reject("k1", "STRING_TOO_LONG")], now=later)
    again = [d for d in store.open_dead_letters() if d.key == "k1"]
    assert len(again) == 1
    assert again[0].attempts == 1
    assert again[0].first_run_id == "r-3"
    assert store.add_dead_letters("r-3", [], now=later) == 0
