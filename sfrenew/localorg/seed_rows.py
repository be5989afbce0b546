"""Stored rows of the seeded book, built from plans once the parents' Ids exist.

Rows are in the store's stored form (schema.py: booleans 0/1, dates
``YYYY-MM-DD``, datetimes ``YYYY-MM-DDTHH:MM:SS.000+0000``) and are yielded one at a
time, so a batch never holds more than its plans. Builders that invent details
(contacts, names of deals) draw from the shared ``random.Random`` in a fixed order,
which keeps the book deterministic.

Prices are per unit, stored the way each style stores them: ``UnitPrice`` of an
OpportunityLineItem is the annual price; a subscription stores, as CPQ does, its Net,
Regular and List Price for the subscription's term and ``SBQQ__ProrateMultiplier__c``
= the term's months / 12 (a 36-month line at 1,200 a year: Net Price 3,600.00,
multiplier 3), and its Customer Price per default term (12 months). Read through their
mappings (``basis: term`` in cpq.yaml) both give the same annual prices, so the
standard and the CPQ mapping see the same book.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sfrenew.localorg.seed_catalog import (
    CONTACT_TITLES,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    USD_RATE,
    Product,
    Region,
)
from sfrenew.localorg.seed_plan import (
    AccountPlan,
    ContractPlan,
    DirtyKind,
    add_months,
    list_price_in,
    money,
)

Row = dict[str, Any]
# A contract with its account and the account's Id, in insertion order.
ContractRef = tuple[AccountPlan, str, ContractPlan]
_ISO_CACHE: dict[int, str] = {}


def iso(ordinal: int) -> str:
    """The stored text of a date given as an ordinal (cached: few distinct dates)."""
    text = _ISO_CACHE.get(ordinal)
    if text is None:
        text = _ISO_CACHE[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def stamp(ordinal: int, minute_of_day: int) -> str:
    """The stored text of a UTC datetime on that day."""
    hours, minutes = divmod(minute_of_day, 60)
    return f"{iso(ordinal)}T{hours:02d}:{minutes:02d}:00.000+0000"


def created(day: int, *, today: int, rng: random.Random) -> str:
    """A historical ``CreatedDate`` on ``day`` (yesterday at the latest), in office hours."""
    return stamp(min(day, today - 1), rng.randrange(420, 1140))


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits only (for usernames, emails, domains)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


@dataclass(frozen=True)
class Staff:
    """The seeded users: who owns accounts in each region, and who manages them."""

    admin: str
    managers: dict[Region, str]
    reps: dict[Region, tuple[str, ...]]

    def owner(self, acct: AccountPlan) -> str:
        """The rep who owns this account."""
        return self.reps[acct.region][acct.rep]


# The seeded Renewal Price Book lists every product this much above the commercial one,
# and the contracts of every third account name it (CPQ's SBQQ__RenewalPricebookId__c).
RENEWAL_LIST_RAISE = 0.06
RENEWAL_BOOK_EVERY = 3


@dataclass(frozen=True)
class Catalogue:
    """Ids of the seeded products, price books and entries."""

    products: dict[str, str]  # product code -> Product2 Id
    standard_pricebook: str
    pricebook: str  # the price book deals are quoted from
    entries: dict[tuple[str, str], str]  # (product code, currency) -> PricebookEntry Id
    renewal_pricebook: str | None = None  # CPQ's Renewal Price Book of some contracts

    def renewal_pricebook_of(self, acct: AccountPlan) -> str | None:
        """The Renewal Price Book a contract of ``acct`` names: every third account's
        contracts (by account number, so no random draw moves), else none."""
        return self.renewal_pricebook if acct.number % RENEWAL_BOOK_EVERY == 0 else None

    def entry_currency(self, code: str, currency: str) -> str:
        """The currency of the entry a line in ``currency`` uses (USD if the org lacks it)."""
        return currency if (code, currency) in self.entries else "USD"


def contract_refs(accounts: Sequence[AccountPlan], account_ids: Sequence[str]) -> list[ContractRef]:
    """Every contract of the batch with its account, in insertion order."""
    return [(acct, aid, c) for acct, aid in zip(accounts, account_ids, strict=True)
            for c in acct.contracts]


def domain(acct: AccountPlan) -> str:
    """The customer's (fictitious, ``.example``) e-mail and web domain."""
    words = acct.name.split(" ")
    return f"{slug(words[0])}{slug(words[1])}{acct.number + 1}.example"


