"""Seed the local org with a deterministic, realistic book of business.

``seed_book`` writes users and roles, a product catalogue with price books, then
accounts in batches: each batch is planned (``seed_plan``), turned into rows
(``seed_rows``, ``seed_activity``) and written object by object through the store's
fast path, so memory stays flat however many contracts are asked for. The same
``(contracts, seed, today)`` gives the same rows and, on an empty store, the same Ids.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.seed_activity import AccountContacts, case_rows, task_rows, usage_rows
from sfrenew.localorg.seed_catalog import (
    ACTIVE_CURRENCIES,
    DECIMALS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    REGION_SHARE,
    USD_RATE,
    Region,
)
from sfrenew.localorg.seed_history import (
    HISTORY_EVERY,
    HISTORY_MAX_CONTRACTS,
    history_line_rows,
    history_rows,
)
from sfrenew.localorg.seed_plan import AccountPlan, BookPlanner, DirtyKind, list_price_in
from sfrenew.localorg.seed_rows import (
    RENEWAL_LIST_RAISE,
    Catalogue,
    ContractRef,
    Row,
    Staff,
    account_rows,
    amendment_line_item_rows,
    amendment_opportunity_rows,
    amendment_subscription_rows,
    contact_rows,
    contract_refs,
    contract_rows,
    line_item_rows,
    originating_opportunity_rows,
    renewal_opportunity_rows,
    slug,
    subscription_rows,
)

DEFAULT_BATCH_ACCOUNTS = 2_000
ADMIN_USERNAME = "admin@sfrenew-demo.example"
_ACCOUNTS_PER_REP = 120
_CONTRACTS_PER_ACCOUNT = 2.5  # the planner's average, used to size the sales team


class SeedTarget(Protocol):
    """What seeding needs from the org's store (``OrgStore`` provides it)."""

    def insert_many(self, sobject: str, rows: Iterable[dict[str, Any]], *,
                    user_id: str) -> list[str]:
        """Insert already-valid stored rows in one transaction; their new Ids in order."""

    def create_system_user(self, values: dict[str, Any]) -> str:
        """Create a user that is its own creator (values as a client sends them)."""

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *,
               user_id: str) -> None:
        """Change fields of a record (values as a client sends them)."""

    def transaction(self) -> AbstractContextManager[None]:
        """Writes inside commit together."""


class AlreadySeededError(Exception):
    """The org already holds a seeded book: seeding again would duplicate it."""


