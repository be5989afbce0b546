"""The seed's renewal history (sfrenew.localorg.seed_history): past renewals with every
outcome, their ARR fields consistent, after every other record."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.localorg.seed import SeedSummary
from sfrenew.localorg.seed_history import LOSS_REASONS
from tests.unit.localorg.test_seed import TODAY, _seed

HISTORY = """SELECT o."Id", o."StageName", o."CloseDate", o."Loss_Reason__c",
                    o."Sfrenew_Prior_ARR__c", o."Sfrenew_Renewal_ARR__c",
                    o."Sfrenew_Uplift_Amount__c", o."CurrencyIsoCode"
             FROM "Opportunity" o WHERE o."Sfrenew_Prior_ARR__c" IS NOT NULL ORDER BY o."Id" """


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sqlite3.Connection,
                                                                       SeedSummary]]:
    store, summary = _seed(tmp_path_factory.mktemp("history") / "org.sqlite", contracts=300)
    conn = store.read_connection()
    yield conn, summary
    conn.close()
    store.close()


def test_every_outcome_is_there_with_consistent_figures(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    rows = conn.execute(HISTORY).fetchall()
    assert len(rows) > 50
    stages = {r[1] for r in rows}
    assert stages == {"Closed Won", "Closed Lost"}
    reasons = {r[3] for r in rows if r[1] == "Closed Lost"}
    assert reasons <= set(LOSS_REASONS)
    assert len(reasons) >= 3
    assert all(r[3] is None for r in rows if r[1] == "Closed Won")
    decimals = {"JPY": 0}
    for _id, _stage, close, _reason, prior, renewal, uplift, currency in rows:
        assert date.fromisoformat(close) < TODAY
        step = Decimal(1).scaleb(-decimals.get(currency, 2))
        # uplift amount = renewal ARR − prior ARR, to the currency's decimals
        assert (Decimal(str(renewal)) - Decimal(str(prior))).quantize(step) == \
            Decimal(str(uplift)).quantize(step)
        assert Decimal(str(renewal)) > Decimal(str(prior)) > 0


def test_downsells_expansions_and_late_wins(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    won = conn.execute("""
        SELECT o."Sfrenew_Renewal_ARR__c",
               SUM(l."Quantity" * l."Sfrenew_Annual_Unit_Price__c"), MIN(l."ServiceDate"),
               o."CloseDate"
        FROM "Opportunity" o JOIN "OpportunityLineItem" l ON l."OpportunityId" = o."Id"
        WHERE o."Sfrenew_Prior_ARR__c" IS NOT NULL AND o."StageName" = 'Closed Won'
        GROUP BY o."Id" """).fetchall()
    # won ARR from the lines against the renewal ARR at the prior quantities
    more = sum(1 for r in won if r[1] > r[0] + 0.5)
    fewer = sum(1 for r in won if r[1] < r[0] - 0.5)
    late = sum(1 for r in won
               if date.fromisoformat(r[3]) > date.fromisoformat(r[2]) - timedelta(days=1)
               + timedelta(days=14))
    assert more > 0
    assert fewer > 0
    assert late > 0


def test_history_comes_after_every_other_record(tmp_path: Path) -> None:
    """Appended last: the book's own opportunities keep their Ids (they come first)."""
    store, _ = _seed(tmp_path / "org.sqlite", contracts=120)
    conn = store.read_connection()
    try:
        flags = [r[1] for r in conn.execute(
            'SELECT "Id", "Sfrenew_Prior_ARR__c" IS NOT NULL FROM "Opportunity" ORDER BY "Id"')]
        first = flags.index(1)
        assert all(flags[first:])
        assert not any(flags[:first])
    finally:
        conn.close()
        store.close()
