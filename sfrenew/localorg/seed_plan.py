"""Pure planning of the seeded book of business: accounts, contracts and their lines.

A plan is what a customer *is* (segment, region, currency, contracts, prices) before
it becomes rows; ``seed_rows`` turns plans into stored rows once parent Ids exist.
Everything is drawn from one ``random.Random`` in a fixed order, so the same seed
gives the same book. Dates are proleptic ordinals (``date.toordinal()``): cheap to
add to, turned into text only when a row is built.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sfrenew.localorg.seed_catalog import (
    ADD_ON_CODES,
    DECIMALS,
    LEGAL_SUFFIX,
    LINES_WEIGHTS,
    LIST_STEP,
    NAME_CORES,
    NAME_HEADS,
    NAME_TAILS,
    ODD_CURRENCY,
    ONBOARDING_CODE,
    PLACES,
    PRODUCTS,
    REGION_SHARE,
    SEGMENTS,
    USD_RATE,
    Place,
    Product,
    Region,
    Segment,
    Unit,
)


class DirtyKind(StrEnum):
    """The kinds of imperfect records a real org holds, seeded on purpose."""

    CONTRACT_WITHOUT_END_DATE = "contract_without_end_date"
    ZERO_AMOUNT_LINE = "zero_amount_line"
    LINE_WITHOUT_PRICE = "line_without_price"
    UNKNOWN_CURRENCY = "unknown_currency"
    ACCOUNT_WITHOUT_SEGMENT = "account_without_segment"


# Dirty records recur at fixed positions, so every book has some and a big book has
# proportionally more (about one of each per 10,000 contracts / 4,000 accounts).
_DIRTY_CONTRACT_AT = {
    2: DirtyKind.CONTRACT_WITHOUT_END_DATE,
    5: DirtyKind.ZERO_AMOUNT_LINE,
    8: DirtyKind.LINE_WITHOUT_PRICE,
}
_DIRTY_CONTRACT_EVERY = 10_000
_DIRTY_ACCOUNT_AT = {3: DirtyKind.UNKNOWN_CURRENCY, 5: DirtyKind.ACCOUNT_WITHOUT_SEGMENT}
_DIRTY_ACCOUNT_EVERY = 4_000


class TermKind(StrEnum):
    """Contracts that renew by themselves, seeded on purpose (sfrenew skips them)."""

    MONTHLY = "monthly"  # month-to-month: a 1-month term ending within four weeks
    EVERGREEN = "evergreen"  # auto-renewing until cancelled (CPQ: Evergreen subscriptions)


# From these positions on, the next contract that can take the kind without changing any
# other contract of the book becomes one (about two of each per 100 contracts): not an
# account's first contract (later ones are drawn from its end date), not one with a
# person's renewal or a dirty record, live and not ended. Applied after every draw,
# so the rest of the book is the same as without them.
_TERM_KIND_AT = {13: TermKind.MONTHLY, 37: TermKind.EVERGREEN}
_TERM_KIND_EVERY = 50
_TERMS = (12, 24, 36)
_TERM_WEIGHTS = (0.60, 0.25, 0.15)
PRODUCTS_BY_CODE = {p.code: p for p in PRODUCTS}
_EXPONENTS = {0: Decimal(1), 2: Decimal("0.01")}
NEW_CUSTOMER = "New Customer"


@dataclass(slots=True)
class LinePlan:
    """One subscription line of a contract (annual price per unit)."""

    product: Product
    quantity: int
    list_price: float
    unit_price: float | None  # None only for the dirty "line without price"
    start: int  # ordinal; later than the contract's start for mid-term add-ons
    dirty: DirtyKind | None = None


@dataclass(slots=True)
class AmendmentPlan:
    """A change signed mid-term that takes units away from one line of a contract.

    ``quantity`` is negative: a downsell takes some units, a removal all of them. In
    the CPQ style a downsell is a subscription with the negative quantity and a removal
    terminates the line's subscription; in the standard style both are a line of a
    Closed Won amendment opportunity of the contract.
    """

    line: int  # index of the contract line changed
    quantity: int  # units taken away (negative)
    start: int  # ordinal: the day the change takes effect
    removal: bool  # every unit of the line taken away


@dataclass(slots=True)
class RenewalPlan:
    """A renewal opportunity that exists before sfrenew runs.

    ``forecast``: CPQ's renewal forecast made it, so the contract points back at it
    (``SBQQ__RenewalOpportunity__c``); otherwise a person made it by hand and only the
    opportunity names the contract.
    """

    stage: str
    close: int  # ordinal
    forecast: bool


@dataclass(slots=True)
class ContractPlan:
    """One contract with its lines and its originating deal."""

    number: int  # 0-based position in the whole book
    status: str
    start: int  # ordinal
    end: int | None  # ordinal; None only for the dirty "no end date"
    term: int | None  # months
    renewal_term: int | None
    currency: str
    discount: float
    deal_type: str  # Type of the originating Closed Won opportunity
    do_not_renew: bool
    uplift_rate: float | None  # percent
    uplift_cap: float | None  # percent
    uplift_floor: float | None  # percent
    lines: list[LinePlan] = field(default_factory=list)
    renewal: RenewalPlan | None = None
    dirty: DirtyKind | None = None
    evergreen: bool = False
    amendments: list[AmendmentPlan] = field(default_factory=list)

    @property
    def arr(self) -> float:
        """Annual recurring value of the priced, renewable lines."""
        return sum((ln.unit_price or 0.0) * ln.quantity
                   for ln in self.lines if ln.product.renewable)


@dataclass(slots=True)
class AccountPlan:
    """One customer account and its contracts."""

    number: int  # 0-based position in the whole book
    name: str
    segment: Segment
    region: Region
    place: Place
    currency: str
    industry_pick: float  # uniform draw, mapped to an industry by the row builder
    employees: int
    health: int  # 0..100
    rep: int  # index among the region's reps
    parent: int | None = None  # index of the parent account within the same batch
    contracts: list[ContractPlan] = field(default_factory=list)
    dirty: DirtyKind | None = None


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the end of the month."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for dom in (day.day, 30, 29, 28):
        try:
            return date(year, month, dom)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def money(amount: float, currency: str) -> float:
    """``amount`` rounded half-up to the currency's decimals."""
    # Through the shortest decimal text, so 10.005 is 10.005 and not 10.00499...
    exponent = _EXPONENTS[DECIMALS.get(currency, 2)]
    return float(Decimal(repr(amount)).quantize(exponent, rounding=ROUND_HALF_UP))