@dataclass(frozen=True)
class SeedSummary:
    """What a seed wrote: records per object and the deliberately dirty records."""

    seed: int
    today: date
    contracts: int
    admin_id: str  # the seeded System Administrator, creator of every seeded record
    counts: Mapping[str, int]  # object API name -> records written
    dirty: Mapping[str, tuple[str, ...]]  # DirtyKind value -> Ids of the records involved

    @property
    def total(self) -> int:
        """All records written."""
        return sum(self.counts.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {n:,}" for name, n in self.counts.items())
        return f"{self.total:,} records ({parts})"


def seed_book(store: SeedTarget, *, contracts: int, seed: int, today: date,
              batch_accounts: int = DEFAULT_BATCH_ACCOUNTS,
              progress: Callable[[int, int], None] | None = None) -> SeedSummary:
    """Write a book of ``contracts`` contracts (and everything around them) into ``store``.

    ``today`` anchors every date (contracts end over the two years after it), so the
    book is the same whenever it is generated for the same day. The store must not
    hold a seeded book already (``AlreadySeededError``); an integration user is fine.
    Each batch of accounts commits as a whole; ``progress(done, total)`` is called
    after each one with the contracts written so far.
    """
    if contracts < 0:
        raise ValueError("contracts must not be negative")
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    writer = _Writer(store)
    staff = _seed_staff(writer, rng, reps=_reps_per_region(contracts))
    writer.user_id = staff.admin
    catalogue = _seed_catalogue(writer)
    planner = BookPlanner(rng, today=today,
                          reps_per_region={r: len(ids) for r, ids in staff.reps.items()})
    dirty: dict[str, list[str]] = {kind.value: [] for kind in DirtyKind}
    history: list[tuple[ContractRef, str]] = []  # the contracts given past renewals
    while planner.next_contract < contracts:
        batch = planner.accounts(limit=batch_accounts,
                                 contracts_left=contracts - planner.next_contract)
        with store.transaction():
            _seed_batch(writer, batch, staff=staff, catalogue=catalogue, rng=rng,
                        today=today, dirty=dirty, history=history)
        if progress is not None:
            progress(planner.next_contract, contracts)
    # The org's currencies and rates, then past renewals with their outcomes (the
    # analytics' history), written last so no other record's Id moves.
    with store.transaction():
        writer.insert("CurrencyType", currency_type_rows())
        _seed_history(writer, history, staff=staff, catalogue=catalogue, seed=seed,
                      today=today)
        writer.insert("DatedConversionRate", dated_rate_rows(today))
    return SeedSummary(seed=seed, today=today, contracts=planner.next_contract,
                       admin_id=staff.admin, counts=dict(writer.counts),
                       dirty={kind: tuple(ids) for kind, ids in dirty.items()})


def currency_type_rows() -> list[Row]:
    """One CurrencyType per enabled currency (USD corporate): the rates the seed's price
    books were derived with, so the analytics convert the way the prices were made."""
    return [{"IsoCode": code, "ConversionRate": USD_RATE[code], "DecimalPlaces": DECIMALS[code],
             "IsActive": True, "IsCorporate": code == "USD"} for code in ACTIVE_CURRENCIES]


# Advanced currency management: last calendar year EUR and GBP stood this much higher
# (units per USD) than the CurrencyType rate, so last year's renewals convert differently.
DATED_SHIFT = {"EUR": 0.03, "GBP": 0.02}


def dated_rate_rows(today: date) -> list[Row]:
    """DatedConversionRate rows of EUR and GBP: the CurrencyType rate until last year,
    that rate + ``DATED_SHIFT`` during last calendar year, the CurrencyType rate again
    from this year's 1 January (no next start: in force from then on)."""
    last, this = date(today.year - 1, 1, 1), date(today.year, 1, 1)
    rows: list[Row] = []
    for code, shift in DATED_SHIFT.items():
        rate = USD_RATE[code]
        rows += [
            {"IsoCode": code, "ConversionRate": rate, "StartDate": date(2000, 1, 1),
             "NextStartDate": last},
            {"IsoCode": code, "ConversionRate": round(rate + shift, 6), "StartDate": last,
             "NextStartDate": this},
            {"IsoCode": code, "ConversionRate": rate, "StartDate": this, "NextStartDate": None}]
    return rows


class _Writer:
    """Inserts through the fast path and counts what it wrote."""

    def __init__(self, store: SeedTarget) -> None:
        self.store = store
        self.user_id = ""
        self.counts: Counter[str] = Counter()

    def insert(self, sobject: str, rows: Iterable[Row]) -> list[str]:
        ids = self.store.insert_many(sobject, rows, user_id=self.user_id)
        self.counts[sobject] += len(ids)
        return ids


def _reps_per_region(contracts: int) -> dict[Region, int]:
    accounts = contracts / _CONTRACTS_PER_ACCOUNT
    return {region: max(2, math.ceil(accounts * share / _ACCOUNTS_PER_REP))
            for region, share in REGION_SHARE.items()}


# Per region: territories reps are spread over, time zones, locale, home currency.
_REGION_SETUP: dict[Region, tuple[tuple[str, ...], tuple[str, ...], str, str]] = {
    Region.AMER: (("AMER East", "AMER West"), ("America/New_York", "America/Los_Angeles"),
                  "en_US", "USD"),
    Region.EMEA: (("EMEA North", "EMEA South"), ("Europe/London", "Europe/Berlin"),
                  "en_GB", "EUR"),
    Region.APAC: (("APAC",), ("Asia/Tokyo", "Australia/Sydney"), "ja_JP", "JPY"),
}


def _user(first: str, last: str, n: int, *, title: str, role: str, region: Region | None,
          manager: str | None = None, active: bool = True, index: int = 0) -> Row:
    territories, zones, locale, currency = _REGION_SETUP[region or Region.AMER]
    name = f"{slug(first)}.{slug(last)}"
    return {
        "Username": f"{name}.{n}@sfrenew-demo.example",
        "FirstName": first,
        "LastName": last,
        "Alias": (slug(first)[:1] + slug(last))[:8],
        "Email": f"{name}@sfrenew-demo.example",
        "Title": title,
        "Department": "Sales" if region else "Operations",
        "Division": region.value if region else None,
        "IsActive": 1 if active else 0,
        "UserRoleId": role,
        "ManagerId": manager,
        "TimeZoneSidKey": zones[index % len(zones)],
        "LocaleSidKey": locale,
        "LanguageLocaleKey": "ja" if locale == "ja_JP" else "en_US",
        "EmailEncodingKey": "UTF-8",
        "DefaultCurrencyIsoCode": currency,
        "CurrencyIsoCode": currency,
        "Sales_Territory__c": territories[index % len(territories)] if region else None,
    }


def _seed_staff(writer: _Writer, rng: random.Random, *, reps: dict[Region, int]) -> Staff:
    """Roles (VP > regional manager > rep), an admin, managers and reps."""
    try:
        admin = writer.store.create_system_user({
            "Username": ADMIN_USERNAME, "FirstName": "Alex", "LastName": "Admin",
            "Alias": "aadmin", "Email": ADMIN_USERNAME, "IsActive": True,
            "Title": "Salesforce Administrator",
        })
    except SalesforceApiError as exc:
        if any(e.error_code == "DUPLICATE_VALUE" for e in exc.errors):
            raise AlreadySeededError(
                f"the org already holds a seeded book (user {ADMIN_USERNAME} exists); "
                "reset it before seeding again") from exc
        raise
    writer.user_id = admin
    writer.counts["User"] += 1
    regions = list(Region)
    top = writer.insert("UserRole", [
        {"Name": "VP Renewals", "DeveloperName": "VP_Renewals"},
        {"Name": "Sales Operations", "DeveloperName": "Sales_Operations"},
    ])
    manager_roles = writer.insert("UserRole", (
        {"Name": f"Renewals Manager {r.value}", "DeveloperName": f"Renewals_Manager_{r.value}",
         "ParentRoleId": top[0]} for r in regions))
    rep_roles = writer.insert("UserRole", (
        {"Name": f"Renewal Rep {r.value}", "DeveloperName": f"Renewal_Rep_{r.value}",
         "ParentRoleId": manager_roles[i]} for i, r in enumerate(regions)))
    (vp,) = writer.insert("User", [_user("Morgan", "Hale", 1, title="VP Renewals",
                                         role=top[0], region=None)])
    managers = writer.insert("User", (
        _user(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), 100 + i,
              title=f"Renewals Manager, {r.value}", role=manager_roles[i], region=r, manager=vp)
        for i, r in enumerate(regions)))
    staff_reps: dict[Region, tuple[str, ...]] = {}
    number = 1000
    for i, region in enumerate(regions):
        rows = []
        for k in range(reps[region]):
            number += 1
            rows.append(_user(
                rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), number,
                title="Renewal Account Executive", role=rep_roles[i], region=region,
                manager=managers[i], index=k,
                # A few reps have left; their accounts were never reassigned.
                active=rng.random() >= 0.03))
        staff_reps[region] = tuple(writer.insert("User", rows))
    return Staff(admin=admin, managers=dict(zip(regions, managers, strict=True)),
                 reps=staff_reps)


