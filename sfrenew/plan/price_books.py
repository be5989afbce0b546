"""List prices from the price book: CPQ's *List* renewal pricing, resolved by the shell.

CPQ prices a renewal line of an account whose Renewal Pricing Method is *List* at the
price book entry of the contract's price book, or of its Renewal Price Book
(``Contract.SBQQ__RenewalPricebookId__c``) when the contract names one (help article
000382486). When the mapping maps ``price_book_entry``, the plan does the same before
the rules run: a line's ``list_price`` becomes the ``UnitPrice`` of the active entry
for (renewal price book, else price book; the line's product; the contract's
currency), and the line says where its list price came from. Without such an entry
the line keeps the list price the mapping gave it (or none: the rules then price it
by uplift and say so), and says why.

Price book entries belong to no account, so they are mirrored without a group and read
here once per plan (:class:`PriceBook`); :func:`resolve_list_price` is the rule, pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from sfrenew.core.domain import Account, Contract, ContractLine, PricingMethod
from sfrenew.core.money import format_money, round_money
from sfrenew.core.policy import UpliftPolicy
from sfrenew.core.rules.uplift import pricing_for
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.translate import CoercionProblem, read_record
from sfrenew.store.port import StorePort
from sfrenew.store.values import MirrorRecord


@dataclass(frozen=True, slots=True)
class PriceBookEntry:
    """One mirrored price book entry, as the list pricing reads it."""

    id: str
    price_book_id: str
    product_id: str
    currency: str  # "" when the mapping does not map the entry's currency
    unit_price: Decimal | None
    active: bool = True


@dataclass(frozen=True, slots=True)
class ContractPriceBooks:
    """A contract's price books: its own and the one its renewal is priced from."""

    price_book: str | None = None
    renewal_price_book: str | None = None


# (price book Id, product Id) -> the entries of that product in that book
EntryIndex = Mapping[tuple[str, str], tuple[PriceBookEntry, ...]]


def resolve_list_price(line: ContractLine, *, books: ContractPriceBooks, currency: str,
                       entries: EntryIndex, decimals: int = 2) -> tuple[Decimal | None, str]:
    """The line's list price by CPQ's *List* method, and where it came from.

    The book is the renewal price book when set, else the contract's price book; the
    entry is the active one of the line's product in the contract's ``currency`` (any
    currency when the entries' currency is not mapped, ``""``). No such entry: the
    line's own ``list_price`` (possibly None), with the reason. Amounts in the
    reason are shown to the currency's ``decimals``.
    """
    if books.renewal_price_book:
        book, whose = books.renewal_price_book, "the contract's Renewal Price Book"
    elif books.price_book:
        book, whose = books.price_book, "the contract's price book"
    else:
        return line.list_price, _kept(line, "the contract names no price book", currency,
                                      decimals)
    found = entries.get((book, line.product_id), ())
    in_currency = [e for e in found if not e.currency or not currency
                   or e.currency == currency]
    active = [e for e in in_currency if e.active and e.unit_price is not None]
    if active:
        entry = min(active, key=lambda e: e.id)  # one per product and currency in an org
        assert entry.unit_price is not None  # filtered above
        shown = format_money(round_money(entry.unit_price, decimals),
                             entry.currency or currency).rstrip()
        return entry.unit_price, f"{shown} a year from {whose} {book} (entry {entry.id})"
    where = f"{line.product_name} in {currency + ' in ' if currency else ''}{whose} {book}"
    if in_currency:
        why = f"the price book entry of {where} is inactive"
    elif found:
        others = ", ".join(sorted({e.currency for e in found}))
        why = f"no price book entry of {where} (it has one in {others} only)"
    else:
        why = f"no price book entry of {where}"
    return line.list_price, _kept(line, why, currency, decimals)


def _kept(line: ContractLine, why: str, currency: str, decimals: int) -> str:
    if line.list_price is None:
        return f"{why}; the line has no list price of its own"
    shown = format_money(round_money(line.list_price, decimals), currency).rstrip()
    return f"{why}; the line's own list price {shown} a year is used"


def priced_from_books(contract: Contract, *, books: ContractPriceBooks,
                      entries: EntryIndex, decimals: int = 2) -> Contract:
    """``contract`` with every line's list price resolved (see :func:`resolve_list_price`)."""
    lines = []
    for line in contract.lines:
        price, note = resolve_list_price(line, books=books, currency=contract.currency,
                                         entries=entries, decimals=decimals)
        lines.append(replace(line, list_price=price, list_price_note=note))
    return replace(contract, lines=tuple(lines))


def prices_by_list(account: Account, policy: UpliftPolicy) -> bool:
    """True when the account's lines are priced ``list`` (the only pricing that reads
    list prices): its own method, else the policy's."""
    return pricing_for(account.renewal_pricing, policy) is PricingMethod.LIST


class PriceBook:
    """The mirrored price book entries, indexed once per plan on first use."""

    def __init__(self, store: StorePort, mapping: MappingFile) -> None:
        self.store, self.mapping = store, mapping
        self._index: dict[tuple[str, str], tuple[PriceBookEntry, ...]] | None = None
        self._problems: list[CoercionProblem] = []

    @property
    def mapped(self) -> bool:
        """True when the mapping maps price book entries and a contract price book."""
        contract = self.mapping.contract.fields
        return self.mapping.price_book_entry is not None and (
            "price_book" in contract or "renewal_price_book" in contract)

    def entries(self) -> EntryIndex:
        """Every entry by (price book, product); empty when entries are not mapped."""
        if self._index is None:
            section = self.mapping.price_book_entry
            self._index = {} if section is None else self._load(
                self.store.iter_object(section.object))
        return self._index

    def _load(self, records: Iterable[MirrorRecord]
              ) -> dict[tuple[str, str], tuple[PriceBookEntry, ...]]:
        grouped: dict[tuple[str, str], list[PriceBookEntry]] = {}
        for record in records:
            read, problems = read_record(self.mapping, Concept.PRICE_BOOK_ENTRY, record.data)
            self._problems.extend(problems)  # reported once: the index is built once
            values = read.values
            book, product = values.get("price_book"), values.get("product")
            if not book or not product:
                continue
            active = values.get("active")
            entry = PriceBookEntry(
                id=record.sf_id, price_book_id=str(book),
                product_id=str(product), currency=str(values.get("currency") or ""),
                unit_price=values.get("unit_price"),
                active=True if active is None else bool(active))
            grouped.setdefault((entry.price_book_id, entry.product_id), []).append(entry)
        return {key: tuple(found) for key, found in grouped.items()}

    def take_problems(self) -> list[CoercionProblem]:
        """Values of entries read since the last call that did not fit (Id and field)."""
        found, self._problems = self._problems, []
        return found
