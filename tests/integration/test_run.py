"""The run end to end on the local org: first run, no-change run, rep edits, bad data."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from sfrenew.plan import iter_accounts
from sfrenew.runner import RunRequest, Step, execute
from sfrenew.salesforce import format_soql
from sfrenew.store import open_store
from tests.clock import now, today
from tests.integration.test_run_support import (
    Book,
    StopWhile,
    book,
    dump,
    engine_keys,
    open_book,
    schema_with,
)

pytestmark = pytest.mark.integration
__all__ = ["book"]  # the fixture, re-exported for pytest


def test_first_run_creates_what_the_rules_plan(tmp_path: Path) -> None:
    # A two-year horizon: the whole book, so co-termed contracts are in it on any date.
    book = open_book(tmp_path)
    rules = book.config.rules
    book.config = dataclasses.replace(book.config, rules=dataclasses.replace(
        rules, eligibility=dataclasses.replace(rules.eligibility, horizon_days=730)))
    try:
        _first_run_creates_what_the_rules_plan(book)
    finally:
        book.org.stop()


def _first_run_creates_what_the_rules_plan(book: Book) -> None:
    outcome = book.run()
    assert outcome.status == "succeeded", outcome.message
    org = dump(book)
    expected = engine_keys(book)
    for obj in ("Opportunity", "OpportunityLineItem", "Task"):
        assert set(org[obj]) == expected[obj], obj
        assert outcome.stats["written"][obj]["created"] == len(expected[obj])
    assert expected["Opportunity"], "the seeded book renews something"
    # Hand-checked properties of the seeded book's renewals.
    opps = org["Opportunity"].values()
    coterm = [o for o in opps if "," in (o["Sfrenew_Coterm_Group__c"] or "")]
    assert coterm, "some account has co-termed contracts"
    lines = org["OpportunityLineItem"]
    for key, opp in org["Opportunity"].items():
        assert opp["Type"] == "Renewal"
        assert opp["StageName"] == "Prospecting"
        if opp["Sfrenew_Risk_Level__c"] == "High":
            assert opp["ForecastCategoryName"] != "Commit"
        assert opp["Sfrenew_Explanation__c"], key
    capped = [line for line in lines.values() if line["Sfrenew_Uplift_Bound__c"] == "cap"]
    for line in capped:
        assert line["Sfrenew_Uplift_Rate__c"] <= 10  # the config's cap, 10%
    assert all(line["Sfrenew_Explanation__c"] for line in lines.values())


def test_no_change_run_writes_nothing_and_reads_only_changes(book: Book) -> None:
    first = book.run()
    second = book.run()  # reads back what the first run wrote (changed since its bound)
    third = book.run()
    assert first.status == second.status == third.status == "succeeded"
    for outcome in (second, third):
        assert outcome.stats["written"] == {}
        assert "collections" not in outcome.api_calls
    assert sum(second.stats["pulled"].values()) == sum(
        c["created"] + c["updated"] for c in first.stats["written"].values())
    assert sum(third.stats["pulled"].values()) == 0
    before = book.org.stats()["calls"].get("collections", 0)
    book.run()
    assert book.org.stats()["calls"].get("collections", 0) == before


def test_a_no_change_run_costs_four_api_calls_as_the_org_counts_them(book: Book) -> None:
    first = book.run()
    book.run()  # reads back the first run's writes
    assert first.api_calls["describe"] == 12  # one per object, saved in the state dir
    used = book.org.accounting.api_used
    before = book.org.accounting.snapshot()["calls"]
    third = book.run()
    after = book.org.accounting.snapshot()["calls"]
    # /limits, and the eleven objects' incremental queries five to a composite call (the
    # last one alone is a plain query: a composite of one costs the same); the describes
    # come from the state dir (same mapping, same day). 4 calls: the target.
    assert third.api_calls == {"auth": 1, "limits": 1, "composite": 2, "query_page": 1}
    assert book.org.accounting.api_used - used == 4
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} \
        == {"auth": 1, "limits": 1, "composite": 2, "query_page": 1}


def test_rep_edits_survive_reruns(book: Book) -> None:
    assert book.run().status == "succeeded"
    org = dump(book)
    gateway = book.gateway()
    # A rep re-dates an open task that is still ahead (one due today would be a step
    # the run treats as past due), on that task's renewal.
    task_key = next(k for k, v in sorted(org["Task"].items())
                    if v["Status"] != "Completed" and str(v["ActivityDate"]) > today().isoformat())
    opp_key = org["Task"][task_key]["WhatId"]
    opp_id = gateway.read("Opportunity", ["Id"],
                          format_soql("Sfrenew_Key__c = {}", opp_key)).__next__()["Id"]
    line_key = next(k for k, v in org["OpportunityLineItem"].items() if v["OpportunityId"] ==
                    opp_key)
    line_id = next(gateway.read("OpportunityLineItem", ["Id"],
                                format_soql("Sfrenew_Key__c = {}", line_key)))["Id"]
    task_id = next(gateway.read("Task", ["Id"],
                                format_soql("Sfrenew_Key__c = {}", task_key)))["Id"]
    edits = [("Opportunity", {"Id": opp_id, "CloseDate": "2031-01-31",
                              "StageName": "Negotiation/Review"}),
             ("OpportunityLineItem", {"Id": line_id, "UnitPrice": 1.5}),
             ("Task", {"Id": task_id, "ActivityDate": "2031-02-01"})]
    for obj, row in edits:
        assert gateway.write("update", obj, [row])[0].success
    for _ in range(2):
        outcome = book.run()
        assert outcome.status == "succeeded"
        assert outcome.stats["plan"]["kept_edits"] >= 3
    after = dump(book)
    assert str(after["Opportunity"][opp_key]["CloseDate"]) == "2031-01-31"
    assert after["Opportunity"][opp_key]["StageName"] == "Negotiation/Review"
    assert float(after["OpportunityLineItem"][line_key]["UnitPrice"]) == 1.5
    assert str(after["Task"][task_key]["ActivityDate"]) == "2031-02-01"


def test_bad_data_is_reported_per_record_and_never_stops_the_run(tmp_path: Path) -> None:
    # A validation rule rejects some task writes; the seed holds contracts without an
    # end date, lines without a price and contracts in a currency the rules do not know.
    schema = schema_with({"Task": [{"name": "No_Escalation", "field": "Priority",
                                    "condition": {"field": "Priority", "op": "eq",
                                                  "value": "High"},
                                    "message": "High priority tasks need a manager"}]})
    # The CPQ mapping: its subscription lines carry the seed's line without a price.
    b = open_book(tmp_path, contracts=400, schema=schema, mapping="mappings/cpq.yaml")
    # The seed's odd currency is CHF, which config.example.yaml renews: take it out.
    rules = b.config.rules
    b.config = dataclasses.replace(b.config, rules=dataclasses.replace(
        rules, currencies={c: d for c, d in rules.currencies.items() if c != "CHF"}))
    try:
        # A horizon over the whole book, so the dirty contracts are not merely too far out.
        outcome = b.run(horizon_days=800)
        assert outcome.status == "succeeded", outcome.message
        assert outcome.stats["written"]["Task"]["rejected"] > 0
        assert outcome.stats["written"]["Opportunity"]["created"] > 0
        skipped = {s["reason"] for a in iter_accounts(Path(outcome.stats["plan_file"]))
                   for s in a.skipped}
        assert {"missing_end_date", "unknown_currency", "already_renewed_by_person"} <= skipped
        with open_store(b.config.store_url) as store:
            letters = store.open_dead_letters("Task")
        assert letters
        assert all(d.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
                               for d in letters)
        again = b.run(horizon_days=800)  # rejected rows are retried (and rejected again)
        assert set(again.stats["written"]) == {"Task"}
        assert again.stats["written"]["Task"]["rejected"] == len(letters)
        # A line loses its price: its contract is reported, the others carry on.
        renewal = next(r for a in iter_accounts(Path(outcome.stats["plan_file"]))
                       for r in a.renewals)
        contract = renewal.contracts[0]
        gateway = b.gateway()
        line = next(gateway.read("SBQQ__Subscription__c", ["Id"],
                                 format_soql("SBQQ__Contract__c = {}", contract)))
        assert gateway.write("update", "SBQQ__Subscription__c",
                             [{"Id": line["Id"], "SBQQ__NetPrice__c": None}])[0].success
        third = b.run(horizon_days=800)
        assert third.status == "succeeded"
        reasons = {(s["contract_id"], s["reason"]) for a in iter_accounts(
            Path(third.stats["plan_file"])) for s in a.skipped}
        assert (contract, "line_without_price") in reasons
    finally:
        b.org.stop()


def test_dry_run_writes_nothing(book: Book) -> None:
    outcome = book.run(steps=(Step.PULL, Step.PLAN), dry_run=True)
    assert outcome.status == "succeeded"
    assert outcome.stats["written"] == {}
    assert dump(book)["Opportunity"] == {}
    assert outcome.stats["plan"]["counts"]["Opportunity"]["create"] > 0


def test_budget_stops_with_a_checkpoint_and_resume_finishes(book: Book) -> None:
    # Enough to pull (users, currencies and dated rates too) and plan, not to apply:
    # /limits, one describe per object (12) and five composite calls (the objects'
    # COUNT()s and first pages, five to a call) are 18 calls; two more start the apply.
    # The analytics rows' objects are not read by a run that does not write them.
    stopped = book.run(max_api_calls=20)
    assert stopped.status == "stopped"
    assert "API budget" in stopped.message
    assert f"--resume {stopped.run_id}" in stopped.message
    assert stopped.stats["plan"]["counts"]  # it got as far as applying
    resumed = book.run(resume_run_id=stopped.run_id)
    assert resumed.status == "succeeded", resumed.message
    assert resumed.run_id == stopped.run_id
    org = dump(book)
    expected = engine_keys(book)
    for obj in ("Opportunity", "OpportunityLineItem", "Task"):
        assert set(org[obj]) == expected[obj], obj
    assert book.run().stats["written"] == {}


def test_stop_event_ends_the_run_between_chunks(book: Book) -> None:
    stop = threading.Event()
    stop.set()
    outcome = execute(book.config, RunRequest(job="main", steps=(
        Step.PULL, Step.PLAN, Step.APPLY)), clock=now, stop=stop)
    assert outcome.status == "stopped"
    finished = book.run(resume_run_id=outcome.run_id)
    assert finished.status == "succeeded"
    assert sum(c["created"] for c in finished.stats["written"].values()) > 0


def test_a_run_stopped_while_planning_resumes_after_the_last_planned_account(
        tmp_path: Path) -> None:
    b = open_book(tmp_path, contracts=700)
    try:
        stop = threading.Event()
        first = execute(b.config, RunRequest(job="main", steps=(
            Step.PULL, Step.PLAN, Step.APPLY)), clock=now, stop=stop,
            progress=StopWhile("plan", 10, stop))
        assert first.status == "stopped"
        assert first.stats["written"] == {}
        resumed = b.run(resume_run_id=first.run_id)
        assert resumed.status == "succeeded", resumed.message
        org = dump(b)
        expected = engine_keys(b)
        for obj in ("Opportunity", "OpportunityLineItem", "Task"):
            assert set(org[obj]) == expected[obj], obj
        with open_store(b.config.store_url) as store:
            accounts = sum(1 for _ in store.iter_groups(["Account"]))
        assert 0 < first.stats["plan"]["accounts"] < accounts  # stopped half-way
        assert resumed.stats["plan"]["accounts"] == accounts
    finally:
        b.org.stop()
