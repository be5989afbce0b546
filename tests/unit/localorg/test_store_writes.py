"""OrgStore upsert, delete, transactions, system fields, bulk insert, threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import make_id
from sfrenew.localorg.schema import build_schema
from sfrenew.localorg.store import MultipleMatches, OrgStore
from tests.unit.localorg.store_fixtures import START, SteppingClock, open_store


@pytest.fixture
def org(tmp_path: Path) -> Iterator[tuple[OrgStore, str]]:
    store, user = open_store(tmp_path)
    yield store, user
    store.close()


def _account(store: OrgStore, user: str, name: str = "Acme") -> str:
    return store.create("Account", {"Name": name}, user_id=user)


def _opp(store: OrgStore, user: str, account: str, **extra: Any) -> str:
    return store.create("Opportunity", {"Name": "R", "StageName": "Prospecting",
                                        "CloseDate": "2024-12-31", "AccountId": account,
                                        **extra}, user_id=user)


# --- upsert -------------------------------------------------------------------------------


def test_upsert_creates_then_updates_case_insensitively(org: tuple[OrgStore, str]) -> None:
    store, user = org
    record_id, created = store.upsert("Product2", "External_Id__c", "cadence:1:T-90",
                                      {"Name": "Kick-off"}, user_id=user)
    assert created is True
    assert store.get("Product2", record_id, ["External_Id__c"],
                     api_version="59.0")["External_Id__c"] == "cadence:1:T-90"
    again, created = store.upsert("Product2", "external_id__c", "CADENCE:1:t-90",
                                  {"Name": "Quote"}, user_id=user)
    assert (again, created) == (record_id, False)
    assert store.get("Product2", record_id, ["Name"], api_version="59.0")["Name"] == "Quote"
    assert store.counts()["Product2"] == 1


def test_upsert_on_id(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = _account(store, user)
    assert store.upsert("Account", "Id", account[:15], {"Name": "Renamed"},
                        user_id=user) == (account, False)
    assert store.get("Account", account, ["Name"], api_version="59.0")["Name"] == "Renamed"
    created_id, created = store.upsert("Account", "Id", "", {"Name": "New"}, user_id=user)
    assert created is True
    assert created_id != account
    with pytest.raises(SalesforceApiError) as caught:
        store.upsert("Account", "Id", "0015g0000000999AAA", {"Name": "x"}, user_id=user)
    assert caught.value.status == 404


def test_upsert_on_a_field_that_is_not_an_external_id_is_404(org: tuple[OrgStore, str]) -> None:
    store, user = org
    for field in ("Name", "Namez"):
        with pytest.raises(SalesforceApiError) as caught:
            store.upsert("Account", field, "x", {}, user_id=user)
        assert caught.value.status == 404
        assert caught.value.rest_json() == [{
            "message": f"Provided external ID field does not exist or is not accessible: {field}",
            "errorCode": "NOT_FOUND"}]


def test_upsert_with_several_matches_raises_multiple_matches(tmp_path: Path) -> None:
    schema = build_schema({"objects": {
        "User": {"key_prefix": "005", "fields": {
            "Username": {"type": "string", "length": 80, "required": True},
            "LastName": {"type": "string", "length": 80, "required": True},
            "FirstName": {"type": "string", "length": 40},
            "Email": {"type": "email", "length": 80, "required": True}}},
        "Legacy__c": {"key_prefix": "a05", "fields": {
            "Name": {"type": "string", "length": 80},
            "Legacy_Key__c": {"type": "string", "length": 20, "external_id": True}}},
    }})
    store, user = open_store(tmp_path, schema=schema)
    ids = sorted(store.create("Legacy__c", {"Name": str(n), "Legacy_Key__c": "dup"}, user_id=user)
                 for n in range(2))
    with pytest.raises(MultipleMatches) as caught:
        store.upsert("Legacy__c", "Legacy_Key__c", "DUP", {"Name": "x"}, user_id=user)
    assert caught.value.status == 300
    assert caught.value.ids == ids
    assert isinstance(caught.value, SalesforceApiError)
    store.close()


# --- delete -------------------------------------------------------------------------------


def test_delete_is_soft_and_cascades_through_master_detail(org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = _account(store, user)
    opp = _opp(store, user, account)
    lines = [store.create("OpportunityLineItem", {"OpportunityId": opp, "Quantity": q,
                                                  "UnitPrice": 1}, user_id=user)
             for q in (1, 2)]
    task = store.create("Task", {"Subject": "t", "WhatId": opp}, user_id=user)
    store.delete("Opportunity", opp, user_id=user)
    counts = store.counts()
    assert (counts["Opportunity"], counts["OpportunityLineItem"], counts["Task"]) == (0, 0, 1)
    conn = store.read_connection()
    try:  # rows remain for queryAll, marked deleted, with a fresh SystemModstamp
        rows = conn.execute('SELECT "Id", "IsDeleted", "SystemModstamp" FROM '
                            '"OpportunityLineItem" ORDER BY "Id"').fetchall()
    finally:
        conn.close()
    assert [(r[0], r[1]) for r in rows] == [(lines[0], 1), (lines[1], 1)]
    assert rows[0][2] == rows[1][2]
    for call in (lambda: store.delete("Opportunity", opp, user_id=user),
                 lambda: store.update("OpportunityLineItem", lines[0], {"Quantity": 3},
                                      user_id=user),
                 lambda: store.get("Opportunity", opp, api_version="59.0")):
        with pytest.raises(SalesforceApiError) as caught:
            call()
        assert caught.value.status == 404
        assert caught.value.rest_json() == [
            {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]
    # A deleted record is no longer a valid lookup target...
    with pytest.raises(SalesforceApiError, match="INVALID_CROSS_REFERENCE_KEY"):
        store.update("Task", task, {"WhatId": opp}, user_id=user)


def test_deleted_record_frees_its_unique_value(org: tuple[OrgStore, str]) -> None:
    store, user = org
    first = store.create("Product2", {"Name": "a", "External_Id__c": "k"}, user_id=user)
    store.delete("Product2", first, user_id=user)
    second, created = store.upsert("Product2", "External_Id__c", "k", {"Name": "b"}, user_id=user)
    assert created is True
    assert second != first


# --- transactions --------------------------------------------------------------------------


def test_transaction_rolls_back_everything_inside(org: tuple[OrgStore, str]) -> None:
    store, user = org
    before = store.counts()

    def all_or_none() -> None:
        with store.transaction():
            _account(store, user, "one")
            _account(store, user, "two")
            store.create("Account", {"Name": None}, user_id=user)  # REQUIRED_FIELD_MISSING

    with pytest.raises(SalesforceApiError, match="REQUIRED_FIELD_MISSING"):
        all_or_none()
    assert store.counts() == before
    # Ids given out inside the rolled-back transaction are handed out again.
    assert _account(store, user) == make_id("001", 1)


def test_nested_transaction_failure_undoes_only_the_inner_block(
        org: tuple[OrgStore, str]) -> None:
    store, user = org
    with store.transaction():
        kept = _account(store, user, "kept")
        try:
            with store.transaction():
                _account(store, user, "dropped")
                raise RuntimeError("row failed")
        except RuntimeError:
            pass
        also_kept = _account(store, user, "also kept")
    conn = store.read_connection()
    try:
        names = conn.execute('SELECT "Id", "Name" FROM "Account" ORDER BY "Id"').fetchall()
    finally:
        conn.close()
    assert [n for _, n in names] == ["kept", "also kept"]
    assert {kept, also_kept} == {i for i, _ in names}


# --- system fields and the clock -----------------------------------------------------------


def test_system_fields_follow_the_injected_clock_and_never_go_back(tmp_path: Path) -> None:
    clock = SteppingClock(step=timedelta(microseconds=1_500_250))
    store, user = open_store(tmp_path, clock=clock)
    account = _account(store, user)
    created = store.get("Account", account, ["CreatedDate", "LastModifiedDate",
                                             "SystemModstamp", "CreatedById"],
                        api_version="59.0")
    assert created["CreatedDate"] == "2024-03-01T12:00:03.000+0000"  # ms, UTC, SF text
    assert created["CreatedDate"] == created["LastModifiedDate"] == created["SystemModstamp"]
    clock.now = START - timedelta(days=1)  # the clock jumps back
    other = store.create_system_user({"Username": "b@example.com", "LastName": "B",
                                      "Email": "b@example.com"})
    store.update("Account", account, {"Name": "Acme 2"}, user_id=other)
    updated = store.get("Account", account, ["CreatedDate", "LastModifiedDate",
                                             "SystemModstamp", "LastModifiedById"],
                        api_version="59.0")
    assert updated["CreatedDate"] == created["CreatedDate"]
    assert updated["SystemModstamp"] >= created["SystemModstamp"]
    assert updated["LastModifiedById"] == other
    store.close()
    # ...also across a restart.
    reopened = OrgStore(tmp_path / "org.db", store.schema, clock=clock)
    reopened.update("Account", account, {"Name": "Acme 3"}, user_id=user)
    assert reopened.get("Account", account, ["SystemModstamp"], api_version="59.0")[
        "SystemModstamp"] >= updated["SystemModstamp"]
    assert _account(reopened, user) == make_id("001", 2)  # counters persisted
    reopened.close()


# --- bulk insert, counts, reset --------------------------------------------------------------


def test_insert_many_assigns_ids_system_fields_defaults_and_derived_values(
        org: tuple[OrgStore, str]) -> None:
    store, user = org
    account = _account(store, user)
    ids = store.insert_many("Contract", [
        {"AccountId": account, "StartDate": date(2024, 1, 1), "ContractTerm": 12,
         "Status": "Activated", "Uplift_Rate__c": Decimal("3.5")},
        {"accountid": account, "StartDate": "2024-02-01", "EndDate": None,
         "CreatedDate": "2023-12-01T00:00:00.000+0000"},
    ], user_id=user)
    assert ids == [make_id("800", 1), make_id("800", 2)]
    first = store.get("Contract", ids[0], None, api_version="59.0")
    assert (first["ContractNumber"], first["EndDate"], first["StatusCode"]) == (
        "00000001", "2024-12-31", "Activated")
    assert (first["Uplift_Rate__c"], first["OwnerId"], first["CurrencyIsoCode"]) == (
        3.5, user, "USD")
    second = store.get("Contract", ids[1], None, api_version="59.0")
    assert (second["Status"], second["EndDate"], second["CreatedDate"]) == (
        "Draft", None, "2023-12-01T00:00:00.000+0000")
    assert store.counts()["Contract"] == 2
    # The next single create continues the numbering.
    third = store.create("Contract", {"AccountId": account}, user_id=user)
    assert store.get("Contract", third, ["ContractNumber"],
                     api_version="59.0")["ContractNumber"] == "00000003"


def test_insert_many_rejects_unknown_fields_and_duplicates(org: tuple[OrgStore, str]) -> None:
    store, user = org
    with pytest.raises(SalesforceApiError, match="No such column 'Nope'"):
        store.insert_many("Account", [{"Name": "a", "Nope": 1}], user_id=user)
    with pytest.raises(SalesforceApiError, match="DUPLICATE_VALUE"):
        store.insert_many("Product2", [{"Name": "a", "External_Id__c": "x"},
                                       {"Name": "b", "External_Id__c": "X"}], user_id=user)
    assert store.counts()["Product2"] == 0
    assert store.insert_many("Account", [], user_id=user) == []


def test_reset_empties_every_table_and_restarts_numbering(org: tuple[OrgStore, str]) -> None:
    store, user = org
    _account(store, user)
    store.reset()
    assert set(store.counts().values()) == {0}
    assert store.create_system_user({"Username": "u@example.com", "LastName": "U",
                                     "Email": "u@example.com"}) == make_id("005", 1)


# --- threads -------------------------------------------------------------------------------


def test_concurrent_writers_and_a_reader(org: tuple[OrgStore, str]) -> None:
    store, user = org
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(25):
                store.upsert("Product2", "External_Id__c", f"{worker}:{n % 5}",
                             {"Name": str(n)}, user_id=user)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    reader = store.read_connection()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert reader.execute('SELECT COUNT(*) FROM "Product2"').fetchone()[0] == 30
    with pytest.raises(Exception, match="readonly"):
        reader.execute('DELETE FROM "Product2"')
    reader.close()
