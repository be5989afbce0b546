"""Money rounding: half-up to the currency's number of decimals, at the line total."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_QUANTA = {d: Decimal(1).scaleb(-d) for d in range(7)}


def quantum_for(decimals: int) -> Decimal:
    """The quantum ``round_money`` rounds to: 0.01 for 2 decimals."""
    return _QUANTA.get(decimals) or Decimal(1).scaleb(-decimals)


def round_to(amount: Decimal, quantum: Decimal) -> Decimal:
    """``amount`` rounded half-up to ``quantum`` (``quantum_for(decimals)``): the one
    rounding rule, for callers that looked the quantum up once."""
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def round_money(amount: Decimal, decimals: int) -> Decimal:
    """``amount`` rounded half-up to ``decimals`` places (JPY 0, most currencies 2)."""
    return round_to(amount, quantum_for(decimals))


def format_money(amount: Decimal, currency: str) -> str:
    """``12,345.60 USD``: how explanations show an amount."""
    return f"{amount:,} {currency}"


def format_rate(rate: Decimal) -> str:
    """A rate as a percentage without noise: 0.05 → ``5%``, 0.0325 → ``3.25%``."""
    percent = (rate * 100).normalize()
    text = f"{percent:f}"
    return f"{text}%"


# Every rate sfrenew reads is a fraction (0.05 is 5 %). A typed rate beyond ±1 (±100 %)
# is nearly always a percentage typed as a number: refused, with the fraction it meant.
MAX_RATE = Decimal(1)


def rate_problem(rate: Decimal) -> str | None:
    """Why ``rate`` is refused as a fraction (beyond ±MAX_RATE), with the likely meant
    value, or None: 5 → "5 is 500%; rates are fractions (0.05 is 5%): did you mean 0.05?"."""
    if -MAX_RATE <= rate <= MAX_RATE:
        return None
    meant = f"{(rate / 100).normalize():f}"
    return (f"{rate} is {format_rate(rate)}; rates are fractions (0.05 is 5%): did you mean "
            f"{meant}?")
