"""Spooled Bulk rows: what goes into the file comes back, in order, typed, by index."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from sfrenew.apply.spool import RowSpool
from sfrenew.apply.writer import SentRow, Target, sf_operation
from sfrenew.core.changeset import ChangeKind
from sfrenew.salesforce.results import Operation
from sfrenew.store.values import Operation as StoreOperation
from sfrenew.store.values import RecordedIntent

LINE = Target("OpportunityLineItem", "Sfrenew_Key__c", upsert=True)
TASK = Target("Task", "Sfrenew_Key__c", upsert=False)


def _sent(n: int, **row: object) -> SentRow:
    return SentRow("OpportunityLineItem", f"k{n}", ChangeKind.CREATE, None, 100 + n,
                   {"Sfrenew_Key__c": f"k{n}", **row})


def test_rows_come_back_in_order_with_their_types() -> None:
    spool = RowSpool(LINE, Operation.UPSERT)
    try:
        spool.add(_sent(0, UnitPrice=Decimal("12.50"), ServiceDate=date(2027, 1, 31)))
        spool.add(_sent(1, Quantity=3, Description=None))
        request = spool.request()
        assert request.count == len(spool) == 2
        assert list(request.rows()) == [
            {"Sfrenew_Key__c": "k0", "UnitPrice": Decimal("12.50"),
             "ServiceDate": date(2027, 1, 31)},
            {"Sfrenew_Key__c": "k1", "Quantity": 3, "Description": None}]
        # every field of any row, in the order first seen: the CSV header
        assert request.columns == ("Sfrenew_Key__c", "UnitPrice", "ServiceDate", "Quantity",
                                   "Description")
        assert request.external_id_field == "Sfrenew_Key__c"
        assert request.rows_at([1]) == [{"Sfrenew_Key__c": "k1", "Quantity": 3,
                                         "Description": None}]
        assert spool.at(1) == _sent(1, Quantity=3, Description=None)
    finally:
        spool.close()


def test_reading_a_row_by_index_does_not_disturb_reading_them_in_order() -> None:
    spool = RowSpool(LINE, Operation.UPSERT)
    try:
        for n in range(5):
            spool.add(_sent(n))
        rows = spool.request().rows()
        assert next(iter(rows))["Sfrenew_Key__c"] == "k0"
        assert spool.at(4).seq == 104  # a result read while the upload is being written
        assert [r["Sfrenew_Key__c"] for r in rows] == ["k1", "k2", "k3", "k4"]
    finally:
        spool.close()


def test_only_upserts_name_an_external_id() -> None:
    spool = RowSpool(TASK, Operation.INSERT)
    try:
        assert spool.request().external_id_field is None
    finally:
        spool.close()


def test_how_each_change_is_sent() -> None:
    assert sf_operation(LINE, ChangeKind.CREATE) is Operation.UPSERT
    assert sf_operation(LINE, ChangeKind.DELETE) is Operation.DELETE
    assert sf_operation(TASK, ChangeKind.CREATE) is Operation.INSERT
    assert sf_operation(TASK, ChangeKind.CLOSE) is Operation.UPDATE


def test_a_rows_recorded_intent_is_read_only_to_record_its_result() -> None:
    intent = RecordedIntent(run_id="r-1", seq=100, write_id=7, object="OpportunityLineItem",
                            key="k0", operation=StoreOperation.CREATE, sf_id=None,
                            fields=(("UnitPrice", '{"$decimal":"12.50"}'),))
    spool = RowSpool(LINE, Operation.UPSERT)
    try:
        sent = dataclasses.replace(_sent(0, UnitPrice=Decimal("12.50")), intent=intent)
        spool.add(sent)
        spool.add(_sent(1))
        assert spool.at(0) == _sent(0, UnitPrice=Decimal("12.50"))  # uploaded without it
        assert next(iter(spool.request().rows())) == sent.row
        assert spool.answered(0) == sent
        assert spool.answered(1) == _sent(1)
    finally:
        spool.close()
