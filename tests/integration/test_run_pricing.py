"""Uplift precedence and CPQ's Renewal Pricing Method through the local org (issue 13, 3/4).

Records are made one by one on a local org whose clock, like the run's, starts at a
fixed instant (2026-03-15 12:00 UTC, ticking a millisecond per reading), so the
expected prices below are worked out by hand from config.example.yaml and hold on
any date:

* index formula ``max(floor, min(rate, 3.1% + 1%))`` (at most 4.1%), policy cap 10%,
  floor 0%, High risk at most 0%, rule "Enterprise software" 6%;
* every contract runs 12 months (or 36) and renews for the same term from the day
  after it ends: no proration, a line's amount is quantity × its price.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.core.policy import ContractualUplift
from sfrenew.localorg.app import LocalOrg
from sfrenew.runner import RunRequest, execute
from sfrenew.salesforce import Gateway
from tests.integration.test_run_support import ALL_STEPS, Book, dump, insert, make_config

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 15, 12, tzinfo=UTC)  # "today" is 2026-03-15


class TickingClock:
    """A fixed instant that moves on a millisecond each time it is read."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return START + timedelta(milliseconds=next(self._ticks))


@dataclasses.dataclass
class Org:
    """A local org on the fixed clock, a config (one preset) pointing at it."""

    book: Book
    clock: TickingClock
    gateway: Gateway
    product: str

    def account(self, name: str, **fields: Any) -> str:
        return insert(self.gateway, "Account", [{"Name": name, "Health_Score__c": 90,
                                                  **fields}])[0]

    def run(self, **rules: Any) -> dict[str, Any]:
        """One run with config.example.yaml's rules (uplift fields replaced by ``rules``)."""
        config = self.book.config
        if rules:
            uplift = dataclasses.replace(config.rules.uplift, **rules)
            config = dataclasses.replace(config, rules=dataclasses.replace(config.rules,
                                                                           uplift=uplift))
        outcome = execute(config, RunRequest(job="main", steps=ALL_STEPS), clock=self.clock)
        assert outcome.status == "succeeded", outcome.message
        return dump(self.book)


def _open(tmp_path: Path, mapping: str) -> Iterator[Org]:
    clock = TickingClock()
    org = LocalOrg(tmp_path / "org", clock=clock)
    org.start()
    try:
        config = make_config(tmp_path, tmp_path / "org", mapping=mapping)
        book = Book(org=org, config=config, seed=None, base=tmp_path)  # type: ignore[arg-type]
        gateway = book.gateway()
        product = insert(gateway, "Product2", [{"Name": "Platform", "Family": "Software",
                                                 "IsActive": True}])[0]
        yield Org(book, clock, gateway, product)
    finally:
        org.stop()


def _contract(org: Org, account: str, *, start: str, term: int = 12, **fields: Any) -> str:
    return insert(org.gateway, "Contract", [{
        "AccountId": account, "StartDate": start, "ContractTerm": term, "Status": "Activated",
        "CurrencyIsoCode": "USD", **fields}])[0]


def _lines_of(org_dump: dict[str, Any], account: str) -> list[dict[str, Any]]:
    keys = {k for k, o in org_dump["Opportunity"].items() if o["AccountId"] == account}
    return [li for li in org_dump["OpportunityLineItem"].values() if li["OpportunityId"] in keys]


def _explanations(org_dump: dict[str, Any], account: str,
                  field: str = "Sfrenew_Explanation__c") -> str:
    return "\n".join(o[field] for o in org_dump["Opportunity"].values()
                     if o["AccountId"] == account)


# -- the standard preset -------------------------------------------------------------


@pytest.fixture
def standard(tmp_path: Path) -> Iterator[Org]:
    yield from _open(tmp_path, "mappings/standard.yaml")


