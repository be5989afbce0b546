"""People's work sfrenew must not undo, through the local org, on both presets.

Records are made one by one (standard: contract, its won opportunity and line items;
CPQ: contract and subscriptions), then the real run pulls, plans and applies. Dates are
offsets from the org's day, so the checks hold on any day.

* A person deletes a renewal line (a product the customer drops), an open cadence task
  and a whole renewal sfrenew created: none comes back on the next runs, nor after a
  rollback; the renewal's explanation names the removed product, and its figures leave
  it out (prior ARR 10 × 1,000 = 10,000, not 10,000 + 5 × 200 = 11,000).
* A person opened a Renewal opportunity by hand, naming no contract, closing 10 days
  after the contract's end: it is adopted (linked on the contract), never duplicated,
  and sfrenew writes only its own fields (talk track, derivation, risk, approval,
  overdue) and its own cadence tasks on it, on this run and the next ones, never the
  person's name, stage, amount, dates or lines; another candidate 30 days before the
  end is reported, one 100 days after (outside the 45-day window) and a closed one are
  not candidates. A rollback restores sfrenew's fields, deletes its tasks and leaves
  the person's opportunity.
* Every renewal sfrenew creates is linked back on its contract (CPQ's
  SBQQ__RenewalOpportunity__c; Renewal_Opportunity__c under the standard preset), and
  a rollback puts the link back as it was before the renewal goes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.core.rules.term import add_months
from sfrenew.localorg.app import LocalOrg
from sfrenew.plan import iter_accounts
from sfrenew.runner import rollback_session
from sfrenew.salesforce import Gateway, format_soql
from tests.clock import now, today
from tests.integration.test_run_support import Book, dump, make_config

pytestmark = pytest.mark.integration
PRESETS = ("mappings/standard.yaml", "mappings/cpq.yaml")
KEY = "Sfrenew_Key__c"


def _insert(gateway: Gateway, sobject: str, rows: list[dict[str, Any]]) -> list[str]:
    results = gateway.write("insert", sobject, rows)
    assert all(r.success for r in results), [(r.error_code, r.message) for r in results]
    return [str(r.id) for r in results]


@dataclasses.dataclass
class Org:
    """A scenario org: the book, the catalogue (product name → (Product2, entry))."""

    book: Book
    cpq: bool
    pricebook: str
    products: dict[str, tuple[str, str]]
    ids: dict[str, str] = dataclasses.field(default_factory=dict)
    ends: dict[str, date] = dataclasses.field(default_factory=dict)

    @property
    def link(self) -> str:
        """The contract's renewal-opportunity field of the preset."""
        return "SBQQ__RenewalOpportunity__c" if self.cpq else "Renewal_Opportunity__c"

    def account(self, name: str) -> str:
        """A healthy account."""
        self.ids[name] = _insert(self.book.gateway(), "Account",
                                 [{"Name": name, "Health_Score__c": 90}])[0]
        return self.ids[name]

    def contract(self, name: str, account: str, *, ends_in: int,
                 lines: tuple[tuple[str, int, int], ...] = (("Platform", 10, 1000),)) -> None:
        """A 12-month contract ending ``ends_in`` days from today, with (product, quantity,
        annual unit price) lines."""
        gw = self.book.gateway()
        start = add_months(today() + timedelta(days=ends_in + 1), -12)
        contract = _insert(gw, "Contract", [{
            "AccountId": account, "StartDate": start.isoformat(), "ContractTerm": 12,
            "Status": "Activated", "CurrencyIsoCode": "USD",
            "Pricebook2Id": self.pricebook}])[0]
        (stored,) = gw.read("Contract", ["Id", "EndDate"], f"Id = '{contract}'")
        self.ids[name], self.ends[name] = contract, date.fromisoformat(str(stored["EndDate"]))
        if self.cpq:
            _insert(gw, "SBQQ__Subscription__c", [{
                "SBQQ__Contract__c": contract, "SBQQ__Account__c": account,
                "SBQQ__Product__c": self.products[p][0], "SBQQ__ProductName__c": p,
                "SBQQ__Quantity__c": q, "SBQQ__NetPrice__c": price, "CurrencyIsoCode": "USD",
                "SBQQ__SubscriptionType__c": "Renewable"} for p, q, price in lines])
            return
        won = _insert(gw, "Opportunity", [{
            "AccountId": account, "Name": f"{name} new business", "StageName": "Closed Won",
            "CloseDate": start.isoformat(), "ContractId": contract,
            "Pricebook2Id": self.pricebook, "CurrencyIsoCode": "USD"}])[0]
        _insert(gw, "OpportunityLineItem", [{
            "OpportunityId": won, "PricebookEntryId": self.products[p][1], "Quantity": q,
            "UnitPrice": price, "ServiceDate": start.isoformat()} for p, q, price in lines])

    def links(self) -> dict[str, str | None]:
        """Each contract's renewal-opportunity link, by contract Id."""
        rows = self.book.gateway().read("Contract", ["Id", self.link], "Id != null")
        return {str(r["Id"]): r[self.link] for r in rows}


