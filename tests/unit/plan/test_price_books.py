"""CPQ's List pricing: a line's list price from the contract's (renewal) price book."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.domain import Account, Contract, ContractLine, PricingMethod
from sfrenew.core.policy import UpliftPolicy
from sfrenew.mapping import load_mapping
from sfrenew.plan.price_books import (
    ContractPriceBooks,
    PriceBook,
    PriceBookEntry,
    priced_from_books,
    prices_by_list,
    resolve_list_price,
)
from sfrenew.store import MirrorRow, open_store

ROOT = Path(__file__).parents[3]
D = Decimal
BOOK, RENEWAL, OTHER = "01s000000000001AAA", "01s000000000002AAA", "01s000000000003AAA"
PLATFORM = "01t000000000001AAA"


def entry(eid: str, book: str, price: str, *, currency: str = "USD", active: bool = True,
          product: str = PLATFORM) -> PriceBookEntry:
    return PriceBookEntry(id=eid, price_book_id=book, product_id=product, currency=currency,
                          unit_price=D(price), active=active)


def index(*entries: PriceBookEntry) -> dict[tuple[str, str], tuple[PriceBookEntry, ...]]:
    out: dict[tuple[str, str], list[PriceBookEntry]] = {}
    for e in entries:
        out.setdefault((e.price_book_id, e.product_id), []).append(e)
    return {k: tuple(v) for k, v in out.items()}


LINE = ContractLine(id="a0S1", product_id=PLATFORM, product_name="Platform", quantity=D(10),
                    annual_price=D(1000), list_price=D(1200))
# The contract's price book lists Platform at 1,200 (USD) and 1,100 (EUR); its renewal
# price book at 1,300 (USD) and an inactive 1,250 (GBP).
BOOKS = index(entry("01u1", BOOK, "1200"), entry("01u2", BOOK, "1100", currency="EUR"),
              entry("01u3", RENEWAL, "1300"),
              entry("01u4", RENEWAL, "1250", currency="GBP", active=False))


@pytest.mark.parametrize(("books", "currency", "line", "price", "words"), [
    # renewal price book set: its entry wins over the contract's price book (1,300 not 1,200)
    (ContractPriceBooks(BOOK, RENEWAL), "USD", LINE, "1300",
     f"1,300.00 USD a year from the contract's Renewal Price Book {RENEWAL} (entry 01u3)"),
    # renewal price book unset: the contract's price book
    (ContractPriceBooks(BOOK, None), "USD", LINE, "1200",
     f"1,200.00 USD a year from the contract's price book {BOOK} (entry 01u1)"),
    (ContractPriceBooks(None, RENEWAL), "USD", LINE, "1300", "Renewal Price Book"),
    # the contract's currency picks the entry: EUR 1,100
    (ContractPriceBooks(BOOK, None), "EUR", LINE, "1100", "1,100.00 EUR a year"),
    # entry missing (a book without Platform): the line's own list price, said so
    (ContractPriceBooks(BOOK, OTHER), "USD", LINE, "1200",
     f"no price book entry of Platform in USD in the contract's Renewal Price Book {OTHER}; "
     "the line's own list price 1,200.00 USD a year is used"),
    # entry missing and no list price of the line: None (the rules then price by uplift)
    (ContractPriceBooks(BOOK, OTHER), "USD", replace(LINE, list_price=None), None,
     "the line has no list price of its own"),
    # the GBP entry is inactive: not used
    (ContractPriceBooks(BOOK, RENEWAL), "GBP", LINE, "1200",
     f"the price book entry of Platform in GBP in the contract's Renewal Price Book {RENEWAL} "
     "is inactive; the line's own list price 1,200.00 GBP a year is used"),
    # currency mismatch: the renewal book has Platform in USD (and an inactive GBP) only
    (ContractPriceBooks(BOOK, RENEWAL), "JPY", LINE, "1200",
     "no price book entry of Platform in JPY in the contract's Renewal Price Book "
     f"{RENEWAL} (it has one in GBP, USD only)"),
    # a contract without any price book keeps its line's list price
    (ContractPriceBooks(None, None), "USD", LINE, "1200", "the contract names no price book"),
])
def test_resolve_list_price(books: ContractPriceBooks, currency: str, line: ContractLine,
                            price: str | None, words: str) -> None:
    found, note = resolve_list_price(line, books=books, currency=currency, entries=BOOKS)
    assert found == (D(price) if price is not None else None)
    assert words in note


def test_entries_without_a_mapped_currency_match_any_contract_currency() -> None:
    books = index(entry("01u9", BOOK, "990", currency=""))
    found, _ = resolve_list_price(LINE, books=ContractPriceBooks(BOOK, None), currency="EUR",
                                  entries=books)
    assert found == D(990)


def test_every_line_of_a_contract_is_resolved_and_noted() -> None:
    other = replace(LINE, id="a0S2", product_id="01t000000000009AAA", product_name="Support",
                    list_price=None)
    contract = Contract(id="800A", account_id="001A", number="00000001", status="Activated",
                        currency="USD", start_date=date(2025, 5, 1), end_date=date(2026, 4, 30),
                        lines=(LINE, other))
    priced = priced_from_books(contract, books=ContractPriceBooks(BOOK, RENEWAL), entries=BOOKS)
    assert [ln.list_price for ln in priced.lines] == [D(1300), None]
    assert all(ln.list_price_note for ln in priced.lines)
    assert priced.lines[0].annual_price == D(1000)  # the prior price is untouched


@pytest.mark.parametrize(("account", "policy", "reads"), [
    (PricingMethod.LIST, PricingMethod.UPLIFT, True),  # CPQ's List method wins
    (PricingMethod.SAME, PricingMethod.LIST, False),   # ... and so does Same
    (None, PricingMethod.LIST, True),                  # no method: uplift.pricing
    (None, PricingMethod.UPLIFT, False),
])
def test_only_list_priced_accounts_read_price_books(
        account: PricingMethod | None, policy: PricingMethod, reads: bool) -> None:
    assert prices_by_list(Account(id="001A", name="A", renewal_pricing=account),
                          UpliftPolicy(pricing=policy)) is reads


def test_price_book_indexes_the_mirrored_entries_once_and_reports_bad_values(
        tmp_path: Path) -> None:
    mapping = load_mapping(ROOT / "mappings" / "cpq.yaml").model
    standard = load_mapping(ROOT / "mappings" / "standard.yaml").model
    with open_store(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        store.upsert_mirror("PricebookEntry", [
            MirrorRow("01u1", {"Id": "01u1", "Pricebook2Id": BOOK, "Product2Id": PLATFORM,
                               "CurrencyIsoCode": "USD", "UnitPrice": 1200, "IsActive": True}),
            MirrorRow("01u2", {"Id": "01u2", "Pricebook2Id": RENEWAL, "Product2Id": PLATFORM,
                               "CurrencyIsoCode": "USD", "UnitPrice": "lots",
                               "IsActive": True})])
        book = PriceBook(store, mapping)
        assert book.mapped
        entries = book.entries()
        assert entries[(BOOK, PLATFORM)] == (entry("01u1", BOOK, "1200"),)
        assert entries[(RENEWAL, PLATFORM)][0].unit_price is None  # unreadable: not used
        (problem,) = book.take_problems()
        assert (problem.record_id, problem.field) == ("01u2", "UnitPrice")
        assert book.entries() is entries  # indexed once
        assert book.take_problems() == []  # reported once
        assert not PriceBook(store, standard).mapped  # the standard preset reads none


_ENTRIES = st.lists(st.builds(
    PriceBookEntry, id=st.sampled_from(["01u1", "01u2", "01u3", "01u4"]),
    price_book_id=st.sampled_from([BOOK, RENEWAL]), product_id=st.just(PLATFORM),
    currency=st.sampled_from(["USD", "EUR", ""]),
    unit_price=st.one_of(st.none(), st.decimals(min_value=0, max_value=10_000, places=2)),
    active=st.booleans()), max_size=6)


@given(entries=_ENTRIES, renewal=st.booleans(), currency=st.sampled_from(["USD", "EUR"]),
       own=st.one_of(st.none(), st.decimals(min_value=1, max_value=5_000, places=2)))
def test_a_list_price_is_an_active_entry_of_the_book_in_use_or_the_lines_own(
        entries: list[PriceBookEntry], renewal: bool, currency: str,
        own: Decimal | None) -> None:
    books = ContractPriceBooks(BOOK, RENEWAL if renewal else None)
    in_use = RENEWAL if renewal else BOOK
    line = replace(LINE, list_price=own)
    price, note = resolve_list_price(line, books=books, currency=currency,
                                     entries=index(*entries))
    usable = [e for e in entries if e.price_book_id == in_use and e.active
              and e.unit_price is not None and e.currency in {currency, ""}]
    if usable:  # the entry with the smallest Id among the usable ones, never another book's
        assert price == min(usable, key=lambda e: e.id).unit_price
        assert f"from the contract's {'Renewal Price Book' if renewal else 'price book'}" \
            in note
    else:
        assert price == own
        assert note  # says why the book had none
