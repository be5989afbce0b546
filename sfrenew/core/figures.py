"""The numbers a desk forecasts with: prior ARR, renewal ARR, uplift amount, term months.

One definition each, computed from the planned lines and the renewal's dates:

* **prior ARR**: Σ quantity × prior annual unit price over the renewal's lines
  (what the renewed lines are worth a year today);
* **renewal ARR**: Σ quantity × first-year annual unit price (the renewal's annual
  value in its first year, whatever the length of each line's period, so a line
  co-termed 40 days short still counts a full year);
* **uplift amount**: renewal ARR − prior ARR (negative when prices fall, e.g. a list
  price below the prior price);
* **term months**: the months from the renewal's start to its end, a part month
  counted as a whole one (CPQ's "Month" prorate precision: 2024-01-01 to 2025-01-10
  is 13 months).

Each sum is rounded half-up to the currency once, at the total. Worked example: 10
units at 1,000.00 a year, uplift 5% → 1,050.00, renewed for 36 months from
2024-04-01: prior ARR 10,000.00, renewal ARR 10,500.00, uplift amount 500.00, term 36
months (and Amount, the term's total, 10 × 3,150.00 = 31,500.00).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sfrenew.core.money import round_to
from sfrenew.core.plan import PlannedLine, RenewalFigures
from sfrenew.core.rules.proration import split_months

_ZERO = Decimal(0)


def term_months(start: date, end: date) -> int:
    """Months from ``start`` to ``end`` (inclusive), a part month counted as one.

    2024-04-01 → 2027-03-31 is 36; 2024-04-21 → 2025-03-31 (11 months and 10 days) is 12.
    """
    months, stub, _basis = split_months(start, end)
    return months + (1 if stub else 0)


def renewal_figures(lines: Sequence[PlannedLine], *, start: date, end: date,
                    quantum: Decimal) -> RenewalFigures:
    """The renewal's forecast numbers (see the module docstring), money to ``quantum``."""
    prior = renewal = _ZERO
    for line in lines:  # a loop, not two generator sums: this runs once per renewal
        prior += line.quantity * line.prior_unit_price
        renewal += line.quantity * line.unit_prices[0]
    prior, renewal = round_to(prior, quantum), round_to(renewal, quantum)
    return RenewalFigures(prior, renewal, renewal - prior, term_months(start, end))


# Bounded: contracts share a handful of periods (a month's ends), and this runs per renewal.
_term_months = lru_cache(maxsize=1 << 12)(term_months)


def last_term_total(lines: Sequence[PlannedLine], terms: Mapping[str, tuple[date, date]], *,
                    quantum: Decimal) -> Decimal | None:
    """What the renewed lines cost over their contract's last term, rounded once at the total.

    Σ quantity × prior annual unit price × (months of the line's contract term / 12),
    a part month counted as one (:func:`term_months`). ``terms`` gives each contract's
    (start, end); a line whose contract has no dates makes the total unknown (None).
    Worked example: 10 units at 1,000.00 a year on a contract 2023-04-01 → 2026-03-31
    (36 months): 10 × 1,000.00 × 36/12 = 30,000.00.
    """
    months: dict[str, int] = {}
    total = _ZERO
    for line in lines:
        n = months.get(line.contract_id)
        if n is None:
            dates = terms.get(line.contract_id)
            if dates is None:
                return None
            n = months[line.contract_id] = _term_months(*dates)
        total += line.quantity * line.prior_unit_price * n / 12
    return round_to(total, quantum)