@pytest.fixture(params=PRESETS, ids=("standard", "cpq"))
def org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Org]:
    local = LocalOrg(tmp_path / "org")
    local.start()
    try:
        config = make_config(tmp_path, tmp_path / "org", mapping=request.param)
        book = Book(org=local, config=config, seed=None, base=tmp_path)  # type: ignore[arg-type]
        gw = book.gateway()
        pricebook = _insert(gw, "Pricebook2", [{"Name": "Commercial", "IsActive": True}])[0]
        products = {}
        for name, price in (("Platform", 1000), ("Support", 200)):
            product = _insert(gw, "Product2", [{"Name": name, "Family": "Software",
                                                "IsActive": True}])[0]
            products[name] = (product, _insert(gw, "PricebookEntry", [{
                "Pricebook2Id": pricebook, "Product2Id": product, "UnitPrice": price,
                "IsActive": True, "CurrencyIsoCode": "USD"}])[0])
        yield Org(book, request.param.endswith("cpq.yaml"), pricebook, products)
    finally:
        local.stop()


def _skips(outcome: Any) -> dict[str, tuple[str, str]]:
    return {s["contract_id"]: (s["reason"], s["detail"])
            for a in iter_accounts(Path(outcome.stats["plan_file"])) for s in a.skipped}


def _run(o: Org) -> Any:
    outcome = o.book.run()
    assert outcome.status == "succeeded", outcome.message
    return outcome


def _delete(o: Org, sobject: str, sf_id: str) -> None:
    assert o.book.gateway().write("delete", sobject, [{"Id": sf_id}])[0].success


def _sf_id(o: Org, sobject: str, key: str) -> str:
    (row,) = o.book.gateway().read(sobject, ["Id"], format_soql(f"{KEY} = {{}}", key))
    return str(row["Id"])


def test_what_a_person_deleted_stays_deleted_even_after_a_rollback(org: Org) -> None:
    kept_acct, gone_acct = org.account("Drops Support Co"), org.account("Deleted Renewal Co")
    org.contract("two_products", kept_acct, ends_in=40,
                 lines=(("Platform", 10, 1000), ("Support", 5, 200)))
    org.contract("deleted", gone_acct, ends_in=50)
    first = _run(org)
    before = dump(org.book)
    opps = {o["AccountId"]: k for k, o in before["Opportunity"].items()}
    kept, gone = opps[kept_acct], opps[gone_acct]
    lines = {li["Sfrenew_Explanation__c"].split(":")[0]: k
             for k, li in before["OpportunityLineItem"].items() if li["OpportunityId"] == kept}
    support = next(k for name, k in lines.items() if "Support" in name)
    task = min(k for k, t in before["Task"].items() if t["WhatId"] == kept)

    # The rep removes the product the customer drops and a task; a manager deletes a renewal.
    _delete(org, "OpportunityLineItem", _sf_id(org, "OpportunityLineItem", support))
    _delete(org, "Task", _sf_id(org, "Task", task))
    _delete(org, "Opportunity", _sf_id(org, "Opportunity", gone))

    second = _run(org)
    after = dump(org.book)
    assert set(after["Opportunity"]) == {kept}  # the deleted renewal is not made again
    assert support not in after["OpportunityLineItem"]
    assert [li for li in after["OpportunityLineItem"].values()
            if li["OpportunityId"] == kept]
    assert task not in after["Task"]
    opp = after["Opportunity"][kept]
    assert "Support" in opp["Sfrenew_Explanation__c"]
    assert "removed from this renewal by a person" in opp["Sfrenew_Explanation__c"]
    assert float(opp["Sfrenew_Prior_ARR__c"]) == 10_000.0  # 10 × 1,000; Support left out
    assert _skips(second)[org.ids["deleted"]][0] == "renewal_deleted_by_person"
    said = {c.key: c.reason for a in iter_accounts(Path(second.stats["plan_file"]))
            for c in a.changes}
    assert said[task].startswith("deleted by a person")  # the plan says why it stays gone
    assert _run(org).stats["written"] == {}  # and it stays so

    # A rollback of the run that created them does not bring them back either, nor
    # does the next run.
    _, report = rollback_session(org.book.config, first.run_id, dry_run=False, clock=now)
    fate = {i.key: i.action for i in report.items}
    assert fate[support] == fate[task] == fate[gone] == "gone"
    _run(org)
    final = dump(org.book)
    assert gone not in final["Opportunity"]
    assert support not in final["OpportunityLineItem"]
    assert task not in final["Task"]