def _seed_catalogue(writer: _Writer) -> Catalogue:
    """Products, the standard and the commercial price book, entries per currency."""
    product_ids = writer.insert("Product2", (
        {"Name": p.name, "ProductCode": p.code, "Family": p.family,
         "IsActive": 1 if p.active else 0,
         "Description": f"{p.name} (annual, per {p.unit.value})",
         "SBQQ__SubscriptionPricing__c": "Fixed Price",
         "SBQQ__SubscriptionTerm__c": 12.0,
         "SBQQ__SubscriptionType__c": "Renewable" if p.renewable else "One-time"}
        for p in PRODUCTS))
    standard, commercial = writer.insert("Pricebook2", [
        {"Name": "Standard Price Book", "IsActive": 1, "IsStandard": 1},
        {"Name": "Commercial Price Book", "IsActive": 1, "IsStandard": 0,
         "Description": "List prices for new business and renewals"},
    ])
    keys = [(p, pid, cur) for p, pid in zip(PRODUCTS, product_ids, strict=True)
            for cur in ACTIVE_CURRENCIES]

    def entries(pricebook: str, *, use_standard: int, raise_by: float = 0.0) -> Iterator[Row]:
        for product, product_id, currency in keys:
            yield {"Pricebook2Id": pricebook, "Product2Id": product_id,
                   "Name": product.name, "ProductCode": product.code,
                   "UnitPrice": list_price_in(product, currency, raise_by=raise_by),
                   "IsActive": 1 if product.active else 0, "UseStandardPrice": use_standard,
                   "CurrencyIsoCode": currency}

    writer.insert("PricebookEntry", entries(standard, use_standard=0))
    commercial_ids = writer.insert("PricebookEntry", entries(commercial, use_standard=1))
    # Inserted after the others, so their Ids and values stay as they were: the price
    # book some contracts name as their CPQ Renewal Price Book (SBQQ__RenewalPricebookId__c).
    (renewal,) = writer.insert("Pricebook2", [
        {"Name": "Renewal Price Book", "IsActive": 1, "IsStandard": 0,
         "Description": f"Renewal list prices, {RENEWAL_LIST_RAISE:.0%} above the commercial"}])
    writer.insert("PricebookEntry", entries(renewal, use_standard=0,
                                            raise_by=RENEWAL_LIST_RAISE))
    return Catalogue(
        products={p.code: pid for p, pid in zip(PRODUCTS, product_ids, strict=True)},
        standard_pricebook=standard, pricebook=commercial,
        entries={(p.code, cur): eid for (p, _, cur), eid in zip(keys, commercial_ids,
                                                                strict=True)},
        renewal_pricebook=renewal,
    )