def account_rows(accounts: Sequence[AccountPlan], *, staff: Staff,
                 parent_ids: dict[int, str], rng: random.Random, today: int) -> Iterator[Row]:
    """Account rows; ``parent_ids`` maps a batch index to an already inserted Id."""
    for acct in accounts:
        rate = USD_RATE[acct.currency]
        customer_since = min(c.start for c in acct.contracts) - rng.randint(20, 200)
        method = rng.choices(("Same", "Uplift", "List"), weights=(0.6, 0.3, 0.1))[0]
        no_segment = acct.dirty is DirtyKind.ACCOUNT_WITHOUT_SEGMENT
        yield {
            "Name": acct.name,
            "OwnerId": staff.owner(acct),
            "Type": "Customer - Direct" if rng.random() < 0.85 else "Customer - Channel",
            "Industry": INDUSTRIES[int(acct.industry_pick * len(INDUSTRIES))],
            "ParentId": parent_ids[acct.parent] if acct.parent is not None else None,
            "AccountNumber": f"ACC-{acct.number + 1:07d}",
            "Website": f"https://www.{domain(acct)}",
            "BillingCity": acct.place.city,
            "BillingCountry": acct.place.country,
            "NumberOfEmployees": acct.employees,
            # Revenue per employee in the account's currency, rounded to thousands.
            "AnnualRevenue": round(acct.employees * rng.uniform(90_000, 400_000) * rate, -3),
            "CurrencyIsoCode": acct.currency,
            "Segment__c": None if no_segment else acct.segment.value,
            "Region__c": acct.region.value,
            "Health_Score__c": float(acct.health),
            "Payment_Overdue__c": 1 if rng.random() < 0.03 else 0,
            "Do_Not_Renew__c": 1 if rng.random() < 0.01 else 0,
            "SBQQ__RenewalModel__c": "Contract Based",
            "SBQQ__RenewalPricingMethod__c": method,
            "SBQQ__RenewalUpliftRate__c": rng.choice((3.0, 5.0)) if method == "Uplift" else None,
            "SBQQ__CoTermedContractsCombined__c": 0,
            "SBQQ__ContractCoTermination__c": rng.choice(("Never", "Prompt", "Always")),
            "CreatedDate": created(customer_since, today=today, rng=rng),
        }


def contact_rows(accounts: Sequence[AccountPlan], account_ids: Sequence[str], *,
                 staff: Staff, rng: random.Random, counts: list[int]) -> Iterator[Row]:
    """Contact rows; appends how many each account got to ``counts``.

    Most accounts have one champion; some champions have left the company, which is
    one of the risk signals.
    """
    for acct, account_id in zip(accounts, account_ids, strict=True):
        n = rng.randint(*_CONTACTS_BY_SEGMENT[acct.segment.value])
        counts.append(n)
        mail_domain = domain(acct)
        champion_at = rng.randrange(n) if rng.random() < 0.75 else -1
        champion_left = rng.random() < 0.12
        currency = acct.currency
        for i in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            is_champion = i == champion_at
            left = champion_left if is_champion else rng.random() < 0.07
            yield {
                "AccountId": account_id,
                "OwnerId": staff.owner(acct),
                "FirstName": first,
                "LastName": last,
                "Email": f"{slug(first)}.{slug(last)}@{mail_domain}",
                "Title": CONTACT_TITLES[i] if i < 3 else rng.choice(CONTACT_TITLES),
                "HasOptedOutOfEmail": 1 if rng.random() < 0.05 else 0,
                "CurrencyIsoCode": currency,
                "Is_Champion__c": 1 if is_champion else 0,
                "Left_Company__c": 1 if left else 0,
            }


_CONTACTS_BY_SEGMENT = {"Enterprise": (4, 9), "Mid-Market": (2, 6), "SMB": (1, 4)}