OWNED = ["Sfrenew_Explanation__c", "Sfrenew_Derivation__c", "Sfrenew_Risk_Level__c",
         "Sfrenew_Risk_Score__c", "Sfrenew_Risk_Reasons__c", "Sfrenew_Needs_Approval__c",
         "Sfrenew_Approval_Reason__c", "Sfrenew_Overdue__c", "Sfrenew_Days_Overdue__c"]
PERSONS = ["Id", "Name", "StageName", "Amount", "CloseDate", "Type", "OwnerId", "NextStep",
           KEY]


def test_a_renewal_a_person_opened_is_adopted_linked_and_never_duplicated(org: Org) -> None:
    hand, plain = org.account("Hand Renewal Co"), org.account("Plain Co")
    org.contract("by_hand", hand, ends_in=40)
    org.contract("plain", plain, ends_in=60)
    end = org.ends["by_hand"]
    gw = org.book.gateway()

    def person_opp(name: str, close: date, stage: str = "Prospecting") -> str:
        return _insert(gw, "Opportunity", [{
            "AccountId": hand, "Name": name, "StageName": stage, "Type": "Renewal",
            "CloseDate": close.isoformat(), "Amount": 9_500, "CurrencyIsoCode": "USD",
            "NextStep": "Call the CFO"}])[0]

    def theirs() -> dict[str, dict[str, Any]]:
        return {r["Id"]: r for r in gw.read("Opportunity", PERSONS, f"AccountId = '{hand}'")}

    def owned(opp: str) -> dict[str, Any]:
        (row,) = gw.read("Opportunity", OWNED, f"Id = '{opp}'")
        return {f: row[f] for f in OWNED}

    chosen = person_opp("Renewal by hand", end + timedelta(days=10))
    other = person_opp("Another try", end - timedelta(days=30))
    far = person_opp("Next year's", end + timedelta(days=100))
    person_opp("Last year's", end, stage="Closed Won")
    as_made = theirs()
    empty = owned(chosen)

    first = _run(org)
    org_now = dump(org.book)
    # No second renewal next to the person's: sfrenew's only opportunity is Plain Co's.
    (sfrenew_opp,) = org_now["Opportunity"]
    assert org_now["Opportunity"][sfrenew_opp]["AccountId"] == plain
    assert org.ids["by_hand"] not in _skips(first)  # renewed: on the person's opportunity
    links = org.links()
    assert links[org.ids["by_hand"]] == chosen
    assert links[org.ids["plain"]] == _sf_id(org, "Opportunity", sfrenew_opp)
    # sfrenew's own fields on the adopted opportunity: the talk track says whose it is,
    # the derivation how it was chosen; risk fields are sfrenew's view.
    mine = owned(chosen)
    assert mine["Sfrenew_Explanation__c"].startswith("A person opened this renewal")
    assert chosen in mine["Sfrenew_Derivation__c"]
    # How it was chosen is in the plan of the run that adopted it.
    (said,) = [r.adoption for a in iter_accounts(Path(first.stats["plan_file"]))
               for r in a.renewals if r.adopted_opportunity == chosen]
    assert "10 days after" in said
    assert other in said
    assert far not in said
    assert mine["Sfrenew_Risk_Level__c"] == "Low"
    assert mine["Sfrenew_Overdue__c"] is False
    # ... and nothing of the person's: name, stage, amount, close date, type, owner, next
    # step, no key, no lines; the other candidates untouched.
    assert theirs() == as_made
    assert not list(gw.read("OpportunityLineItem", ["Id"], f"OpportunityId = '{chosen}'"))
    assert all(owned(o) == empty for o in (other, far))
    # Its own cadence tasks, on the person's opportunity.
    tasks = {k: t for k, t in org_now["Task"].items() if t["WhatId"] == chosen}
    assert tasks
    assert all(t["Status"] == "Not Started" for t in tasks.values())

    second = _run(org)
    assert second.stats["written"] == {}  # maintained, nothing to change
    assert org.ids["by_hand"] not in _skips(second)

    # The rep works the renewal: stage, amount, close date. sfrenew keeps maintaining its
    # own fields and tasks and never touches theirs, nor opens a second renewal.
    moved = (end + timedelta(days=20)).isoformat()
    assert gw.write("update", "Opportunity", [{
        "Id": chosen, "StageName": "Negotiation/Review", "Amount": 12_000,
        "CloseDate": moved}])[0].success
    worked = theirs()
    _run(org)
    assert theirs() == worked
    assert len(dump(org.book)["Opportunity"]) == 1
    assert {k for k, t in dump(org.book)["Task"].items() if t["WhatId"] == chosen} == set(tasks)

    # Undo the first run: the renewal goes, both contract links are put back, sfrenew's
    # fields on the person's opportunity are restored (empty) and its tasks deleted; the
    # person's opportunity and their edits stay. Nothing is said to be a person's change.
    latest = owned(chosen)
    _, dry = rollback_session(org.book.config, first.run_id, dry_run=True, clock=now)
    assert [i for i in dry.items if i.action == "left_alone"] == []
    fate = {(i.object, i.key): i.action for i in dry.items}
    assert fate[("Opportunity", chosen)] == "restore"
    assert all(fate[("Task", k)] == "delete" for k in tasks)
    _, report = rollback_session(org.book.config, first.run_id, dry_run=False, clock=now)
    assert sorted(i.key for i in report.items if i.object == "Contract"
                  and i.action == "restore") == sorted([org.ids["by_hand"], org.ids["plain"]])
    assert org.links() == {org.ids["by_hand"]: None, org.ids["plain"]: None}
    assert dump(org.book)["Opportunity"] == {}
    assert dump(org.book)["Task"] == {}
    # Its fields are as before the run, but those a later run rewrote (the stage moved:
    # the forecast words changed), which stay as that run wrote them.
    restored = next(i for i in report.items if i.key == chosen)
    assert "Sfrenew_Risk_Level__c" in restored.fields
    undone = owned(chosen)
    assert all(undone[f] == (empty[f] if f in restored.fields else latest[f]) for f in OWNED)
    assert undone["Sfrenew_Risk_Level__c"] is None
    assert theirs() == worked


