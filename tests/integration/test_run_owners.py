"""Issue 15 items 5 and 6 through the local org, with both presets: who renewals and
tasks go to (rules.owners, the user concept) and what a rep reads on them.

The seeded book has reps (account owners) who report to regional managers
(``User.ManagerId``). The run pulls the users, so:

* a step whose assignee is ``renewal_manager`` (the default ``escalation`` step) is
  owned by the renewal owner's manager, not by the account owner (on the original
  code every task went to the account owner);
* with ``renewal_owner: contract_owner``, a contract owned by an inactive user renews
  to the account owner, and the plan reports the fallback with the user's Id;
* the opportunity's explanation is the rep's talk track, at most 1,500 characters,
  leading with last term and this renewal; the derivation has its own field; NextStep
  names the next step, and each task's Description says what to do and for which
  renewal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfrenew.core.policy import OwnerPolicy
from sfrenew.plan.model import iter_accounts
from sfrenew.runner import Step
from sfrenew.salesforce import Gateway
from tests.integration.test_run_support import Book, open_book

pytestmark = pytest.mark.integration

PRESETS = ("mappings/standard.yaml", "mappings/cpq.yaml")
CONTRACTS = 60


@pytest.fixture(params=PRESETS, ids=("standard", "cpq"))
def preset_book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Book]:
    opened = open_book(tmp_path, contracts=CONTRACTS, mapping=request.param)
    try:
        yield opened
    finally:
        opened.org.stop()


def _rows(gw: Gateway, sobject: str, fields: list[str], where: str) -> list[dict[str, Any]]:
    return list(gw.read(sobject, sorted({"Id", *fields}), where))


def _users(gw: Gateway) -> dict[str, dict[str, Any]]:
    return {u["Id"]: u for u in _rows(gw, "User", ["Name", "IsActive", "ManagerId"],
                                      "Id != null")}


def test_a_manager_step_goes_to_the_owners_manager_and_reps_read_a_talk_track(
        preset_book: Book) -> None:
    book = preset_book
    outcome = book.run()
    assert outcome.status == "succeeded", outcome.message
    gw = book.gateway()
    users = _users(gw)
    opps = {o["Id"]: o for o in _rows(
        gw, "Opportunity", ["Name", "OwnerId", "AccountId", "Sfrenew_Explanation__c",
                            "Sfrenew_Derivation__c", "NextStep"],
        "Sfrenew_Key__c != null")}
    names = {a["Id"]: a["Name"] for a in _rows(gw, "Account", ["Name"], "Id != null")}
    assert opps
    tasks = _rows(gw, "Task", ["OwnerId", "WhatId", "Subject", "Description"],
                  "Sfrenew_Key__c != null")
    escalations = [t for t in tasks if t["Subject"].startswith("Escalate unsigned renewal")]
    assert escalations
    checked = 0
    for task in escalations:
        owner = opps[task["WhatId"]]["OwnerId"]
        manager = users[owner]["ManagerId"]
        if manager is None or not users[manager]["IsActive"]:
            continue
        assert task["OwnerId"] == manager != owner  # the original code: the account owner
        checked += 1
    assert checked
    kickoffs = [t for t in tasks if t["Subject"].startswith("Renewal kickoff")]
    assert all(t["OwnerId"] == opps[t["WhatId"]]["OwnerId"] for t in kickoffs)

    for opp in opps.values():
        talk = opp["Sfrenew_Explanation__c"]
        assert len(talk) <= 1_500, len(talk)  # the original code: 2.9k-6.2k
        assert talk.startswith(f"{names[opp['AccountId']]} renewal: ")
        assert "\nLast term: " in talk
        assert "\nThis renewal: " in talk
        assert "\nUplift: " in talk
        assert "Other policies, for comparison" not in talk
        assert "Other policies, for comparison" in opp["Sfrenew_Derivation__c"]
        assert opp["NextStep"]
        assert len(opp["NextStep"]) <= 255
    for task in tasks:
        opp = opps[task["WhatId"]]
        assert task["Description"].startswith("What to do: ")
        assert f"Renewal: {opp['Name']}" in task["Description"]


def test_an_inactive_contract_owner_falls_back_to_the_account_owner_with_a_reason(
        preset_book: Book) -> None:
    book = preset_book
    book.config = dataclasses.replace(book.config, rules=dataclasses.replace(
        book.config.rules, owners=OwnerPolicy(renewal_owner="contract_owner")))
    gw = book.gateway()
    users = _users(gw)
    first = book.run(steps=(Step.PULL, Step.PLAN))
    assert first.status == "succeeded", first.message
    planned = {c for a in iter_accounts(Path(first.stats["plan_file"]))
               for r in a.renewals for c in r.contracts}
    contract = next(iter(_rows(gw, "Contract", ["AccountId", "OwnerId"],
                               f"Id = '{sorted(planned)[0]}'")))
    (account,) = _rows(gw, "Account", ["OwnerId"], f"Id = '{contract['AccountId']}'")
    account_owner = account["OwnerId"]
    assert users[account_owner]["IsActive"]
    # A person moves the contract to another rep, who then leaves the company.
    leaver = next(u for u, row in sorted(users.items())
                  if row["IsActive"] and row["ManagerId"] and u != account_owner
                  and row["ManagerId"] != account_owner)
    ok = gw.write("update", "Contract", [{"Id": contract["Id"], "OwnerId": leaver}])
    assert ok[0].success, ok[0].message
    ok = gw.write("update", "User", [{"Id": leaver, "IsActive": False}])
    assert ok[0].success, ok[0].message

    outcome = book.run()
    assert outcome.status == "succeeded", outcome.message
    assert outcome.stats["plan"]["routing"] >= 1
    routed = [r for a in iter_accounts(Path(outcome.stats["plan_file"])) for r in a.routing
              if r["record_id"] == leaver]
    assert routed, "the inactive owner is reported with its User Id"
    assert routed[0]["field"] == "IsActive"
    assert "is inactive" in routed[0]["message"]
    assert "assigned to the account owner" in routed[0]["message"]
    (opp,) = _rows(gw, "Opportunity", ["OwnerId"],
                   f"Sfrenew_Coterm_Group__c LIKE '%{contract['Id']}%'")
    assert opp["OwnerId"] == account_owner
    # The other renewals follow their contract owner (seeded as the account's rep).
    assert outcome.stats["plan"]["routing"] < len(planned)
