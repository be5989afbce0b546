"""What the pull reads per sObject, derived from the mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sfrenew.mapping import load_mapping
from sfrenew.mapping.objects import PulledObject, pulled_objects
from sfrenew.pull import window

ROOT = Path(__file__).resolve().parents[3]
Objects = dict[str, PulledObject]


@pytest.fixture(scope="module", params=["standard", "cpq"])
def objects(request: pytest.FixtureRequest) -> dict[str, PulledObject]:
    mapping = load_mapping(ROOT / f"mappings/{request.param}.yaml").model
    return {o.sobject: o for o in pulled_objects(mapping)}


def test_each_object_is_pulled_once_with_its_bookkeeping_fields(objects: Objects) -> None:
    for obj in objects.values():
        lowered = [f.lower() for f in obj.fields]
        assert len(lowered) == len(set(lowered)), obj.sobject
        assert "id" in lowered
        assert "systemmodstamp" in lowered
        # Users, price book entries, currencies and sfrenew's analytics rows belong to
        # no account: mirrored without a group.
        assert obj.group_field.lower() in lowered or (obj.sobject, obj.group_field) in {
            ("User", ""), ("PricebookEntry", ""), ("CurrencyType", ""),
            ("DatedConversionRate", ""), ("Sfrenew_Renewal_Metric__c", ""),
            ("Sfrenew_Forecast_Snapshot__c", "")}


def test_price_book_entries_are_pulled_without_an_account_under_cpq() -> None:
    """CPQ's List pricing reads the contract's (renewal) price book entries."""
    mapping = load_mapping(ROOT / "mappings/cpq.yaml").model
    by_name = {o.sobject: o for o in pulled_objects(mapping)}
    entries = by_name["PricebookEntry"]
    assert entries.group_field == ""
    assert entries.where is None
    assert {"Pricebook2Id", "Product2Id", "CurrencyIsoCode", "UnitPrice", "IsActive"} <= \
        set(entries.fields)
    assert {"Pricebook2Id", "SBQQ__RenewalPricebookId__c"} <= set(by_name["Contract"].fields)
    standard = load_mapping(ROOT / "mappings/standard.yaml").model
    assert "PricebookEntry" not in {o.sobject for o in pulled_objects(standard)}


def test_group_keys_lead_to_the_account(objects: Objects) -> None:
    assert objects["Account"].group_field == "Id"
    assert objects["Contract"].group_field == "AccountId"
    assert objects["Opportunity"].group_field == "AccountId"
    assert objects["OpportunityLineItem"].group_field == "Opportunity.AccountId"
    assert objects["Task"].group_field == "WhatId"
    assert objects["Task"].polymorphic


def test_cpq_subscriptions_reach_the_account_through_the_contract() -> None:
    mapping = load_mapping(ROOT / "mappings/cpq.yaml").model
    subs = next(o for o in pulled_objects(mapping) if o.sobject == "SBQQ__Subscription__c")
    assert subs.group_field == "SBQQ__Contract__r.AccountId"
    assert subs.where == "(SBQQ__SubscriptionType__c != 'One-time')"


def test_filters_apply_unless_another_concept_needs_every_record(objects: Objects) -> None:
    assert objects["Contract"].where == "(Status = 'Activated')"
    # Tasks hold cadence tasks (no filter) and completed activities (IsClosed = true).
    assert objects["Task"].where is None


def test_incremental_window() -> None:
    upper = datetime(2026, 11, 24, 8, 0, 1, tzinfo=UTC)
    assert window(watermark=None, upper=upper, overlap=timedelta(0)) == \
        "SystemModstamp <= 2026-11-24T08:00:01+00:00"
    assert window(watermark=upper - timedelta(hours=1), upper=upper,
                  overlap=timedelta(minutes=5)) == (
        "SystemModstamp >= 2026-11-24T06:55:01+00:00 AND "
        "SystemModstamp <= 2026-11-24T08:00:01+00:00")
