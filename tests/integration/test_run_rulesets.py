"""Jobs restricted to some rule sets (``params.rules``) on the local org."""

from __future__ import annotations

import pytest

from sfrenew.salesforce import format_soql
from tests.integration.test_run_support import Book, book

pytestmark = pytest.mark.integration
__all__ = ["book"]  # the fixture, re-exported for pytest


def _written(outcome_stats: dict[str, dict[str, dict[str, int]]], obj: str) -> tuple[int, int]:
    counts = outcome_stats.get("written", {}).get(obj, {})
    return counts.get("created", 0), counts.get("updated", 0)


def test_risk_and_cadence_jobs_never_create_renewals(book: Book) -> None:
    for rules in (("risk",), ("cadence",)):
        outcome = book.run(rules=rules)
        assert outcome.status == "succeeded", outcome.message
        for obj in ("Opportunity", "OpportunityLineItem", "Task"):
            assert _written(outcome.stats, obj) == (0, 0), (rules, obj)
    # The full job then creates them: the restricted runs did not mark anything done.
    full = book.run()
    assert _written(full.stats, "Opportunity")[0] > 0
    assert _written(full.stats, "Task")[0] > 0


def test_risk_job_refreshes_only_risk_fields_of_existing_renewals(book: Book) -> None:
    assert book.run().status == "succeeded"
    gateway = book.gateway()
    opps = list(gateway.read("Opportunity", ["Id", "AccountId", "Sfrenew_Risk_Level__c"],
                             "Sfrenew_Key__c != null AND Sfrenew_Risk_Level__c != 'High'"))
    assert opps, "the seeded book has renewals that are not High risk"
    account_id = opps[0]["AccountId"]
    where = format_soql("AccountId = {} AND Sfrenew_Key__c != null", account_id)
    fields = ["Id", "Sfrenew_Risk_Score__c", "Sfrenew_Risk_Reasons__c"]
    before = {o["Id"]: o for o in gateway.read("Opportunity", fields, where)}
    # The account's health collapses and payment is overdue: its renewals' risk moves.
    gateway.write("update", "Account", [{"Id": account_id, "Health_Score__c": 5,
                                         "Payment_Overdue__c": True}])
    outcome = book.run(rules=("risk",))
    assert outcome.status == "succeeded", outcome.message
    assert _written(outcome.stats, "Opportunity")[0] == 0
    assert _written(outcome.stats, "Opportunity")[1] >= 1
    assert _written(outcome.stats, "OpportunityLineItem") == (0, 0)
    assert _written(outcome.stats, "Task") == (0, 0)
    after = {o["Id"]: o for o in gateway.read("Opportunity", fields, where)}
    assert after.keys() == before.keys()
    for opp_id, was in before.items():
        assert after[opp_id]["Sfrenew_Risk_Score__c"] > was["Sfrenew_Risk_Score__c"]
        assert after[opp_id]["Sfrenew_Risk_Reasons__c"] != was["Sfrenew_Risk_Reasons__c"]