def account_name(number: int, suffix: str) -> str:
    """A unique-looking company name for the ``number``-th account.

    A fixed stride through every (head, core, tail) combination spreads neighbours
    apart; past the number of combinations a numeral keeps names distinct.
    """
    capacity = len(NAME_HEADS) * len(NAME_CORES) * len(NAME_TAILS)
    lap, pos = divmod(number, capacity)
    pos = (pos * 7919 + 1013) % capacity  # 7919 is prime and divides no capacity here
    head, rest = divmod(pos, len(NAME_CORES) * len(NAME_TAILS))
    core, tail = divmod(rest, len(NAME_TAILS))
    words = [NAME_HEADS[head], NAME_CORES[core], NAME_TAILS[tail]]
    if lap:
        words.append(str(lap + 1))
    words.append(suffix)
    return " ".join(w for w in words if w)


class BookPlanner:
    """Draws accounts and contracts in order; one instance per seeded book."""

    def __init__(self, rng: random.Random, *, today: date, reps_per_region: dict[Region, int]):
        self._rng = rng
        self._today = today
        self._today_ord = today.toordinal()
        self._reps = reps_per_region
        self._segments = list(SEGMENTS)
        self._segment_weights = [SEGMENTS[s].share for s in self._segments]
        self._regions = list(REGION_SHARE)
        self._region_weights = [REGION_SHARE[r] for r in self._regions]
        self.next_account = 0
        self.next_contract = 0
        self._term_kinds: list[TermKind] = []  # kinds due, waiting for a contract to take

    def accounts(self, *, limit: int, contracts_left: int) -> list[AccountPlan]:
        """Up to ``limit`` accounts holding at most ``contracts_left`` contracts."""
        batch: list[AccountPlan] = []
        while len(batch) < limit and contracts_left > 0:
            acct = self._account()
            wanted = self._rng.choices(
                range(1, 6), weights=SEGMENTS[acct.segment].contracts_weights)[0]
            for _ in range(min(wanted, contracts_left)):
                acct.contracts.append(self._contract(acct))
            contracts_left -= len(acct.contracts)
            self._maybe_parent(acct, batch)
            batch.append(acct)
        return batch

    def _maybe_parent(self, acct: AccountPlan, batch: list[AccountPlan]) -> None:
        # A few customers are subsidiaries of an earlier, larger customer.
        if batch and self._rng.random() < 0.04:
            candidate = self._rng.randrange(len(batch))
            if batch[candidate].parent is None:
                acct.parent = candidate

    def _account(self) -> AccountPlan:
        rng = self._rng
        number = self.next_account
        self.next_account += 1
        segment = rng.choices(self._segments, weights=self._segment_weights)[0]
        region = rng.choices(self._regions, weights=self._region_weights)[0]
        place = rng.choice(PLACES[region])
        currency = place.currency
        if region is Region.EMEA and rng.random() < 0.05:
            currency = "USD"  # multinationals buying in dollars
        profile = SEGMENTS[segment]
        # Health skews good; bigger customers get more attention and score higher.
        health = round(100 * rng.betavariate(5.0 if segment is Segment.ENTERPRISE else 4.0, 2.0))
        lo, hi = profile.employees
        acct = AccountPlan(
            number=number,
            name=account_name(number, rng.choice(LEGAL_SUFFIX[place.country])),
            segment=segment, region=region, place=place, currency=currency,
            industry_pick=rng.random(),
            employees=round(math.exp(rng.uniform(math.log(lo), math.log(hi)))),
            health=health, rep=rng.randrange(self._reps[region]),
        )
        kind = _DIRTY_ACCOUNT_AT.get(number % _DIRTY_ACCOUNT_EVERY)
        if kind is DirtyKind.UNKNOWN_CURRENCY:
            acct.currency = ODD_CURRENCY
        acct.dirty = kind
        return acct

    def _contract(self, acct: AccountPlan) -> ContractPlan:
        rng = self._rng
        number = self.next_contract
        self.next_contract += 1
        term = rng.choices(_TERMS, weights=_TERM_WEIGHTS)[0]
        today = self._today_ord
        roll = rng.random()
        status = "Activated"
        first = acct.contracts[0] if acct.contracts else None
        if roll < 0.02:
            # Signed but not yet live: starts soon.
            status = "Draft" if roll < 0.015 else "In Approval Process"
            start = date.fromordinal(today + rng.randint(5, 60))
            end = add_months(start, term).toordinal() - 1
        else:
            if roll < 0.08:
                end = today - rng.randint(1, 120)  # ended, not (yet) renewed
            elif (first is not None and first.end is not None and first.end <= today + 730
                  and rng.random() < 0.35):
                # Bought later but lined up with the first contract: co-term material.
                end = first.end + rng.randint(-45, 45)
            else:
                horizon = min(term, 24) * 30.4
                end = today + int(rng.random() * horizon)
            start = add_months(date.fromordinal(end + 1), -term)
            # A contract cannot start in the future and be live; shorten the past.
            if start.toordinal() > today:
                start = add_months(date.fromordinal(end + 1), -36)
                term = 36
            # Salesforce's rule: the end date is the start plus the term, less a day.
            end = add_months(start, term).toordinal() - 1
        profile = SEGMENTS[acct.segment]
        renewal_term = term if rng.random() < 0.8 else (12 if rng.random() < 0.85 else None)
        uplift = rng.choice((3.0, 5.0, 7.0, 4.5)) if rng.random() < 0.2 else None
        cap = rng.choice((5.0, 7.0, 10.0)) if rng.random() < 0.1 else None
        floor = rng.choice((2.0, 3.0)) if cap is not None and rng.random() < 0.5 else None
        contract = ContractPlan(
            number=number, status=status, start=start.toordinal(), end=end, term=term,
            renewal_term=renewal_term, currency=acct.currency,
            discount=rng.uniform(*profile.discount),
            deal_type=NEW_CUSTOMER if first is None else rng.choice(
                ("Existing Customer - Upgrade", "Existing Customer - Upgrade", "Renewal")),
            do_not_renew=rng.random() < 0.02, uplift_rate=uplift, uplift_cap=cap,
            uplift_floor=floor,
        )
        self._lines(acct, contract)
        self._renewal(contract)
        contract.dirty = _DIRTY_CONTRACT_AT.get(number % _DIRTY_CONTRACT_EVERY)
        if contract.dirty is DirtyKind.CONTRACT_WITHOUT_END_DATE:
            contract.end = None
            contract.term = None
            contract.renewal = None
        elif contract.dirty is not None:
            contract.lines[0].dirty = contract.dirty
            contract.lines[0].unit_price = (
                0.0 if contract.dirty is DirtyKind.ZERO_AMOUNT_LINE else None)
        else:
            amend(contract, today=today)
        # After the amendments: an amended contract stays as it is (see _term_kind).
        self._term_kind(contract, first_of_account=first is None)
        return contract

    def _term_kind(self, contract: ContractPlan, *, first_of_account: bool) -> None:
        """Make ``contract`` month-to-month or evergreen when one is due (no draws)."""
        kind = _TERM_KIND_AT.get(contract.number % _TERM_KIND_EVERY)
        if kind is not None:
            self._term_kinds.append(kind)
        today = self._today_ord
        if (not self._term_kinds or first_of_account or contract.dirty is not None
                or contract.renewal is not None or contract.status != "Activated"
                or contract.end is None or contract.end < today or contract.amendments):
            return
        kind = self._term_kinds.pop(0)
        if kind is TermKind.EVERGREEN:
            contract.evergreen = True
            return
        contract.end = today + (contract.end - today) % 28
        contract.start = add_months(date.fromordinal(contract.end + 1), -1).toordinal()
        contract.term = contract.renewal_term = 1
        for line in contract.lines:
            line.start = contract.start

    def _lines(self, acct: AccountPlan, contract: ContractPlan) -> None:
        rng = self._rng
        profile = SEGMENTS[acct.segment]
        currency = contract.currency
        target_usd = profile.arr_median_usd * math.exp(rng.gauss(0.0, profile.arr_sigma))
        platform = PRODUCTS_BY_CODE[rng.choice(profile.platform)]
        platform_net = platform.usd_price * (1 - contract.discount)
        seats = max(1, round(target_usd * 0.6 / platform_net))
        n_lines = rng.choices(range(1, 7), weights=LINES_WEIGHTS)[0]
        products = [platform, *(PRODUCTS_BY_CODE[c] for c in rng.sample(ADD_ON_CODES, n_lines - 1))]
        if contract.deal_type == NEW_CUSTOMER and rng.random() < 0.3:
            products.append(PRODUCTS_BY_CODE[ONBOARDING_CODE])
        start = date.fromordinal(contract.start)
        for product in products:
            line_start = contract.start
            if product is not platform and (contract.term or 0) >= 24 and rng.random() < 0.15:
                # Added mid-term and co-termed to the contract's end.
                months_in = rng.randint(3, (contract.term or 24) - 6)
                line_start = add_months(start, months_in).toordinal()
            if product.unit is Unit.SEAT:
                qty = seats if product is platform else max(1, round(seats * rng.uniform(0.3, 1.0)))
            elif product.unit is Unit.PACK:
                qty = rng.randint(1, 2 + seats // 500)
            else:
                qty = 1 if rng.random() < 0.85 else rng.randint(2, 3)
            list_price = list_price_in(product, currency)
            contract.lines.append(LinePlan(
                product=product, quantity=qty, list_price=list_price,
                unit_price=money(list_price * (1 - contract.discount), currency),
                start=line_start,
            ))

    def _renewal(self, contract: ContractPlan) -> None:
        # People open renewals by hand for some contracts ending soon; ended ones were
        # mostly worked (won or lost), some are still open past the end date.
        if contract.status != "Activated" or contract.end is None:
            return
        days = contract.end - self._today_ord
        rng = self._rng
        if days < 0:
            if rng.random() < 0.6:
                stage = rng.choices(("Closed Won", "Closed Lost", "Negotiation/Review"),
                                    weights=(0.5, 0.2, 0.3))[0]
                contract.renewal = RenewalPlan(stage, contract.end + rng.randint(-20, 10),
                                               forecast=rng.random() < 0.5)
        elif days <= 150 and rng.random() < 0.3:
            if days < 30:
                stage = "Negotiation/Review"
            elif days < 90:
                stage = rng.choice(("Proposal/Price Quote", "Negotiation/Review"))
            else:
                stage = rng.choice(("Prospecting", "Qualification"))
            contract.renewal = RenewalPlan(stage, contract.end, forecast=rng.random() < 0.5)


# Amended contracts recur at fixed positions (no random draw, so the rest of the book
# is the same with or without them): one in 25 has its first line downsold by a fifth,
# another has an add-on removed, both half-way through the term.
_DOWNSELL_AT, _REMOVAL_AT, _AMEND_EVERY = 12, 17, 25


def amend(contract: ContractPlan, *, today: int) -> None:
    """Add the mid-term amendment this contract's position calls for, if any (one signed
    before ``today``, an ordinal)."""
    kind = contract.number % _AMEND_EVERY
    if (kind not in (_DOWNSELL_AT, _REMOVAL_AT) or contract.status != "Activated"
            or contract.end is None or not contract.term):
        return
    start = add_months(date.fromordinal(contract.start), contract.term // 2).toordinal()
    if start >= today:
        return
    first = contract.lines[0]
    if kind == _DOWNSELL_AT and first.quantity >= 2:
        contract.amendments.append(AmendmentPlan(
            line=0, quantity=-max(1, first.quantity // 5), start=start, removal=False))
        return
    removable = [i for i, ln in enumerate(contract.lines)
                 if i > 0 and ln.product.renewable and ln.start < start]
    if kind == _REMOVAL_AT and removable:
        at = removable[-1]
        contract.amendments.append(AmendmentPlan(
            line=at, quantity=-contract.lines[at].quantity, start=start, removal=True))


def list_price_in(product: Product, currency: str, *, raise_by: float = 0.0) -> float:
    """The price-book list price of ``product`` in ``currency`` (a round number);
    ``raise_by`` 0.06 gives that price 6% higher, rounded to the same step (the
    renewal price book's)."""
    step = LIST_STEP.get(currency, 1.0)
    listed = math.floor(product.usd_price * USD_RATE[currency] / step + 0.5) * step
    if not raise_by:
        return listed
    return math.floor(listed * (1 + raise_by) / step + 0.5) * step