def contract_rows(refs: Sequence[ContractRef], *, staff: Staff, catalogue: Catalogue,
                  rng: random.Random, today: int) -> Iterator[Row]:
    """Contract rows (the CPQ and the standard uplift fields both filled)."""
    for acct, account_id, c in refs:
        yield {
            "AccountId": account_id,
            "OwnerId": staff.owner(acct),
            "Name": f"{acct.name[:60]} {date.fromordinal(c.start).year}",
            "Status": c.status,
            "StartDate": iso(c.start),
            "ContractTerm": c.term,
            "EndDate": iso(c.end) if c.end is not None else None,
            "ActivatedDate": stamp(c.start, 600) if c.status == "Activated" else None,
            "CurrencyIsoCode": c.currency,
            "Pricebook2Id": catalogue.pricebook,
            "Do_Not_Renew__c": 1 if c.do_not_renew else 0,
            "Evergreen__c": 1 if c.evergreen else 0,
            "Uplift_Rate__c": c.uplift_rate,
            "Uplift_Cap__c": c.uplift_cap,
            "Uplift_Floor__c": c.uplift_floor,
            "SBQQ__RenewalTerm__c": c.renewal_term,
            "SBQQ__RenewalUpliftRate__c": c.uplift_rate,
            "SBQQ__RenewalPricebookId__c": catalogue.renewal_pricebook_of(acct),
            "SBQQ__RenewalForecast__c": 1 if c.renewal is not None and c.renewal.forecast else 0,
            "SBQQ__RenewalQuoted__c": 0,
            "CreatedDate": created(c.start - rng.randint(5, 40), today=today, rng=rng),
        }


def subscription_type(c: ContractPlan, product: Product) -> str:
    """CPQ's Subscription Type of a line: One-time, Renewable, or Evergreen."""
    if not product.renewable:
        return "One-time"
    return "Evergreen" if c.evergreen else "Renewable"


def _amount(c: ContractPlan) -> float:
    return money(sum((ln.unit_price or 0.0) * ln.quantity for ln in c.lines), c.currency)


def originating_opportunity_rows(refs: Sequence[ContractRef], contract_ids: Sequence[str], *,
                                 staff: Staff, catalogue: Catalogue,
                                 rng: random.Random, today: int) -> Iterator[Row]:
    """The Closed Won opportunity each contract came from (``ContractId`` set)."""
    for (acct, account_id, c), contract_id in zip(refs, contract_ids, strict=True):
        close = c.start - rng.randint(3, 25)
        yield {
            "AccountId": account_id,
            "OwnerId": staff.owner(acct),
            "Name": f"{acct.name[:70]} - {c.deal_type} {date.fromordinal(c.start).year}",
            "StageName": "Closed Won",
            "CloseDate": iso(close),
            "Amount": _amount(c),
            "Probability": 100.0,
            "ForecastCategoryName": "Closed",
            "Type": c.deal_type,
            "LeadSource": rng.choice(("Web", "Partner Referral", "Phone Inquiry"))
            if c.deal_type == "New Customer" else None,
            "ContractId": contract_id,
            "Pricebook2Id": catalogue.pricebook,
            "CurrencyIsoCode": c.currency,
            "SBQQ__Renewal__c": 1 if c.deal_type == "Renewal" else 0,
            "CreatedDate": created(close - rng.randint(20, 120), today=today, rng=rng),
        }


def line_item_rows(refs: Sequence[ContractRef], opportunity_ids: Sequence[str], *,
                   catalogue: Catalogue) -> Iterator[Row]:
    """OpportunityLineItems of the originating opportunities: the standard-style lines."""
    for (_, _, c), opportunity_id in zip(refs, opportunity_ids, strict=True):
        discount = round(c.discount * 100, 2)
        for ln in c.lines:
            product = ln.product
            code = product.code
            entry_currency = catalogue.entry_currency(code, c.currency)
            yield {
                "OpportunityId": opportunity_id,
                "PricebookEntryId": catalogue.entries[(code, entry_currency)],
                "Product2Id": catalogue.products[code],
                # Looked up from parents on a normal save; the fast path takes them as given.
                "Name": product.name,
                "ProductCode": code,
                "ListPrice": list_price_in(product, entry_currency),
                "CurrencyIsoCode": c.currency,
                "Quantity": float(ln.quantity),
                "UnitPrice": ln.unit_price,
                "Discount": discount,
                "ServiceDate": iso(ln.start),
                "SBQQ__SubscriptionType__c": subscription_type(c, ln.product),
            }


def prorate_multiplier(start: int, end: int | None) -> float | None:
    """CPQ's prorate multiplier of a line from ``start`` to ``end`` (ordinals, inclusive):
    its whole months / 12, to CPQ's four places (None without an end)."""
    if end is None:
        return None
    first, after = date.fromordinal(start), date.fromordinal(end + 1)
    months = (after.year - first.year) * 12 + after.month - first.month
    return round(months / 12, 4)