def _seed_batch(writer: _Writer, batch: list[AccountPlan], *, staff: Staff,
                catalogue: Catalogue, rng: random.Random, today: date,
                dirty: dict[str, list[str]],
                history: list[tuple[ContractRef, str]] | None = None) -> None:
    """Write one batch of accounts and everything that hangs off them."""
    today_ord = today.toordinal()
    # Parents first, so subsidiaries can point at them.
    heads = [i for i, a in enumerate(batch) if a.parent is None]
    subs = [i for i, a in enumerate(batch) if a.parent is not None]
    account_ids = [""] * len(batch)
    parent_ids: dict[int, str] = {}
    for indexes in (heads, subs):
        ids = writer.insert("Account", account_rows(
            [batch[i] for i in indexes], staff=staff, parent_ids=parent_ids, rng=rng,
            today=today_ord))
        for i, account_id in zip(indexes, ids, strict=True):
            account_ids[i] = parent_ids[i] = account_id
    counts: list[int] = []
    contact_ids = writer.insert("Contact", contact_rows(batch, account_ids, staff=staff,
                                                        rng=rng, counts=counts))
    refs = contract_refs(batch, account_ids)
    contract_ids = writer.insert("Contract", contract_rows(
        refs, staff=staff, catalogue=catalogue, rng=rng, today=today_ord))
    if history is not None:
        history.extend((ref, cid) for ref, cid in zip(refs, contract_ids, strict=True)
                       if ref[2].number % HISTORY_EVERY == 0
                       and ref[2].number < HISTORY_MAX_CONTRACTS)
    opportunity_ids = writer.insert("Opportunity", originating_opportunity_rows(
        refs, contract_ids, staff=staff, catalogue=catalogue, rng=rng, today=today_ord))
    line_ids = writer.insert("OpportunityLineItem", line_item_rows(
        refs, opportunity_ids, catalogue=catalogue))
    subscription_ids = writer.insert("SBQQ__Subscription__c", subscription_rows(
        refs, contract_ids, staff=staff, catalogue=catalogue, rng=rng))
    renewal_ids = writer.insert("Opportunity", renewal_opportunity_rows(
        refs, contract_ids, staff=staff, catalogue=catalogue, rng=rng, today=today_ord))
    _link_forecast_renewals(writer, refs, contract_ids, renewal_ids)
    _seed_amendments(writer, refs, contract_ids, subscription_ids, staff=staff,
                     catalogue=catalogue, today=today_ord)
    contacts = AccountContacts(contact_ids, counts)
    writer.insert("Case", case_rows(batch, account_ids, contacts=contacts, staff=staff,
                                    rng=rng, today=today))
    writer.insert("Task", task_rows(batch, account_ids, contacts=contacts, staff=staff,
                                    rng=rng, today=today))
    writer.insert("Usage_Snapshot__c", usage_rows(batch, account_ids, rng=rng, today=today))
    _note_dirty(dirty, batch=batch, account_ids=account_ids, contract_ids=contract_ids,
                line_ids=line_ids, subscription_ids=subscription_ids)


