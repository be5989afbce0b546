"""Rollback: record by record, field by field, except what people changed since."""

from __future__ import annotations

from typing import Any

import pytest

from sfrenew.runner import rollback_session
from sfrenew.salesforce import format_soql
from sfrenew.store import RunKind, open_store
from tests.clock import now
from tests.integration.test_run_support import Book, book, dump

pytestmark = pytest.mark.integration
__all__ = ["book"]


def _one(book: Book, sobject: str, where: str) -> dict[str, Any]:
    return next(book.gateway().read(sobject, ["Id"], where))


def test_rollback_restores_fields_and_deletes_creations_but_not_peoples_changes(
        book: Book) -> None:
    first = book.run()
    assert first.status == "succeeded"
    before_second = dump(book)
    gateway = book.gateway()
    # Make the rules change an opportunity: its account is renamed (name, explanation).
    opp_key = min(before_second["Opportunity"])
    account_id = before_second["Opportunity"][opp_key]["AccountId"]
    assert gateway.write("update", "Account", [{"Id": account_id,
                                                "Name": "Renamed Customer"}])[0].success
    second = book.run()
    assert second.stats["written"]["Opportunity"]["updated"] >= 1
    changed = dump(book)
    assert changed["Opportunity"][opp_key] != before_second["Opportunity"][opp_key]

    # A person edits one field the second run wrote: that field stays as they set it.
    rolled = _one(book, "Opportunity", format_soql("Sfrenew_Key__c = {}", opp_key))
    assert gateway.write("update", "Opportunity", [{"Id": rolled["Id"],
                                                    "Sfrenew_Risk_Score__c": 1}])[0].success
    changed = dump(book)
    dry_id, dry = rollback_session(book.config, second.run_id, dry_run=True, clock=now)
    assert dry_id is None
    assert dry.count("restore") >= 1
    assert dump(book) == changed  # a dry run changes nothing

    run_id, report = rollback_session(book.config, second.run_id, dry_run=False, clock=now)
    assert run_id is not None
    assert report.count("restore") >= 1
    restored = dump(book)
    assert {i.key: i.fields for i in report.items if i.action != "nothing"}[opp_key]
    assert restored["Opportunity"][opp_key] == before_second["Opportunity"][opp_key] | {
        "Sfrenew_Risk_Score__c": 1}
    others = {k: v for k, v in restored["Opportunity"].items() if k != opp_key}
    assert others == {k: v for k, v in before_second["Opportunity"].items() if k != opp_key}
    assert {k: v for k, v in restored["Task"].items() if v["WhatId"] != opp_key} == {
        k: v for k, v in before_second["Task"].items() if v["WhatId"] != opp_key}

    # Undo the first run, after a person edited one opportunity it created.
    keep_key = max(before_second["Opportunity"])
    keep = _one(book, "Opportunity", format_soql("Sfrenew_Key__c = {}", keep_key))
    assert gateway.write("update", "Opportunity", [{"Id": keep["Id"],
                                                    "CloseDate": "2031-03-31"}])[0].success
    _, undo = rollback_session(book.config, first.run_id, dry_run=False, clock=now)
    left = [i for i in undo.items if i.action == "left_alone"]
    # Both opportunities people touched stay: the one whose risk score was edited
    # after the second run, and this one.
    assert sorted((i.key, i.fields) for i in left if i.object == "Opportunity") == sorted([
        (keep_key, ("CloseDate",)), (opp_key, ("Sfrenew_Risk_Score__c",))])
    final = dump(book)
    assert set(final["Opportunity"]) == {keep_key, opp_key}
    assert str(final["Opportunity"][keep_key]["CloseDate"]) == "2031-03-31"
    assert all(line["OpportunityId"] in (keep_key, opp_key)
               for line in final["OpportunityLineItem"].values())
    # The lines and tasks the run created under a kept opportunity are kept with it.
    for child in ("OpportunityLineItem", "Task"):
        parent = "OpportunityId" if child == "OpportunityLineItem" else "WhatId"
        assert {k for k, v in final[child].items() if v[parent] == keep_key} == {
            k for k, v in before_second[child].items() if v[parent] == keep_key}, child
    assert any(v["OpportunityId"] == keep_key for v in final["OpportunityLineItem"].values())
    assert final["Account"] == {}  # every risk field written by the run is empty again
    with open_store(book.config.store_url) as store:
        kinds = [r.kind for r in store.list_runs(10)]
    assert kinds.count(RunKind.ROLLBACK) == 2
