"""The seed generator: deterministic, realistic, referentially sound, with its dirt."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfrenew.localorg.schema import FieldType, default_schema
from sfrenew.localorg.seed import AlreadySeededError, SeedSummary, seed_book
from sfrenew.localorg.seed_catalog import Region
from sfrenew.localorg.seed_plan import BookPlanner, DirtyKind, add_months, money
from sfrenew.localorg.store import OrgStore

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
CONTRACTS = 400


def _seed(path: Path, *, seed: int = 7, contracts: int = CONTRACTS) -> tuple[OrgStore, SeedSummary]:
    store = OrgStore(path, default_schema(), clock=lambda: NOW)
    return store, seed_book(store, contracts=contracts, seed=seed, today=TODAY)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sqlite3.Connection,
                                                                       SeedSummary]]:
    store, summary = _seed(tmp_path_factory.mktemp("seed") / "org.sqlite")
    conn = store.read_connection()
    yield conn, summary
    conn.close()
    store.close()


def _all(conn: sqlite3.Connection, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return list(conn.execute(sql, args).fetchall())


def _one(conn: sqlite3.Connection, sql: str, *args: Any) -> Any:
    return conn.execute(sql, args).fetchone()[0]


def _dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {obj.name: _all(conn, f'SELECT * FROM "{obj.name}" ORDER BY "Id"')
            for obj in default_schema().objects.values()}


def test_same_seed_gives_the_same_rows_and_ids(tmp_path: Path) -> None:
    first, a = _seed(tmp_path / "a.sqlite", contracts=120)
    second, b = _seed(tmp_path / "b.sqlite", contracts=120)
    third, _ = _seed(tmp_path / "c.sqlite", contracts=120, seed=8)
    conns = [s.read_connection() for s in (first, second, third)]
    try:
        assert a == b
        assert _dump(conns[0]) == _dump(conns[1])
        assert _dump(conns[0])["Contract"] != _dump(conns[2])["Contract"]
    finally:
        for conn, store in zip(conns, (first, second, third), strict=True):
            conn.close()
            store.close()


def test_counts_match_the_store_and_look_like_a_book(seeded: tuple[sqlite3.Connection,
                                                                   SeedSummary]) -> None:
    conn, summary = seeded
    assert summary.contracts == CONTRACTS
    for sobject, n in summary.counts.items():
        assert n > 0, sobject
        if sobject != "User":  # the store may hold its own integration user too
            assert _one(conn, f'SELECT COUNT(*) FROM "{sobject}"') == n, sobject
    assert _one(conn, 'SELECT COUNT(*) FROM "Contract"') == CONTRACTS
    accounts = summary.counts["Account"]
    assert CONTRACTS / 3.2 < accounts < CONTRACTS / 2.0
    per_account = _all(conn, 'SELECT COUNT(*) FROM "Contract" GROUP BY "AccountId"')
    assert {n for (n,) in per_account} <= {1, 2, 3, 4, 5}
    lines = summary.counts["SBQQ__Subscription__c"]
    assert 2.6 < lines / CONTRACTS < 3.6
    # An amendment removing a line is a line item in the standard style, a terminated
    # subscription (no new row) in CPQ's.
    removals = _one(conn, 'SELECT COUNT(*) FROM "SBQQ__Subscription__c" '
                          'WHERE "SBQQ__TerminatedDate__c" IS NOT NULL')
    # Past renewals (seed_history) carry the annual unit price; no other seeded line does.
    history = _one(conn, 'SELECT COUNT(*) FROM "OpportunityLineItem" '
                         'WHERE "Sfrenew_Annual_Unit_Price__c" IS NOT NULL')
    assert history > 0
    assert summary.counts["OpportunityLineItem"] == lines + removals + history
    # One originating opportunity per contract plus the renewals people opened, and the
    # past renewals with their outcomes.
    assert summary.counts["Opportunity"] > CONTRACTS
    assert str(summary).startswith(f"{summary.total:,} records")


def test_every_reference_points_to_a_record_of_the_right_type(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    schema = default_schema()
    ids_by_object = {obj.name: {r[0] for r in _all(conn, f'SELECT "Id" FROM "{obj.name}"')}
                     for obj in schema.objects.values()}
    checked = 0
    for obj in schema.objects.values():
        for f in obj.fields.values():
            if f.type is not FieldType.REFERENCE or f.name in ("CreatedById", "LastModifiedById"):
                continue
            values = {r[0] for r in _all(
                conn, f'SELECT DISTINCT "{f.name}" FROM "{obj.name}" WHERE "{f.name}" IS NOT NULL')}
            targets = set().union(*(ids_by_object[t] for t in f.reference_to))
            assert values <= targets, f"{obj.name}.{f.name}"
            checked += len(values)
    assert checked > 1000


def test_lines_exist_in_both_styles_for_every_contract(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    without_subscriptions = _one(conn, '''SELECT COUNT(*) FROM "Contract" c WHERE NOT EXISTS
        (SELECT 1 FROM "SBQQ__Subscription__c" s WHERE s."SBQQ__Contract__c" = c."Id")''')
    without_originating = _one(conn, '''SELECT COUNT(*) FROM "Contract" c WHERE NOT EXISTS
        (SELECT 1 FROM "Opportunity" o WHERE o."ContractId" = c."Id"
         AND o."StageName" = 'Closed Won')''')
    assert (without_subscriptions, without_originating) == (0, 0)
    renewals = _all(conn, '''SELECT "Type", "SBQQ__RenewedContract__c", "ContractId"
        FROM "Opportunity" WHERE "SBQQ__RenewedContract__c" IS NOT NULL''')
    assert renewals
    assert all(t == "Renewal" and cid is None for t, _, cid in renewals)
    # CPQ-forecast renewals are linked both ways; hand-made ones only from the opportunity.
    linked = _all(conn, '''SELECT c."SBQQ__RenewalForecast__c",
            o."SBQQ__RenewedContract__c" = c."Id"
        FROM "Contract" c JOIN "Opportunity" o ON o."Id" = c."SBQQ__RenewalOpportunity__c"''')
    assert linked
    assert set(linked) == {(1, 1)}
    assert len(linked) < len(renewals)


def test_subscriptions_store_prices_for_their_term_as_cpq_does(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    rows = _all(conn, """SELECT c."ContractTerm", s."SBQQ__StartDate__c", c."StartDate",
            s."SBQQ__ProrateMultiplier__c", s."SBQQ__NetPrice__c", s."SBQQ__CustomerPrice__c",
            s."CurrencyIsoCode"
        FROM "SBQQ__Subscription__c" s JOIN "Contract" c ON c."Id" = s."SBQQ__Contract__c"
        WHERE s."SBQQ__NetPrice__c" IS NOT NULL AND c."EndDate" IS NOT NULL""")
    full_term = {(r[0], r[3]) for r in rows if r[1] == r[2]}
    # the month-to-month contracts (1 month = 1/12 of a default term, 4 decimals as CPQ)
    assert full_term == {(1, 0.0833), (12, 1.0), (24, 2.0), (36, 3.0)}
    assert any(m not in (1.0, 2.0, 3.0) for *_, m, _, _, _ in rows)  # mid-term add-ons
    for *_, multiplier, net, customer, currency in rows:
        # Net Price covers the term, Customer Price one default term (12 months): a
        # 36-month line at 1,200 a year stores 3,600.00 and 1,200.00, multiplier 3.
        assert net == money(customer * multiplier, currency), (net, customer, multiplier)


def test_amended_contracts_exist_in_both_styles(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    # Downsells: a CPQ subscription with a negative quantity revising one of the same
    # product and contract; the same units as a negative line item of a Closed Won
    # amendment opportunity of the contract.
    downsells = _all(conn, """SELECT s."SBQQ__Contract__c", s."SBQQ__Product__c",
            s."SBQQ__Quantity__c", r."SBQQ__Product__c", r."SBQQ__Contract__c",
            r."SBQQ__Quantity__c"
        FROM "SBQQ__Subscription__c" s
        JOIN "SBQQ__Subscription__c" r ON r."Id" = s."SBQQ__RevisedSubscription__c"
        WHERE s."SBQQ__Quantity__c" < 0""")
    assert len(downsells) >= 5
    for contract, product, quantity, revised_product, revised_contract, original in downsells:
        assert (revised_product, revised_contract) == (product, contract)
        assert 0 < -quantity < original
    standard = set(_all(conn, """SELECT o."ContractId", li."Product2Id", li."Quantity"
        FROM "OpportunityLineItem" li JOIN "Opportunity" o ON o."Id" = li."OpportunityId"
        WHERE li."Quantity" < 0 AND o."StageName" = 'Closed Won'"""))
    # Removals: a terminated CPQ subscription (before the contract's end); its whole
    # quantity taken away by a line item in the standard style.
    removed = _all(conn, """SELECT s."SBQQ__Contract__c", s."SBQQ__Product__c",
            -s."SBQQ__Quantity__c", s."SBQQ__TerminatedDate__c" < c."EndDate"
        FROM "SBQQ__Subscription__c" s JOIN "Contract" c ON c."Id" = s."SBQQ__Contract__c"
        WHERE s."SBQQ__TerminatedDate__c" IS NOT NULL""")
    assert len(removed) >= 3
    assert {r[3] for r in removed} == {1}
    cpq = {(c, p, q) for c, p, q, *_ in downsells} | {(c, p, q) for c, p, q, _ in removed}
    assert cpq == standard


def test_dirty_records_are_present(seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, summary = seeded
    assert all(summary.dirty[kind.value] for kind in DirtyKind)
    for cid in summary.dirty[DirtyKind.CONTRACT_WITHOUT_END_DATE]:
        assert _one(conn, 'SELECT "EndDate" FROM "Contract" WHERE "Id" = ?', cid) is None
    zero = [i for i in summary.dirty[DirtyKind.ZERO_AMOUNT_LINE] if i.startswith("00k")]
    assert zero
    assert {_one(conn, 'SELECT "UnitPrice" FROM "OpportunityLineItem" WHERE "Id" = ?', i)
            for i in zero} == {0}
    unpriced = [i for i in summary.dirty[DirtyKind.LINE_WITHOUT_PRICE] if i.startswith("a02")]
    assert unpriced
    assert {_one(conn, 'SELECT "SBQQ__NetPrice__c" FROM "SBQQ__Subscription__c" '
                       'WHERE "Id" = ?', i) for i in unpriced} == {None}
    odd = _all(conn, '''SELECT "Id" FROM "Account"
        WHERE "CurrencyIsoCode" NOT IN ('USD', 'EUR', 'GBP', 'JPY')''')
    assert {r[0] for r in odd} <= set(summary.dirty[DirtyKind.UNKNOWN_CURRENCY])
    assert odd
    no_segment = [r[0] for r in _all(conn, 'SELECT "Id" FROM "Account" WHERE "Segment__c" IS NULL')]
    assert no_segment
    assert _one(conn, 'SELECT COUNT(*) FROM "Contract" WHERE "AccountId" = ?', no_segment[0]) > 0


def test_end_dates_spread_over_the_next_two_years(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    ends = [date.fromisoformat(r[0]) for r in _all(
        conn, '''SELECT "EndDate" FROM "Contract"
                 WHERE "Status" = 'Activated' AND "EndDate" IS NOT NULL''')]
    starts = [date.fromisoformat(r[0]) for r in _all(
        conn, '''SELECT "StartDate" FROM "Contract" WHERE "Status" = 'Activated' ''')]
    assert all(s <= TODAY for s in starts)
    days = [(e - TODAY).days for e in ends]
    assert 0.02 < sum(d < 0 for d in days) / len(days) < 0.2  # some already ended
    quarters = [sum(q * 91 <= d < (q + 1) * 91 for d in days) for q in range(8)]
    assert all(n >= 3 for n in quarters), quarters
    assert max(days) <= 24 * 31 + 45
    statuses = {r[0] for r in _all(conn, 'SELECT DISTINCT "Status" FROM "Contract"')}
    assert {"Activated", "Draft"} <= statuses
    terms = {r[0] for r in _all(conn, 'SELECT DISTINCT "ContractTerm" FROM "Contract"')}
    assert {12, 24, 36} <= terms
    # As Salesforce computes it: start + term months - 1 day.
    for start, term, end in _all(conn, """SELECT "StartDate", "ContractTerm", "EndDate"
                                         FROM "Contract" WHERE "ContractTerm" IS NOT NULL"""):
        expected = add_months(date.fromisoformat(start), term) - timedelta(days=1)
        assert date.fromisoformat(end) == expected


def test_currencies_and_whole_yen(seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    currencies = {r[0] for r in _all(conn, 'SELECT DISTINCT "CurrencyIsoCode" FROM "Account"')}
    assert {"USD", "EUR", "GBP", "JPY"} <= currencies
    yen = [r[0] for r in _all(conn, '''
        SELECT "UnitPrice" FROM "PricebookEntry" WHERE "CurrencyIsoCode" = 'JPY'
        UNION ALL SELECT "UnitPrice" FROM "OpportunityLineItem" li JOIN "Opportunity" o
            ON o."Id" = li."OpportunityId" WHERE o."CurrencyIsoCode" = 'JPY'
        UNION ALL SELECT "SBQQ__NetPrice__c" FROM "SBQQ__Subscription__c"
            WHERE "CurrencyIsoCode" = 'JPY' ''') if r[0] is not None]
    assert len(yen) > 50
    assert all(float(p).is_integer() for p in yen)
    cents = [r[0] for r in _all(conn, '''SELECT "SBQQ__NetPrice__c" FROM "SBQQ__Subscription__c"
        WHERE "CurrencyIsoCode" = 'USD' AND "SBQQ__NetPrice__c" IS NOT NULL''')]
    assert all(round(p, 2) == p for p in cents)
    assert _one(conn, '''SELECT COUNT(*) FROM "PricebookEntry" e JOIN "Pricebook2" b
        ON b."Id" = e."Pricebook2Id" WHERE b."IsStandard" = 1''') > 0


def test_signals_for_risk_rules_exist(seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    assert _one(conn, 'SELECT COUNT(*) FROM "Contact" WHERE "Is_Champion__c" = 1') > 0
    assert _one(conn, 'SELECT COUNT(*) FROM "Contact" WHERE "Left_Company__c" = 1') > 0
    severities = _all(conn, '''SELECT DISTINCT "Severity__c" FROM "Case"
                               WHERE "Status" != 'Closed' ''')
    assert len(severities) >= 2
    assert _one(conn, '''SELECT COUNT(*) FROM "Task" WHERE "Status" = 'Completed'
                         AND "CompletedDateTime" IS NOT NULL''') > 0
    assert _one(conn, '''SELECT COUNT(*) FROM "Task" WHERE "Status" != 'Completed' ''') > 0
    # Usage moves: some accounts end the year lower than they began it.
    trends = _all(conn, '''SELECT "Account__c", MIN("Period__c"), MAX("Period__c")
        FROM "Usage_Snapshot__c" GROUP BY "Account__c"''')
    falling = 0
    for account, first, last in trends:
        start = _one(conn, '''SELECT "Active_Users__c" FROM "Usage_Snapshot__c"
            WHERE "Account__c" = ? AND "Period__c" = ?''', account, first)
        end = _one(conn, '''SELECT "Active_Users__c" FROM "Usage_Snapshot__c"
            WHERE "Account__c" = ? AND "Period__c" = ?''', account, last)
        falling += end < start
    assert 0 < falling < len(trends)
    segments = {r[0] for r in _all(conn, 'SELECT DISTINCT "Segment__c" FROM "Account"')}
    assert {"Enterprise", "Mid-Market", "SMB"} <= segments
    regions = {r[0] for r in _all(conn, 'SELECT DISTINCT "Sales_Territory__c" FROM "User"')}
    assert {"AMER East", "EMEA North", "APAC"} <= regions


def test_history_is_in_the_past_and_the_store_derived_its_fields(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    conn, _ = seeded
    now = "2026-11-24T08:00:00.000+0000"
    for sobject in ("Account", "Contract", "Opportunity", "Case", "Task", "Usage_Snapshot__c"):
        oldest, newest = conn.execute(
            f'SELECT MIN("CreatedDate"), MAX("CreatedDate") FROM "{sobject}"').fetchone()
        assert oldest < "2026-11-24", sobject
        assert newest < now, sobject
    assert _one(conn, """SELECT COUNT(*) FROM "Case"
                         WHERE "ClosedDate" < "CreatedDate" OR "IsClosed" != ("Status" = 'Closed')
                      """) == 0
    assert _one(conn, """SELECT COUNT(*) FROM "Opportunity"
                         WHERE "IsWon" != ("StageName" = 'Closed Won')""") == 0
    assert _one(conn, 'SELECT COUNT(*) FROM "Contract" WHERE "ContractNumber" IS NULL') == 0
    assert _one(conn, """SELECT COUNT(*) FROM "OpportunityLineItem"
                         WHERE "UnitPrice" IS NOT NULL
                         AND ABS("TotalPrice" - "Quantity" * "UnitPrice") > 0.01""") == 0


def test_seeding_twice_is_refused(tmp_path: Path) -> None:
    store, _ = _seed(tmp_path / "org.sqlite", contracts=5)
    try:
        with pytest.raises(AlreadySeededError, match="reset"):
            seed_book(store, contracts=5, seed=1, today=TODAY)
    finally:
        store.close()


class _RecordingStore:
    """Counts rows per insert call without keeping them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def insert_many(self, sobject: str, rows: Iterable[dict[str, Any]], *,
                    user_id: str) -> list[str]:
        assert user_id
        n = sum(1 for _ in rows)
        self.calls.append((sobject, n))
        return [f"{sobject[:3]}{len(self.calls):05d}{i:010d}" for i in range(n)]

    def create_system_user(self, values: dict[str, Any]) -> str:
        return "005000000000001AAA"

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *,
               user_id: str) -> None:
        self.calls.append((f"update {sobject}", 1))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield


def test_batches_bound_every_insert() -> None:
    store = _RecordingStore()
    done: list[int] = []
    summary = seed_book(store, contracts=600, seed=3, today=TODAY, batch_accounts=25,
                        progress=lambda n, total: done.append(n))
    assert summary.contracts == 600
    assert done == sorted(done)
    assert done[-1] == 600
    assert len(done) > 5
    assert max(n for obj, n in store.calls if obj == "Account") <= 25
    assert max(n for obj, n in store.calls if obj == "Contract") <= 25 * 5


def test_planner_is_deterministic_and_pure() -> None:
    def plan(seed: int) -> list[Any]:
        planner = BookPlanner(random.Random(seed), today=TODAY,
                              reps_per_region=dict.fromkeys(Region, 3))
        return planner.accounts(limit=50, contracts_left=100)

    assert plan(1) == plan(1)
    assert plan(1) != plan(2)
    assert sum(len(a.contracts) for a in plan(1)) == 100


def test_live_contracts_started_and_end_within_the_horizon() -> None:
    planner = BookPlanner(random.Random(11), today=TODAY,
                          reps_per_region=dict.fromkeys(Region, 3))
    contracts = [c for a in planner.accounts(limit=10_000, contracts_left=8_000)
                 for c in a.contracts if c.status == "Activated" and c.end is not None]
    today = TODAY.toordinal()
    assert all(c.start <= today for c in contracts)
    assert max(c.end for c in contracts if c.end is not None) <= today + 24 * 31 + 45


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2026, 3, 15), -12, date(2025, 3, 15)),
    (date(2026, 12, 1), 1, date(2027, 1, 1)),
])
def test_add_months_clamps_to_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    (1234.5, "JPY", 1235.0), (10.005, "USD", 10.01), (99.994, "EUR", 99.99),
])
def test_money_rounds_half_up_to_the_currency(amount: float, currency: str,
                                              expected: float) -> None:
    assert money(amount, currency) == expected