def _standard_line(org: Org, account: str, contract: str, *, entry: str,
                   pricebook: str) -> None:
    opp = insert(org.gateway, "Opportunity", [{
        "AccountId": account, "Name": "Won deal", "StageName": "Closed Won",
        "CloseDate": "2025-04-20", "ContractId": contract, "Pricebook2Id": pricebook}])[0]
    insert(org.gateway, "OpportunityLineItem", [{
        "OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 10, "UnitPrice": 1000}])


def _standard_book(org: Org) -> tuple[str, str]:
    """Two accounts: a healthy Enterprise one (a 7% contract and a rule-rated one) and a
    High-risk one (a 7% contract); their Ids."""
    pricebook = insert(org.gateway, "Pricebook2", [{"Name": "Catalogue", "IsActive": True}])[0]
    entry = insert(org.gateway, "PricebookEntry", [{
        "Pricebook2Id": pricebook, "Product2Id": org.product, "UnitPrice": 1200,
        "IsActive": True}])[0]
    # The standard preset does not map CPQ's Renewal Pricing Method: "Same" is ignored.
    healthy = org.account("Committed Co", Segment__c="Enterprise",
                          SBQQ__RenewalPricingMethod__c="Same")
    # health 10 (20 points), payment overdue (10), a Sev1 case (15), the champion gone
    # (15) and the 7% uplift (10) = 70: High
    risky = org.account("Risky Co", Health_Score__c=10, Payment_Overdue__c=True)
    committed = _contract(org, healthy, start="2025-05-01", Uplift_Rate__c=7)  # ends 04-30
    ruled = _contract(org, healthy, start="2025-08-01")  # ends 07-31: not co-termed
    high = _contract(org, risky, start="2025-05-01", Uplift_Rate__c=7)
    for account, contract in ((healthy, committed), (healthy, ruled), (risky, high)):
        _standard_line(org, account, contract, entry=entry, pricebook=pricebook)
    insert(org.gateway, "Case", [{"AccountId": risky, "Severity__c": "Sev1", "Status": "New",
                                   "Subject": "Outage"}])
    insert(org.gateway, "Contact", [{"AccountId": risky, "LastName": "Champion",
                                      "Is_Champion__c": True, "Left_Company__c": True}])
    return healthy, risky


def test_contractual_uplift_standard_preset(standard: Org) -> None:
    healthy, risky = _standard_book(standard)
    org_dump = standard.run()
    by_rate = {float(li["Sfrenew_Uplift_Rate__c"]): li for li in _lines_of(org_dump, healthy)}
    # contractual 7%: kept (was 4.1% by the index formula): 10 × 1,000 × 1.07 = 10,700
    assert by_rate[7.0]["Sfrenew_Uplift_Source__c"] == "contract"
    assert float(by_rate[7.0]["UnitPrice"]) * 10 == pytest.approx(10_700.00)
    assert "(contractual)" in by_rate[7.0]["Sfrenew_Explanation__c"]
    # the rule's 6% → index formula → 4.1%: 10 × 1,000 × 1.041 = 10,410
    assert by_rate[4.1]["Sfrenew_Uplift_Source__c"] == "rule"
    assert float(by_rate[4.1]["UnitPrice"]) * 10 == pytest.approx(10_410.00)
    # High risk: at most 0% for rule rates, but the contractual 7% stands (was 0%)
    assert org_dump["Account"][risky][0] == "High"
    (line,) = _lines_of(org_dump, risky)
    assert float(line["Sfrenew_Uplift_Rate__c"]) == 7.0
    assert float(line["UnitPrice"]) * 10 == pytest.approx(10_700.00)
    for account in (healthy, risky):
        assert "Needs approval" not in _explanations(org_dump, account)


def test_policy_may_change_contractual_uplift_with_approval(standard: Org) -> None:
    """uplift.contractual switches the index formula and risk on: 4.1% and 0%, flagged."""
    healthy, risky = _standard_book(standard)
    org_dump = standard.run(contractual=ContractualUplift(index=True, risk=True))
    rates = sorted(float(li["Sfrenew_Uplift_Rate__c"]) for li in _lines_of(org_dump, healthy))
    assert rates == [4.1, 4.1]
    (line,) = _lines_of(org_dump, risky)
    assert float(line["Sfrenew_Uplift_Rate__c"]) == 0.0
    for account in (healthy, risky):
        # flagged at the top of the opportunity, and in the fields an approval process reads
        assert ("Needs approval\n- The uplift policy changed the contractual 7% of contract"
                in _explanations(org_dump, account, "Sfrenew_Derivation__c"))
        assert ("Needs approval before it goes to the customer: the uplift policy changed "
                "the contractual 7% of contract" in _explanations(org_dump, account))
        flagged = [o for o in org_dump["Opportunity"].values() if o["AccountId"] == account
                   and "contractual 7%" in (o["Sfrenew_Approval_Reason__c"] or "")]
        assert flagged
        assert all(o["Sfrenew_Needs_Approval__c"] is True for o in flagged)


# -- the CPQ preset ------------------------------------------------------------------


@pytest.fixture
def cpq(tmp_path: Path) -> Iterator[Org]:
    yield from _open(tmp_path, "mappings/cpq.yaml")


def _subscription(org: Org, account: str, contract: str, **fields: Any) -> None:
    # Prices on a one-year basis (multiplier 1), so every basis CPQ's fields may be read
    # on gives the same annual price: 1,000 paid, 1,200 list.
    insert(org.gateway, "SBQQ__Subscription__c", [{
        "SBQQ__Contract__c": contract, "SBQQ__Account__c": account,
        "SBQQ__Product__c": org.product, "SBQQ__ProductName__c": "Platform",
        "SBQQ__Quantity__c": 10, "SBQQ__NetPrice__c": 1000, "SBQQ__CustomerPrice__c": 1000,
        "SBQQ__RegularPrice__c": 1000, "SBQQ__ListPrice__c": 1200,
        "SBQQ__ProrateMultiplier__c": 1, "CurrencyIsoCode": "USD", **fields}])


@pytest.mark.parametrize(("method", "term", "line_rate", "amount", "source", "words"), [
    # Same: the prior price, no uplift: 10 × 1,000
    ("Same", 12, None, 10_000.00, "contract", "Same"),
    (None, 12, None, 10_000.00, "contract", "Same"),  # blank behaves as Same
    # List: the price book price: 10 × 1,200
    ("List", 12, None, 12_000.00, "contract", "List"),
    # Uplift: the Subscription's 7% wins over the Contract's 5%: 10 × 1,000 × 1.07
    ("Uplift", 12, 7, 10_700.00, "line", "Uplift"),
    ("Uplift", 12, None, 10_500.00, "contract", "Uplift"),  # the Contract's 5%
    # 36 months: CPQ applies the uplift once to the term (no yearly compounding):
    # 10 × 1,000 × 1.05 × 3 = 31,500 (compounded it would be 33,101.25)
    ("Uplift", 36, None, 31_500.00, "contract", "Uplift"),
])
def test_cpq_renewal_pricing_method(cpq: Org, method: str | None, term: int,
                                    line_rate: float | None, amount: float, source: str,
                                    words: str) -> None:
    org = cpq
    account = org.account(f"{method} Co", SBQQ__RenewalPricingMethod__c=method)
    start = "2025-05-01" if term == 12 else "2023-05-01"  # both end 2026-04-30
    contract = _contract(org, account, start=start, term=term, SBQQ__RenewalUpliftRate__c=5)
    _subscription(org, account, contract, SBQQ__RenewalUpliftRate__c=line_rate)
    org_dump = org.run()
    (line,) = _lines_of(org_dump, account)
    assert float(line["UnitPrice"]) * 10 == pytest.approx(amount)
    assert line["Sfrenew_Uplift_Source__c"] == source
    assert f"priced by the account's Renewal Pricing Method: {words}" in \
        line["Sfrenew_Explanation__c"]
