"""Past renewals with their outcomes, so the analytics have history (issue 17).

For every ``HISTORY_EVERY``-th contract of the book (by its position, so no draw of the
main generator moves), the two renewals that led to it: closed opportunities of Type
Renewal with line items, the ARR fields sfrenew writes (prior ARR, renewal ARR, uplift
amount, term months) and an outcome — won on time, won late, won with a downsell or an
expansion, or lost with a reason. Each draw comes from a generator of its own, seeded by
the book's seed and the contract's position, and the rows are written after every other
record, so the rest of the book keeps its Ids and values.

Worked example: a contract that started 2025-04-01 with 10 seats at 1,050.00 a year had
a previous term ending 2025-03-31; that renewal's prior price was 1,050.00 / 1.05 =
1,000.00 (ARR 10,000.00), its renewal price 1,050.00 (ARR 10,500.00, uplift 500.00); won
with an expansion to 12 seats its line carries Quantity 12 at 1,050.00.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta

from sfrenew.localorg.seed_catalog import ACTIVE_CURRENCIES
from sfrenew.localorg.seed_plan import add_months, list_price_in, money
from sfrenew.localorg.seed_rows import Catalogue, ContractRef, Row, Staff, created, iso

HISTORY_EVERY = 4
# Only the book's first contracts get a history: the seed keeps what it writes last in
# memory, and a bounded history keeps a million-contract seed's memory flat.
HISTORY_MAX_CONTRACTS = 20_000
YEARS = 2
UPLIFT = 0.05
LOSS_REASONS = ("Price", "Competitor", "Budget", "No Longer Needed", "Acquired")
# Outcome → cumulative probability.
OUTCOMES = (("on_time", 0.55), ("late", 0.70), ("downsell", 0.80), ("expansion", 0.90),
            ("lost", 1.0))


def _draw(seed: int, number: int, year: int) -> random.Random:
    return random.Random(seed * 1_000_003 + number * 7 + year)  # noqa: S311 (test data)


def history_plan(refs: Sequence[tuple[ContractRef, str]], *, seed: int, today: date
                 ) -> Iterator[tuple[ContractRef, int, str, random.Random]]:
    """(contract, years back, outcome, its generator) for each past renewal to write."""
    for ref, _contract_id in refs:
        _, _, c = ref
        if (c.number % HISTORY_EVERY or c.number >= HISTORY_MAX_CONTRACTS or c.end is None
                or c.dirty is not None or c.currency not in ACTIVE_CURRENCIES
                or not any(ln.product.renewable and ln.unit_price for ln in c.lines)):
            continue
        for back in range(1, YEARS + 1):
            due = add_months(date.fromordinal(c.start), -12 * (back - 1)) - timedelta(days=1)
            if due >= today:
                continue
            rng = _draw(seed, c.number, back)
            pick = rng.random()
            outcome = next(name for name, edge in OUTCOMES if pick < edge)
            yield ref, back, outcome, rng


def _lines(ref: ContractRef, back: int, outcome: str
           ) -> list[tuple[str, float, float, float]]:
    """(product code, prior quantity, won quantity, prior annual price) per line."""
    _, _, c = ref
    out = []
    for ln in c.lines:
        if not ln.product.renewable or not ln.unit_price:
            continue
        prior = money(ln.unit_price / (1 + UPLIFT) ** back, c.currency)
        quantity = float(ln.quantity)
        won = {"downsell": max(1.0, round(quantity * 0.8)),
               "expansion": round(quantity * 1.25) or quantity + 1}.get(outcome, quantity)
        out.append((ln.product.code, quantity, won, prior))
    return out


def history_rows(refs: Sequence[tuple[ContractRef, str]], *, staff: Staff,
                 catalogue: Catalogue, seed: int, today: date
                 ) -> tuple[list[Row], list[list[Row]]]:
    """The past renewal opportunities, and each one's line items (without its Id yet)."""
    opportunities: list[Row] = []
    lines: list[list[Row]] = []
    for ref, back, outcome, rng in history_plan(refs, seed=seed, today=today):
        acct, account_id, c = ref
        due = add_months(date.fromordinal(c.start), -12 * (back - 1)) - timedelta(days=1)
        items = _lines(ref, back, outcome)
        prior_arr = money(sum(q * p for _, q, _, p in items), c.currency)
        renewal_arr = money(sum(q * money(p * (1 + UPLIFT), c.currency)
                                for _, q, _, p in items), c.currency)
        late = outcome == "late"
        close = due + timedelta(days=rng.randint(15, 60) if late else -rng.randint(0, 30))
        if close >= today:
            close = today - timedelta(days=1)
        won = outcome != "lost"
        opportunities.append({
            "AccountId": account_id,
            "OwnerId": staff.owner(acct),
            "Name": f"{acct.name[:70]} - Renewal {due.year + (1 if due.month == 12 else 0)}",
            "StageName": "Closed Won" if won else "Closed Lost",
            "CloseDate": close.isoformat(),
            "Type": "Renewal",
            "Pricebook2Id": catalogue.pricebook,
            "CurrencyIsoCode": c.currency,
            "Sfrenew_Prior_ARR__c": prior_arr,
            "Sfrenew_Renewal_ARR__c": renewal_arr,
            "Sfrenew_Uplift_Amount__c": money(renewal_arr - prior_arr, c.currency),
            "Sfrenew_Term_Months__c": 12,
            "Loss_Reason__c": None if won else rng.choice(LOSS_REASONS),
            "CreatedDate": created(due.toordinal() - rng.randint(60, 150),
                                   today=today.toordinal(), rng=rng),
        })
        lines.append([{"_code": code, "Quantity": won_q if won else quantity,
                       "_prior": prior, "_due": due.toordinal()}
                      for code, quantity, won_q, prior in items])
    return opportunities, lines


def history_line_rows(lines: Sequence[Row], opportunity_id: str, currency: str, *,
                      catalogue: Catalogue) -> Iterator[Row]:
    """One renewal's line items: a year at the renewal price from the day after the end."""
    from sfrenew.localorg.seed_catalog import PRODUCTS  # noqa: PLC0415 - small table

    by_code = {p.code: p for p in PRODUCTS}
    for line in lines:
        code = str(line["_code"])
        product = by_code[code]
        entry_currency = catalogue.entry_currency(code, currency)
        annual = money(float(line["_prior"]) * (1 + UPLIFT), currency)
        yield {
            "OpportunityId": opportunity_id,
            "PricebookEntryId": catalogue.entries[(code, entry_currency)],
            "Product2Id": catalogue.products[code],
            "Name": product.name,
            "ProductCode": code,
            "ListPrice": list_price_in(product, entry_currency),
            "CurrencyIsoCode": currency,
            "Quantity": float(line["Quantity"]),
            "UnitPrice": annual,
            "Sfrenew_Annual_Unit_Price__c": annual,
            "ServiceDate": iso(int(line["_due"]) + 1),
        }
