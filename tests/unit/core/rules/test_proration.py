"""Proration: the worked example to the cent, month ends, leap years, properties."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.policy import ProrationMethod as M
from sfrenew.core.rules.proration import prorate, prorated_amount, split_months
from sfrenew.core.rules.term import term_end

D = date
START, END = D(2023, 10, 15), D(2024, 6, 30)


@pytest.mark.parametrize(("method", "amount", "fraction"), [
    (M.DAY, "8547.95", "260/365"),
    (M.MONTH, "9000.00", "9/12"),
    (M.MONTH_DAY, "8558.90", "8/12 + 17/365"),
    (M.ACTUAL_PERIOD, "8548.39", "(8 + 17/31)/12"),
    (M.THIRTY_360, "8566.67", "(8 + 17/30)/12"),
])
def test_worked_example_from_the_design(method: M, amount: str, fraction: str) -> None:
    p = prorate(START, END, method=method)
    assert prorated_amount(Decimal(12000), p, decimals=2) == Decimal(amount)
    assert p.fraction_text == fraction
    assert p.method is method


def test_worked_example_parts() -> None:
    assert split_months(START, END) == (8, 17, 31)


@pytest.mark.parametrize("method", list(M))
@pytest.mark.parametrize(("start", "months"), [
    (D(2023, 1, 1), 12), (D(2023, 1, 31), 1), (D(2024, 1, 31), 1), (D(2023, 1, 29), 1),
    (D(2024, 2, 29), 12), (D(2023, 3, 1), 12), (D(2023, 10, 15), 12), (D(2023, 8, 31), 6),
])
def test_a_full_term_is_exactly_its_months(method: M, start: date, months: int) -> None:
    """A renewal term made by the term rule prorates to exactly months/12 (not `day`)."""
    p = prorate(start, term_end(start, months), method=method)
    if method is M.DAY:
        assert p.fraction == Fraction(p.days, 365)
    else:
        assert p.fraction == Fraction(months, 12)
        assert p.stub_days == 0


@pytest.mark.parametrize(("start", "end", "method", "amount"), [
    # a leap year's 366 days by `day` cost more than the annual price; months do not
    (D(2023, 3, 1), D(2024, 2, 29), M.DAY, "12032.88"),
    (D(2023, 3, 1), D(2024, 2, 29), M.MONTH_DAY, "12000.00"),
    (D(2024, 2, 1), D(2024, 2, 29), M.DAY, "953.42"),
    (D(2024, 2, 1), D(2024, 2, 29), M.ACTUAL_PERIOD, "1000.00"),
    (D(2024, 2, 15), D(2024, 2, 29), M.ACTUAL_PERIOD, "517.24"),  # 15/29 of a month
    (D(2023, 2, 15), D(2023, 2, 28), M.ACTUAL_PERIOD, "500.00"),  # 14/28
    (D(2023, 2, 15), D(2023, 2, 28), M.THIRTY_360, "466.67"),  # 14/30
    (D(2023, 1, 1), D(2023, 1, 1), M.DAY, "32.88"),
    (D(2023, 1, 1), D(2023, 1, 1), M.MONTH, "1000.00"),  # a part month counts in full
    (D(2023, 1, 31), D(2023, 2, 28), M.MONTH_DAY, "1000.00"),  # one clamped month
])
def test_proration_table(start: date, end: date, method: M, amount: str) -> None:
    assert prorated_amount(Decimal(12000), prorate(start, end, method=method), decimals=2) == \
        Decimal(amount)


def test_jpy_has_no_decimals() -> None:
    p = prorate(START, END, method=M.DAY)
    assert prorated_amount(Decimal(1_200_000), p, decimals=0) == Decimal(854795)


def test_half_cent_rounds_up() -> None:
    # 1.825 a year for 1 day of 365 is exactly 0.005, which rounds up to 0.01
    one_day = prorate(D(2023, 1, 1), D(2023, 1, 1), method=M.DAY)
    assert prorated_amount(Decimal("1.825"), one_day, decimals=2) == Decimal("0.01")


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        prorate(D(2023, 2, 1), D(2023, 1, 31), method=M.DAY)


dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31))
lengths = st.integers(min_value=0, max_value=1500)
prices = st.decimals(min_value=0, max_value=10_000_000, places=2)
methods = st.sampled_from(list(M))


def _months_spanned(start: date, end: date) -> int:
    months, stub, _ = split_months(start, end)
    return months + (1 if stub else 0)


@given(start=dates, length=lengths, method=methods, annual=prices)
def test_amount_between_zero_and_annual_times_term(start: date, length: int, method: M,
                                                   annual: Decimal) -> None:
    end = start + timedelta(days=length)
    p = prorate(start, end, method=method)
    amount = prorated_amount(annual, p, decimals=2)
    assert amount >= 0
    assert amount.as_tuple().exponent == -2
    term = _months_spanned(start, end)
    if method is M.DAY:
        # `day` counts real days: a leap day costs one 365th more (documented)
        assert amount <= (annual * p.days / 365).quantize(Decimal("0.01")) + Decimal("0.01")
        assert p.days <= term * 31
    else:
        assert amount <= annual * term / 12 + Decimal("0.005")


@given(start=dates, length=lengths, extra=st.integers(min_value=1, max_value=400),
       method=methods)
def test_never_decreases_when_the_end_moves_later(start: date, length: int, extra: int,
                                                  method: M) -> None:
    end = start + timedelta(days=length)
    shorter = prorate(start, end, method=method).fraction
    longer = prorate(start, end + timedelta(days=extra), method=method).fraction
    assert longer >= shorter


@given(end=dates, length=lengths, extra=st.integers(min_value=1, max_value=400),
       method=methods)
def test_never_decreases_when_the_start_moves_earlier(end: date, length: int, extra: int,
                                                      method: M) -> None:
    start = end - timedelta(days=length)
    shorter = prorate(start, end, method=method).fraction
    longer = prorate(start - timedelta(days=extra), end, method=method).fraction
    assert longer >= shorter


@given(start=dates, length=lengths)
def test_stub_is_less_than_its_month(start: date, length: int) -> None:
    months, stub, month_days = split_months(start, start + timedelta(days=length))
    assert months >= 0
    assert 0 <= stub < max(month_days, 1)


# CPQ's "Monthly + Daily": whole months from the start, then the days left / 365.
@pytest.mark.parametrize(("start", "end", "parts", "amount"), [
    # the worked example: Oct 15 → Jun 14 is 8 months, Jun 15 → Jun 30 16 days:
    # 12,000 × (8/12 + 16/365) = 8,000 + 526.03 (month_day: 17-day stub, 8,558.90)
    (D(2023, 10, 15), D(2024, 6, 30), (8, 16), "8526.03"),
    # CPQ's own example dates, Jan 1 2017 → Jan 10 2018: 12 months + 10 days
    # 12,000 × (12/12 + 10/365) = 12,000 + 328.77
    (D(2017, 1, 1), D(2018, 1, 10), (12, 10), "12328.77"),
    # Jan 31 → Feb 28 is one (clamped) month, Mar 1 → Mar 15 15 days: 1,000 + 493.15
    # (month_day counts back from the end: Feb 16 → Mar 15 + a 16-day stub = 1,526.03)
    (D(2023, 1, 31), D(2023, 3, 15), (1, 15), "1493.15"),
    (D(2023, 1, 1), D(2023, 1, 10), (0, 10), "328.77"),  # 12,000 × 10/365
    (D(2023, 3, 1), D(2024, 2, 29), (12, 0), "12000.00"),  # a full term, leap day included
    (D(2024, 2, 29), D(2025, 2, 28), (12, 0), "12000.00"),
])
def test_cpq_monthly_daily(start: date, end: date, parts: tuple[int, int],
                           amount: str) -> None:
    p = prorate(start, end, method=M.CPQ_MONTHLY_DAILY)
    assert (p.whole_months, p.stub_days) == parts
    assert prorated_amount(Decimal(12000), p, decimals=2) == Decimal(amount)
    assert p.fraction_text == (f"{parts[0]}/12 + {parts[1]}/365" if parts[1]
                               else f"{parts[0]}/12")


def test_month_day_keeps_its_leading_stub() -> None:
    """month_day stays as documented (8,558.90); CPQ's method is its own (8,526.03)."""
    p = prorate(START, END, method=M.MONTH_DAY)
    assert (p.whole_months, p.stub_days, prorated_amount(Decimal(12000), p, decimals=2)) == (
        8, 17, Decimal("8558.90"))
