"""Prices and quantities in, through the local org: hand-made records, a real pull over
HTTPS through each preset mapping, then a plan and an apply on a fixed date.

* CPQ stores a subscription's Net Price for its term (3,600.00 for 36 months of 1,200 a
  year) with Prorate Multiplier 3; the CPQ preset reads it as 1,200 a year (docs/rules.md
  §5, "Prices and quantities in").
* An amendment of −20 on a contract of 100 units renews 80 units, in both presets; a
  product amended down to zero, or a CPQ subscription terminated before the contract's
  end, is not renewed and the explanation says so.

The pull runs on the suite's pinned clock (tests/clock.py; the org stamps records
with it); the plan and apply run on 2026-03-15 whatever the date, so every number here is fixed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.core.policy import ProrationMethod, RulesPolicy, UpliftPolicy
from sfrenew.localorg.app import LocalOrg
from sfrenew.localorg.seed import seed_book
from sfrenew.mapping.translate import field_value
from sfrenew.plan import iter_accounts
from sfrenew.plan.model import AccountPlan
from sfrenew.runner import RunRequest, Step, execute
from sfrenew.salesforce import Gateway
from tests.clock import now
from tests.integration.test_run_support import Book, dump, insert, make_config

pytestmark = pytest.mark.integration

TODAY = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
CPQ, STANDARD = "mappings/cpq.yaml", "mappings/standard.yaml"


def _today() -> datetime:
    return TODAY


def _policy(base: RulesPolicy, *, compound: bool) -> RulesPolicy:
    """A flat 5% uplift, every bound and adjustment off, whole-month proration."""
    return dataclasses.replace(
        base, proration=ProrationMethod.MONTH,
        uplift=UpliftPolicy(default_rate=Decimal("0.05"), compound_multi_year=compound))


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    local = LocalOrg(tmp_path / "org")
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _book(org: LocalOrg, base: Path, mapping: str, *, compound: bool = False) -> Book:
    config = make_config(base, Path(org.data_dir), mapping=mapping)
    config = dataclasses.replace(config, rules=_policy(config.rules, compound=compound))
    return Book(org=org, config=config, seed=None, base=base)  # type: ignore[arg-type]


def _run(book: Book) -> list[AccountPlan]:
    pulled = execute(book.config, RunRequest(job="main", steps=(Step.PULL,)), clock=now)
    assert pulled.status == "succeeded", pulled.message
    done = execute(book.config, RunRequest(job="main", steps=(Step.PLAN, Step.APPLY)),
                   clock=_today)
    assert done.status == "succeeded", done.message
    return list(iter_accounts(Path(done.stats["plan_file"])))


def _account(gateway: Gateway, name: str) -> str:
    # Uplift: CPQ's own pricing method for "prior price × (1 + Renewal Uplift)".
    return insert(gateway, "Account", [{"Name": name, "Health_Score__c": 90,
                                         "SBQQ__RenewalPricingMethod__c": "Uplift"}])[0]


def _product(gateway: Gateway, name: str) -> str:
    return insert(gateway, "Product2", [{"Name": name, "Family": "Software",
                                          "IsActive": True}])[0]


def _contract(gateway: Gateway, account: str, *, start: date, months: int) -> str:
    return insert(gateway, "Contract", [{
        "AccountId": account, "StartDate": start.isoformat(), "ContractTerm": months,
        "SBQQ__RenewalTerm__c": months, "Status": "Activated", "CurrencyIsoCode": "USD",
        "SBQQ__RenewalUpliftRate__c": 5, "Uplift_Rate__c": 5}])[0]


def _subscription(gateway: Gateway, contract: str, account: str, product: str, *,
                  quantity: float, net_price: float, multiplier: float | None, start: date,
                  end: date, terminated: date | None = None) -> str:
    return insert(gateway, "SBQQ__Subscription__c", [{
        "SBQQ__Contract__c": contract, "SBQQ__Account__c": account,
        "SBQQ__Product__c": product, "SBQQ__ProductName__c": "Platform",
        "SBQQ__Quantity__c": quantity, "SBQQ__NetPrice__c": net_price,
        "SBQQ__ListPrice__c": net_price, "SBQQ__ProrateMultiplier__c": multiplier,
        "SBQQ__StartDate__c": start.isoformat(), "SBQQ__EndDate__c": end.isoformat(),
        "SBQQ__TerminatedDate__c": terminated.isoformat() if terminated else None,
        "CurrencyIsoCode": "USD"}])[0]


@pytest.mark.parametrize(("compound", "amount", "unit_price"), [
    # 10 × 1,200 × 1.05 × 3 years = 37,800.00; per unit for the 36 months: 3,780.00.
    (False, "37800.00", 3780.0),
    # 12,000 × (1.05 + 1.1025 + 1.157625) = 12,000 × 3.310125 = 39,721.50; / 10 = 3,972.15.
    (True, "39721.50", 3972.15),
])
def test_cpq_term_prices_are_read_per_year(org: LocalOrg, tmp_path: Path, compound: bool,
                                           amount: str, unit_price: float) -> None:
    book = _book(org, tmp_path, CPQ, compound=compound)
    gw = book.gateway()
    account, product = _account(gw, "Three Year Co"), _product(gw, "Platform")
    # 36 months from 2023-04-01 end on 2026-03-31: within the horizon of 2026-03-15.
    contract = _contract(gw, account, start=date(2023, 4, 1), months=36)
    # As CPQ stores it: Net Price for the 36-month term (3 × 1,200), multiplier 3.
    _subscription(gw, contract, account, product, quantity=10, net_price=3600,
                  multiplier=3, start=date(2023, 4, 1), end=date(2026, 3, 31))
    (plan,) = _run(book)
    (renewal,) = plan.renewals
    assert (renewal.start_date, renewal.end_date) == ("2026-04-01", "2029-03-31")
    assert renewal.amount == amount
    assert "1,200.00 USD → 1,260.00 USD a year per unit" in renewal.derivation
    (line,) = dump(book)["OpportunityLineItem"].values()
    assert (float(line["Quantity"]), float(line["UnitPrice"])) == (10.0, unit_price)


def _standard_lines(gw: Gateway, account: str, contract: str, product: str,
                    lines: list[tuple[float, str]]) -> None:
    """The contract's lines as standard line items: the deal it came from, then an
    amendment opportunity (both Closed Won, ContractId set), one line each."""
    for (quantity, service), name in zip(lines, ("Original deal", "Amendment"),
                                         strict=False):
        opp = insert(gw, "Opportunity", [{
            "AccountId": account, "Name": name, "StageName": "Closed Won",
            "CloseDate": service, "ContractId": contract, "CurrencyIsoCode": "USD"}])[0]
        insert(gw, "OpportunityLineItem", [{
            "OpportunityId": opp, "Product2Id": product, "Quantity": quantity,
            "UnitPrice": 1200, "ServiceDate": service}])


@pytest.mark.parametrize("mapping", [STANDARD, CPQ])
def test_amendments_are_netted(org: LocalOrg, tmp_path: Path, mapping: str) -> None:
    book = _book(org, tmp_path, mapping)
    gw = book.gateway()
    account, product = _account(gw, "Amended Co"), _product(gw, "Platform")
    contract = _contract(gw, account, start=date(2025, 4, 1), months=12)
    end = date(2026, 3, 31)
    if mapping == CPQ:
        for quantity, start in ((100, date(2025, 4, 1)), (-20, date(2025, 10, 1))):
            multiplier = 1 if start.month == 4 else 0.5  # the downsell covers 6 months
            _subscription(gw, contract, account, product, quantity=quantity,
                          net_price=1200 * multiplier, multiplier=multiplier, start=start,
                          end=end)
    else:
        _standard_lines(gw, account, contract, product,
                        [(100, "2025-04-01"), (-20, "2025-10-01")])
    (plan,) = _run(book)
    assert plan.skipped == ()
    (renewal,) = plan.renewals
    # 80 × 1,200 × 1.05 = 100,800.00 for the 12-month renewal.
    assert renewal.amount == "100800.00"
    assert "Quantity netted from amendments: Platform: quantity 100 − 20 (amendment) = 80." \
        in renewal.derivation
    (line,) = dump(book)["OpportunityLineItem"].values()
    assert (float(line["Quantity"]), float(line["UnitPrice"])) == (80.0, 1260.0)


def test_products_left_without_units_are_not_renewed(org: LocalOrg, tmp_path: Path) -> None:
    """CPQ: an add-on terminated mid-term does not renew, the platform does."""
    book = _book(org, tmp_path, CPQ)
    gw = book.gateway()
    account = _account(gw, "Terminated Co")
    platform, addon = _product(gw, "Platform"), _product(gw, "Add-on")
    contract = _contract(gw, account, start=date(2025, 4, 1), months=12)
    end = date(2026, 3, 31)
    _subscription(gw, contract, account, platform, quantity=10, net_price=1200, multiplier=1,
                  start=date(2025, 4, 1), end=end)
    _subscription(gw, contract, account, addon, quantity=5, net_price=300, multiplier=1,
                  start=date(2025, 4, 1), end=end, terminated=date(2025, 9, 30))
    (plan,) = _run(book)
    (renewal,) = plan.renewals
    assert renewal.amount == "12600.00"  # 10 × 1,200 × 1.05; the add-on is gone
    assert "Not renewed\n- Contract " in renewal.derivation
    assert "Platform × 5 terminated 2025-09-30, before the contract's end (2026-03-31); " \
           "not renewed." in renewal.derivation


def _plan_seeded(org: LocalOrg, base: Path, mapping: str) -> list[AccountPlan]:
    book = _book(org, base, mapping)
    pulled = execute(book.config, RunRequest(job="main", steps=(Step.PULL,)), clock=now)
    assert pulled.status == "succeeded", pulled.message
    planned = execute(book.config, RunRequest(job="main", steps=(Step.PLAN,), dry_run=True,
                                              horizon_days=800), clock=_today)
    assert planned.status == "succeeded", planned.message
    return list(iter_accounts(Path(planned.stats["plan_file"])))


def test_the_seeded_amendments_renew_netted_in_both_presets(org: LocalOrg,
                                                            tmp_path: Path) -> None:
    seed_book(org.store, contracts=150, seed=11, today=TODAY.date())
    gw = _book(org, tmp_path / "probe", CPQ).gateway()
    downsells = list(gw.read("SBQQ__Subscription__c", [
        "SBQQ__Contract__c", "SBQQ__Quantity__c", "SBQQ__RevisedSubscription__r.SBQQ__Quantity__c"],
        "SBQQ__Quantity__c < 0"))
    terminated = {r["SBQQ__Contract__c"] for r in gw.read(
        "SBQQ__Subscription__c", ["SBQQ__Contract__c"], "SBQQ__TerminatedDate__c != null")}
    assert downsells
    assert terminated
    plans = {m: _plan_seeded(org, tmp_path / m.split("/")[1], m) for m in (STANDARD, CPQ)}
    for mapping, accounts in plans.items():
        explained = {c: r.derivation for a in accounts for r in a.renewals
                     for c in r.contracts}
        renewed = 0
        for row in downsells:
            text = explained.get(row["SBQQ__Contract__c"])
            if text is None:
                continue  # not renewed on this date (ended, renewed by a person...)
            renewed += 1
            original = int(field_value(row, "SBQQ__RevisedSubscription__r.SBQQ__Quantity__c"))
            taken = -int(row["SBQQ__Quantity__c"])
            assert (f"quantity {original} − {taken} (amendment) = {original - taken}."
                    in text), mapping
        assert renewed, mapping
        # A removed add-on: terminated (CPQ) or amended to nothing (standard).
        left_out = [explained[c] for c in terminated if c in explained]
        assert left_out, mapping
        assert all("Not renewed\n- Contract " in text for text in left_out), mapping