def _for_term(price: float | None, multiplier: float | None, currency: str) -> float | None:
    """A per-year price as CPQ stores it for a subscription's term."""
    if price is None or multiplier is None:
        return price
    return money(price * multiplier, currency)


def subscription_rows(refs: Sequence[ContractRef], contract_ids: Sequence[str], *,
                      staff: Staff, catalogue: Catalogue,
                      rng: random.Random) -> Iterator[Row]:
    """SBQQ__Subscription__c rows: the CPQ-style lines, one per contract line.

    A line an amendment removed is terminated the day before the amendment starts.
    """
    for (acct, account_id, c), contract_id in zip(refs, contract_ids, strict=True):
        owner = staff.owner(acct)
        end = iso(c.end) if c.end is not None else None
        terminated = {a.line: iso(a.start - 1) for a in c.amendments if a.removal}
        for at, ln in enumerate(c.lines):
            product = ln.product
            start = iso(ln.start)
            line_uplift = rng.choice((2.0, 4.0, 6.0)) if rng.random() < 0.05 else None
            multiplier = prorate_multiplier(ln.start, c.end)
            term_price = _for_term(ln.unit_price, multiplier, c.currency)
            yield {
                "OwnerId": owner,
                "SBQQ__Contract__c": contract_id,
                "SBQQ__Account__c": account_id,
                "SBQQ__Product__c": catalogue.products[product.code],
                "SBQQ__ProductName__c": product.name,
                "SBQQ__Quantity__c": float(ln.quantity),
                "SBQQ__ListPrice__c": _for_term(ln.list_price, multiplier, c.currency),
                "SBQQ__RegularPrice__c": term_price,
                "SBQQ__NetPrice__c": term_price,
                "SBQQ__CustomerPrice__c": ln.unit_price,
                "SBQQ__RenewalQuantity__c": float(ln.quantity) if product.renewable else None,
                "SBQQ__RenewalUpliftRate__c": line_uplift,
                "SBQQ__ProrateMultiplier__c": multiplier,
                "SBQQ__SubscriptionStartDate__c": start,
                "SBQQ__SubscriptionEndDate__c": end,
                "SBQQ__StartDate__c": start,
                "SBQQ__EndDate__c": end,
                "SBQQ__TerminatedDate__c": terminated.get(at),
                "SBQQ__SubscriptionType__c": subscription_type(c, product),
                "SBQQ__Bundled__c": 0,
                "CurrencyIsoCode": c.currency,
            }


def amendment_opportunity_rows(refs: Sequence[ContractRef], contract_ids: Sequence[str], *,
                               staff: Staff, catalogue: Catalogue,
                               today: int) -> Iterator[Row]:
    """The Closed Won amendment opportunity of each amended contract (``ContractId``
    set, so the standard mapping reads its lines as the contract's)."""
    for (acct, account_id, c), contract_id in zip(refs, contract_ids, strict=True):
        if not c.amendments:
            continue
        first = c.amendments[0]
        close = first.start - 7
        amount = sum(a.quantity * (c.lines[a.line].unit_price or 0.0)
                     * (prorate_multiplier(first.start, c.end) or 1.0) for a in c.amendments)
        yield {
            "AccountId": account_id,
            "OwnerId": staff.owner(acct),
            "Name": f"{acct.name[:70]} - Amendment {date.fromordinal(first.start).year}",
            "StageName": "Closed Won",
            "CloseDate": iso(close),
            "Amount": money(amount, c.currency),
            "Probability": 100.0,
            "ForecastCategoryName": "Closed",
            "Type": "Existing Customer - Downgrade",
            "ContractId": contract_id,
            "Pricebook2Id": catalogue.pricebook,
            "CurrencyIsoCode": c.currency,
            "SBQQ__Renewal__c": 0,
            "CreatedDate": stamp(min(close - 14, today - 1), 600),
        }


def amendment_line_item_rows(refs: Sequence[ContractRef], opportunity_ids: Sequence[str], *,
                             catalogue: Catalogue) -> Iterator[Row]:
    """The amendment opportunities' line items: the units taken away, at the line's price."""
    amended = [c for _, _, c in refs if c.amendments]
    for c, opportunity_id in zip(amended, opportunity_ids, strict=True):
        for a in c.amendments:
            ln = c.lines[a.line]
            code = ln.product.code
            entry_currency = catalogue.entry_currency(code, c.currency)
            yield {
                "OpportunityId": opportunity_id,
                "PricebookEntryId": catalogue.entries[(code, entry_currency)],
                "Product2Id": catalogue.products[code],
                "Name": ln.product.name,
                "ProductCode": code,
                "ListPrice": list_price_in(ln.product, entry_currency),
                "CurrencyIsoCode": c.currency,
                "Quantity": float(a.quantity),
                "UnitPrice": ln.unit_price,
                "Discount": round(c.discount * 100, 2),
                "ServiceDate": iso(a.start),
                "SBQQ__SubscriptionType__c": "Renewable",
            }