def test_cpq_contracts_name_a_price_book_and_some_a_renewal_price_book(
        seeded: tuple[sqlite3.Connection, SeedSummary]) -> None:
    """CPQ's List pricing reads the Renewal Price Book when a contract names one."""
    conn, _ = seeded
    books = dict(_all(conn, 'SELECT "Name", "Id" FROM "Pricebook2"'))
    assert set(books) == {"Standard Price Book", "Commercial Price Book", "Renewal Price Book"}
    renewal, commercial = books["Renewal Price Book"], books["Commercial Price Book"]
    # every contract names the commercial book; those of every third account the renewal one
    assert _all(conn, 'SELECT DISTINCT "Pricebook2Id" FROM "Contract"') == [(commercial,)]
    named = _all(conn, '''SELECT DISTINCT "SBQQ__RenewalPricebookId__c" FROM "Contract"''')
    assert set(named) == {(renewal,), (None,)}
    accounts = _all(conn, '''SELECT a."AccountNumber", c."SBQQ__RenewalPricebookId__c"
                             FROM "Contract" c JOIN "Account" a ON a."Id" = c."AccountId"''')
    for number, book in accounts:  # ACC-0000001 is account number 0
        assert (book == renewal) is ((int(number[4:]) - 1) % 3 == 0)
    # the renewal book lists every product of the commercial one 6% higher, rounded to the
    # currency's step: e.g. 386 EUR × 1.06 = 409.16 → 409
    pairs = _all(conn, '''SELECT c."UnitPrice", r."UnitPrice", c."CurrencyIsoCode"
        FROM "PricebookEntry" c JOIN "PricebookEntry" r ON r."Product2Id" = c."Product2Id"
        AND r."CurrencyIsoCode" = c."CurrencyIsoCode"
        WHERE c."Pricebook2Id" = ? AND r."Pricebook2Id" = ?''', commercial, renewal)
    assert len(pairs) == _one(conn, 'SELECT COUNT(*) FROM "PricebookEntry" WHERE '
                                    '"Pricebook2Id" = ?', commercial) > 0
    step = {"JPY": 100.0}
    for listed, raised, currency in pairs:
        unit = step.get(currency, 1.0)
        assert raised == math.floor(listed * 1.06 / unit + 0.5) * unit, (listed, currency)
    assert any(raised > listed for listed, raised, _ in pairs)