def test_tasks_sfrenew_completed_itself_are_reopened_never_those_people_did(org: Org) -> None:
    acct = org.account("Reopen Co")
    org.contract("reopen", acct, ends_in=40)
    gw = org.book.gateway()
    contract = org.ids["reopen"]

    def statuses() -> dict[str, str]:
        return {k: t["Status"] for k, t in dump(org.book)["Task"].items()}

    _run(org)
    first = statuses()
    assert len(first) >= 3
    assert set(first.values()) == {"Not Started"}
    by_person, touched, *sfrenews = sorted(first)
    # A rep completes one task. Then the contract is marked do-not-renew for a while:
    # sfrenew completes the renewal's other open tasks (as earlier versions did to open
    # renewals), and a rep adds a comment to one of those afterwards.
    assert gw.write("update", "Task", [{"Id": _sf_id(org, "Task", by_person),
                                        "Status": "Completed"}])[0].success
    assert gw.write("update", "Contract", [{"Id": contract, "Do_Not_Renew__c": True}])[
        0].success
    _run(org)
    assert set(statuses().values()) == {"Completed"}
    assert gw.write("update", "Task", [{"Id": _sf_id(org, "Task", touched),
                                        "Description": "Customer asked to wait"}])[0].success

    # The contract renews again: the tasks sfrenew completed itself (the ledger says so,
    # and nobody touched them since) are reopened; the one the rep completed and the one
    # the rep touched after sfrenew's close stay completed.
    assert gw.write("update", "Contract", [{"Id": contract, "Do_Not_Renew__c": False}])[
        0].success
    reopened = _run(org)
    now_status = statuses()
    assert {k: now_status[k] for k in first} == {
        by_person: "Completed", touched: "Completed",
        **dict.fromkeys(sfrenews, "Not Started")}
    said = {c.key: c.reason for a in iter_accounts(Path(reopened.stats["plan_file"]))
            for c in a.changes}
    assert all(said[k] == "rules changed Status" for k in sfrenews)
    assert _run(org).stats["written"] == {}  # and they stay so

    # Undoing the run that reopened them completes them again, and names no person's
    # change.
    _, report = rollback_session(org.book.config, reopened.run_id, dry_run=False, clock=now)
    assert {i.key: i.action for i in report.items if i.object == "Task"} == dict.fromkeys(
        sfrenews, "restore")
    assert set(statuses().values()) == {"Completed"}