def _seed_history(writer: _Writer, history: list[tuple[ContractRef, str]], *, staff: Staff,
                  catalogue: Catalogue, seed: int, today: date) -> None:
    """Past renewals and their line items (sfrenew.localorg.seed_history)."""
    opportunities, lines = history_rows(history, staff=staff, catalogue=catalogue, seed=seed,
                                        today=today)
    ids = writer.insert("Opportunity", opportunities)
    writer.insert("OpportunityLineItem", (
        row for opp_id, opp, items in zip(ids, opportunities, lines, strict=True)
        for row in history_line_rows(items, opp_id, str(opp["CurrencyIsoCode"]),
                                     catalogue=catalogue)))


def _seed_amendments(writer: _Writer, refs: list[ContractRef], contract_ids: list[str],
                     subscription_ids: list[str], *, staff: Staff, catalogue: Catalogue,
                     today: int) -> None:
    """Mid-term amendments in both line styles (no random draws: see seed_plan.amend)."""
    amendment_ids = writer.insert("Opportunity", amendment_opportunity_rows(
        refs, contract_ids, staff=staff, catalogue=catalogue, today=today))
    writer.insert("OpportunityLineItem", amendment_line_item_rows(
        refs, amendment_ids, catalogue=catalogue))
    writer.insert("SBQQ__Subscription__c", amendment_subscription_rows(
        refs, contract_ids, subscription_ids, staff=staff, catalogue=catalogue))


def _link_forecast_renewals(writer: _Writer, refs: list[ContractRef], contract_ids: list[str],
                            renewal_ids: list[str]) -> None:
    """Point contracts at the renewal CPQ forecast for them.

    The contract row is written before its renewal exists, so this is an update; it
    touches only forecast renewals (a few percent of contracts), so it stays cheap.
    """
    renewed = [(c, cid) for (_, _, c), cid in zip(refs, contract_ids, strict=True)
               if c.renewal is not None and c.end is not None]
    with writer.store.transaction():
        for (contract, contract_id), opportunity_id in zip(renewed, renewal_ids, strict=True):
            if contract.renewal is not None and contract.renewal.forecast:
                writer.store.update("Contract", contract_id,
                                    {"SBQQ__RenewalOpportunity__c": opportunity_id},
                                    user_id=writer.user_id)


def _note_dirty(dirty: dict[str, list[str]], *, batch: list[AccountPlan],
                account_ids: list[str], contract_ids: list[str], line_ids: list[str],
                subscription_ids: list[str]) -> None:
    """Record the Ids of this batch's dirty records (lines: both styles)."""
    contract_at = 0
    line_at = 0
    for acct, account_id in zip(batch, account_ids, strict=True):
        if acct.dirty is not None:
            dirty[acct.dirty.value].append(account_id)
            dirty[acct.dirty.value].extend(
                contract_ids[contract_at:contract_at + len(acct.contracts)])
        for contract in acct.contracts:
            if contract.dirty is DirtyKind.CONTRACT_WITHOUT_END_DATE:
                dirty[contract.dirty.value].append(contract_ids[contract_at])
            for line in contract.lines:
                if line.dirty is not None:
                    dirty[line.dirty.value] += [line_ids[line_at], subscription_ids[line_at]]
                line_at += 1
            contract_at += 1