def amendment_subscription_rows(refs: Sequence[ContractRef], contract_ids: Sequence[str],
                                subscription_ids: Sequence[str], *, staff: Staff,
                                catalogue: Catalogue) -> Iterator[Row]:
    """CPQ's amendment subscriptions: a downsell is a subscription of the same product with
    the negative quantity, priced like the one it revises for its own (shorter) term.
    ``subscription_ids`` are the batch's subscriptions, one per contract line in order."""
    at = 0
    for (acct, account_id, c), contract_id in zip(refs, contract_ids, strict=True):
        for a in c.amendments:
            if a.removal:
                continue  # the subscription is terminated instead
            ln = c.lines[a.line]
            multiplier = prorate_multiplier(a.start, c.end)
            term_price = _for_term(ln.unit_price, multiplier, c.currency)
            start, end = iso(a.start), iso(c.end) if c.end is not None else None
            yield {
                "OwnerId": staff.owner(acct),
                "SBQQ__Contract__c": contract_id,
                "SBQQ__Account__c": account_id,
                "SBQQ__Product__c": catalogue.products[ln.product.code],
                "SBQQ__ProductName__c": ln.product.name,
                "SBQQ__Quantity__c": float(a.quantity),
                "SBQQ__ListPrice__c": _for_term(ln.list_price, multiplier, c.currency),
                "SBQQ__RegularPrice__c": term_price,
                "SBQQ__NetPrice__c": term_price,
                "SBQQ__CustomerPrice__c": ln.unit_price,
                "SBQQ__RenewalQuantity__c": float(a.quantity),
                "SBQQ__ProrateMultiplier__c": multiplier,
                "SBQQ__SubscriptionStartDate__c": start,
                "SBQQ__SubscriptionEndDate__c": end,
                "SBQQ__StartDate__c": start,
                "SBQQ__EndDate__c": end,
                "SBQQ__RevisedSubscription__c": subscription_ids[at + a.line],
                "SBQQ__SubscriptionType__c": "Renewable",
                "SBQQ__Bundled__c": 0,
                "CurrencyIsoCode": c.currency,
            }
        at += len(c.lines)


def renewal_opportunity_rows(refs: Sequence[ContractRef], contract_ids: Sequence[str], *,
                             staff: Staff, catalogue: Catalogue, rng: random.Random,
                             today: int) -> Iterator[Row]:
    """Renewal opportunities opened before sfrenew (linked by SBQQ__RenewedContract__c and
    Renewed_Contract__c).

    ``ContractId`` stays empty: in the standard mapping it names the contract an
    opportunity *created*, and a renewal did not create the contract it renews.
    """
    for (acct, account_id, c), contract_id in zip(refs, contract_ids, strict=True):
        if c.renewal is None or c.end is None:
            continue
        uplift = (c.uplift_rate or 0.0) / 100
        yield {
            "AccountId": account_id,
            "OwnerId": staff.owner(acct),
            "Name": f"{acct.name[:70]} - Renewal {date.fromordinal(c.end + 1).year}",
            "StageName": c.renewal.stage,
            "CloseDate": iso(c.renewal.close),
            "Amount": money(c.arr * (1 + uplift), c.currency),
            "Type": "Renewal",
            "NextStep": None if c.renewal.stage.startswith("Closed") else "Send renewal quote",
            "Pricebook2Id": catalogue.pricebook,
            "CurrencyIsoCode": c.currency,
            "SBQQ__RenewedContract__c": contract_id,
            "Renewed_Contract__c": contract_id,  # the same link for standard-mapping orgs
            "SBQQ__Renewal__c": 1,
            "CreatedDate": created(c.end - rng.randint(60, 150), today=today, rng=rng),
        }


def add_months_ord(ordinal: int, months: int) -> int:
    """``add_months`` on date ordinals."""
    return add_months(date.fromordinal(ordinal), months).toordinal()
