"""Co-terming terms and self-renewing contracts through the local org, on both presets.

Records are made one by one (standard: contract, its won opportunity and line items;
CPQ: contract and subscriptions), then the real run pulls, plans and applies. Dates are
offsets from the org's day, and every expected date is worked out from the contract's
own end date by the term rule, so the checks hold on any day.

* A 12-month and a 36-month contract ending 20 days apart: two renewals, each its full
  term (the 36-month commitment is not cut to 11 months), nothing to approve.
* A 12-month and a 1-month contract: the monthly one is skipped (``below_min_term``),
  the annual one renews 12 months; an evergreen contract is skipped (``evergreen``).
* An earlier renewal of the monthly contract (made under ``min_term_months: 1``) is left
  alone by the next run under the default: not updated, its open tasks not completed.
* A policy that mixes terms and allows a term change co-terms the 36 with the 12,
  says so in plain words and sets the approval fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.core.policy import CotermPolicy, EligibilityPolicy, TermCompatibility
from sfrenew.core.rules.term import add_months, term_end
from sfrenew.localorg.app import LocalOrg
from sfrenew.plan import iter_accounts
from tests.clock import today
from tests.integration.test_run_support import Book, dump, insert, make_config

pytestmark = pytest.mark.integration
PRESETS = ("mappings/standard.yaml", "mappings/cpq.yaml")


@dataclasses.dataclass
class Org:
    """A scenario org: the book, the catalogue, and the contracts by name."""

    book: Book
    cpq: bool
    product: str
    pricebook: str
    entry: str
    ids: dict[str, str] = dataclasses.field(default_factory=dict)
    ends: dict[str, date] = dataclasses.field(default_factory=dict)

    def contract(self, name: str, account: str, *, ends_in: int, months: int,
                 evergreen: bool = False) -> None:
        """A contract of ``months`` ending ``ends_in`` days from today, with one line."""
        gw = self.book.gateway()
        start = add_months(today() + timedelta(days=ends_in + 1), -months)
        row: dict[str, Any] = {"AccountId": account, "StartDate": start.isoformat(),
                               "ContractTerm": months, "Status": "Activated",
                               "CurrencyIsoCode": "USD", "Pricebook2Id": self.pricebook}
        if evergreen and not self.cpq:
            row["Evergreen__c"] = True
        contract = insert(gw, "Contract", [row])[0]
        (stored,) = gw.read("Contract", ["Id", "EndDate"], f"Id = '{contract}'")
        self.ids[name], self.ends[name] = contract, date.fromisoformat(str(stored["EndDate"]))
        if self.cpq:
            insert(gw, "SBQQ__Subscription__c", [{
                "SBQQ__Contract__c": contract, "SBQQ__Account__c": account,
                "SBQQ__Product__c": self.product, "SBQQ__ProductName__c": "Platform",
                "SBQQ__Quantity__c": 10, "SBQQ__NetPrice__c": 1000, "CurrencyIsoCode": "USD",
                "SBQQ__SubscriptionType__c": "Evergreen" if evergreen else "Renewable"}])
            return
        won = insert(gw, "Opportunity", [{
            "AccountId": account, "Name": f"{name} new business", "StageName": "Closed Won",
            "CloseDate": start.isoformat(), "ContractId": contract,
            "Pricebook2Id": self.pricebook, "CurrencyIsoCode": "USD"}])[0]
        insert(gw, "OpportunityLineItem", [{
            "OpportunityId": won, "PricebookEntryId": self.entry, "Quantity": 10,
            "UnitPrice": 1000, "ServiceDate": start.isoformat()}])

    def renewal_start(self, name: str) -> date:
        """The day after the contract ends."""
        return self.ends[name] + timedelta(days=1)


@pytest.fixture(params=PRESETS, ids=("standard", "cpq"))
def org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Org]:
    local = LocalOrg(tmp_path / "org")
    local.start()
    try:
        config = make_config(tmp_path, tmp_path / "org", mapping=request.param)
        book = Book(org=local, config=config, seed=None, base=tmp_path)  # type: ignore[arg-type]
        gw = book.gateway()
        product = insert(gw, "Product2", [{"Name": "Platform", "Family": "Software",
                                            "IsActive": True}])[0]
        pricebook = insert(gw, "Pricebook2", [{"Name": "Commercial", "IsActive": True}])[0]
        entry = insert(gw, "PricebookEntry", [{
            "Pricebook2Id": pricebook, "Product2Id": product, "UnitPrice": 1000,
            "IsActive": True, "CurrencyIsoCode": "USD"}])[0]
        yield Org(book, request.param.endswith("cpq.yaml"), product, pricebook, entry)
    finally:
        local.stop()


def _accounts(o: Org, *names: str) -> dict[str, str]:
    ids = insert(o.book.gateway(), "Account",
                  [{"Name": n, "Health_Score__c": 90} for n in names])
    return dict(zip(names, ids, strict=True))


def _with_rules(o: Org, **changes: Any) -> None:
    o.book.config = dataclasses.replace(
        o.book.config, rules=dataclasses.replace(o.book.config.rules, **changes))


def _skips(outcome: Any) -> dict[str, tuple[str, str]]:
    return {s["contract_id"]: (s["reason"], s["detail"])
            for a in iter_accounts(Path(outcome.stats["plan_file"])) for s in a.skipped}


def test_multi_year_and_annual_renew_separately_each_its_full_term(org: Org) -> None:
    acct = _accounts(org, "Multi Year Co")["Multi Year Co"]
    org.contract("annual", acct, ends_in=40, months=12)
    org.contract("three_year", acct, ends_in=60, months=36)
    outcome = org.book.run()
    assert outcome.status == "succeeded", outcome.message
    opps = list(dump(org.book)["Opportunity"].values())
    by_group = {o["Sfrenew_Coterm_Group__c"]: o for o in opps}
    assert set(by_group) == {org.ids["annual"], org.ids["three_year"]}  # two renewals
    for name, months in (("annual", 12), ("three_year", 36)):
        opp = by_group[org.ids[name]]
        start = org.renewal_start(name)
        end = term_end(start, months)  # e.g. 2027-03-03 + 36 months - 1 day = 2030-03-02
        assert str(opp["CloseDate"]) == org.ends[name].isoformat()
        assert f"({months} months)" in opp["Sfrenew_Explanation__c"]  # the talk track
        text = opp["Sfrenew_Derivation__c"]
        assert f"runs its full {months}-month term to {end.isoformat()}" in text
        assert not opp["Sfrenew_Needs_Approval__c"]
        assert not opp["Sfrenew_Approval_Reason__c"]


def test_monthly_and_evergreen_contracts_get_no_renewal(org: Org) -> None:
    accts = _accounts(org, "Monthly Co", "Evergreen Co")
    org.contract("annual", accts["Monthly Co"], ends_in=30, months=12)
    org.contract("monthly", accts["Monthly Co"], ends_in=10, months=1)
    org.contract("evergreen", accts["Evergreen Co"], ends_in=50, months=12, evergreen=True)
    outcome = org.book.run()
    assert outcome.status == "succeeded", outcome.message
    (opp,) = dump(org.book)["Opportunity"].values()
    assert opp["Sfrenew_Coterm_Group__c"] == org.ids["annual"]
    end = term_end(org.renewal_start("annual"), 12)
    assert f"runs its full 12-month term to {end.isoformat()}" in opp["Sfrenew_Derivation__c"]
    skips = _skips(outcome)
    reason, detail = skips[org.ids["monthly"]]
    assert reason == "below_min_term"
    assert "renewal term is 1 month, below rules.eligibility.min_term_months (3)" in detail
    assert "lower min_term_months to 1" in detail  # what to do
    reason, detail = skips[org.ids["evergreen"]]
    assert reason == "evergreen"
    assert "rules.eligibility.renew_evergreen: true" in detail


def test_an_earlier_renewal_of_a_monthly_contract_is_left_alone(org: Org) -> None:
    acct = _accounts(org, "Monthly Co")["Monthly Co"]
    org.contract("monthly", acct, ends_in=10, months=1)
    _with_rules(org, eligibility=EligibilityPolicy(min_term_months=1))
    first = org.book.run()  # as an earlier version did: a renewal with its tasks
    assert first.status == "succeeded", first.message
    before = dump(org.book)
    (opp_key,) = before["Opportunity"]
    assert before["Task"]
    assert all(t["Status"] == "Not Started" for t in before["Task"].values())

    _with_rules(org, eligibility=EligibilityPolicy())
    second = org.book.run()
    assert second.status == "succeeded", second.message
    assert second.stats["written"] == {}  # nothing updated, nothing closed
    assert dump(org.book) == before
    reason, detail = _skips(second)[org.ids["monthly"]]
    assert reason == "below_min_term"
    gw = org.book.gateway()
    (row,) = gw.read("Opportunity", ["Id"], f"Sfrenew_Key__c = '{opp_key}'")
    assert f"open renewal opportunity {row['Id']} (made by sfrenew earlier) is left as it is" \
        in detail


def test_a_policy_that_changes_a_term_says_so_and_flags_approval(org: Org) -> None:
    acct = _accounts(org, "Multi Year Co")["Multi Year Co"]
    org.contract("annual", acct, ends_in=40, months=12)
    org.contract("three_year", acct, ends_in=60, months=36)
    _with_rules(org, coterm=CotermPolicy(term_compatibility=TermCompatibility.ANY,
                                         allow_term_change=True))
    outcome = org.book.run()
    assert outcome.status == "succeeded", outcome.message
    (opp,) = dump(org.book)["Opportunity"].values()
    assert set(opp["Sfrenew_Coterm_Group__c"].split(", ")) == set(org.ids.values())
    # earliest anchor: both lines end on the annual contract's renewal end, so the
    # 36-month line starting 20 days later runs 11 months and 10 or so days.
    end = term_end(org.renewal_start("annual"), 12)
    three = org.renewal_start("three_year")
    assert opp["Sfrenew_Needs_Approval__c"] is True
    reason = opp["Sfrenew_Approval_Reason__c"]
    assert reason.startswith("the 36-month term of contract ")
    assert "is shortened to 11 months and " in reason
    assert (f"({three.isoformat()} to {end.isoformat()} instead of "
            f"{term_end(three, 36).isoformat()}) to co-term with contract ") in reason
    assert "Needs approval" in opp["Sfrenew_Explanation__c"]
    assert "Change of term: the 36-month term of contract " in opp["Sfrenew_Explanation__c"]
