"""Hand-written scenarios on the CPQ mapping: records made one by one, results checked
against values worked out by hand from config.example.yaml's rules.

* Co-terming and a contractual cap: two contracts ending 15 days apart become one
  renewal; every line ends on the earlier contract's renewal end; the rule rate (5%,
  after the index formula min(5%, 3.1% + 1%) = 4.1%) is capped at the contract's 3%.
* High risk: health 10 (20 points), a payment overdue (10), an open Sev1 case (15),
  the champion gone (15) = 60 → High: no uplift, never Commit, the High-only step.
* Already renewed by a person: a renewal opportunity someone opened for the contract
  (``SBQQ__RenewedContract__c``) → no sfrenew renewal, reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.app import LocalOrg
from sfrenew.plan import iter_accounts
from sfrenew.salesforce import Gateway
from tests.clock import today
from tests.integration.test_run_support import Book, dump, insert, make_config

pytestmark = pytest.mark.integration


def _contract(gateway: Gateway, account: str, *, ends_in: int, cap: float | None = None
              ) -> str:
    end = today() + timedelta(days=ends_in)
    start = end.replace(year=end.year - 1) + timedelta(days=1)
    row: dict[str, Any] = {"AccountId": account, "StartDate": start.isoformat(),
                           "ContractTerm": 12, "Status": "Activated", "CurrencyIsoCode": "USD"}
    if cap is not None:
        row["Uplift_Cap__c"] = cap
    return insert(gateway, "Contract", [row])[0]


def _line(gateway: Gateway, contract: str, account: str, product: str) -> str:
    return insert(gateway, "SBQQ__Subscription__c", [{
        "SBQQ__Contract__c": contract, "SBQQ__Account__c": account, "SBQQ__Product__c": product,
        "SBQQ__ProductName__c": "Platform", "SBQQ__Quantity__c": 10,
        "SBQQ__NetPrice__c": 1000, "CurrencyIsoCode": "USD"}])[0]


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[tuple[Book, dict[str, str]]]:
    org = LocalOrg(tmp_path / "org")
    org.start()
    try:
        config = make_config(tmp_path, tmp_path / "org", mapping="mappings/cpq.yaml")
        b = Book(org=org, config=config, seed=None, base=tmp_path)  # type: ignore[arg-type]
        gw = b.gateway()
        product = insert(gw, "Product2", [{"Name": "Platform", "Family": "Software",
                                            "IsActive": True}])[0]
        healthy, risky, renewed = insert(gw, "Account", [
            {"Name": "Cotermed Co", "Health_Score__c": 90, "Segment__c": "SMB"},
            {"Name": "Risky Co", "Health_Score__c": 10, "Payment_Overdue__c": True},
            {"Name": "Renewed Co", "Health_Score__c": 80}])
        ids = {"healthy": healthy, "risky": risky, "renewed": renewed}
        ids["a1"] = _contract(gw, healthy, ends_in=40, cap=3)
        ids["a2"] = _contract(gw, healthy, ends_in=55)
        ids["b1"] = _contract(gw, risky, ends_in=40)
        ids["c1"] = _contract(gw, renewed, ends_in=40)
        for key, account in (("a1", healthy), ("a2", healthy), ("b1", risky), ("c1", renewed)):
            _line(gw, ids[key], account, product)
        insert(gw, "Case", [{"AccountId": risky, "Severity__c": "Sev1", "Status": "New",
                              "Subject": "Outage"}])
        insert(gw, "Contact", [{"AccountId": risky, "LastName": "Champion",
                                 "Is_Champion__c": True, "Left_Company__c": True}])
        ids["human"] = insert(gw, "Opportunity", [{
            "AccountId": renewed, "Name": "Renewed Co - renewal by hand", "StageName":
            "Prospecting", "CloseDate": (today() + timedelta(days=30)).isoformat(),
            "SBQQ__RenewedContract__c": ids["c1"]}])[0]
        yield b, ids
    finally:
        org.stop()


def test_hand_written_scenarios(scenario: tuple[Book, dict[str, str]]) -> None:
    b, ids = scenario
    outcome = b.run()
    assert outcome.status == "succeeded", outcome.message
    org = dump(b)
    opps = {o["AccountId"]: (k, o) for k, o in org["Opportunity"].items()}
    assert set(opps) == {ids["healthy"], ids["risky"]}

    # Co-terming and the contractual cap.
    key, opp = opps[ids["healthy"]]
    assert set(opp["Sfrenew_Coterm_Group__c"].split(", ")) == {ids["a1"], ids["a2"]}
    lines = [line for line in org["OpportunityLineItem"].values()
             if line["OpportunityId"] == key]
    assert len(lines) == 2
    capped = next(line for line in lines if line["Sfrenew_Source_Line_Id__c"] and
                  line["Sfrenew_Uplift_Bound__c"] == "cap")
    assert float(capped["Sfrenew_Uplift_Rate__c"]) == 3.0
    other = next(line for line in lines if line is not capped)
    assert float(other["Sfrenew_Uplift_Rate__c"]) == 4.1  # min(5%, 3.1% + 1%)
    a1_start = today() + timedelta(days=41)
    assert str(capped["ServiceDate"]) == a1_start.isoformat()
    assert str(other["ServiceDate"]) == (today() + timedelta(days=56)).isoformat()
    assert "co-term" in opp["Sfrenew_Explanation__c"]

    # High risk.
    key, opp = opps[ids["risky"]]
    assert opp["Sfrenew_Risk_Level__c"] == "High"
    assert opp["Sfrenew_Risk_Score__c"] >= 60
    assert opp["ForecastCategoryName"] != "Commit"
    (line,) = [li for li in org["OpportunityLineItem"].values() if li["OpportunityId"] == key]
    assert float(line["Sfrenew_Uplift_Rate__c"]) == 0.0
    subjects = [t["Subject"] for t in org["Task"].values() if t["WhatId"] == key]
    assert any(s.startswith("Executive check-in (risk High)") for s in subjects), subjects

    # Already renewed by a person: left alone, and said so.
    skipped = {(s["contract_id"], s["reason"])
               for a in iter_accounts(Path(outcome.stats["plan_file"])) for s in a.skipped}
    assert (ids["c1"], "already_renewed_by_person") in skipped
    assert b.run().stats["written"] == {}
