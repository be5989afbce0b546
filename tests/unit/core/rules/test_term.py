"""The renewal term and the month-end rule; eligibility."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.domain import Contract, ExistingRenewal
from sfrenew.core.policy import EligibilityPolicy
from sfrenew.core.rules.term import (
    Ineligibility,
    add_months,
    days_in_month,
    eligibility,
    is_month_end,
    natural_renewal,
    renewal_term_months,
    term_end,
)
from tests.unit.core.builders import existing

D = date


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2023, 1, 15), 1, D(2023, 2, 14)),
        (D(2023, 1, 1), 12, D(2023, 12, 31)),
        (D(2023, 1, 1), 1, D(2023, 1, 31)),
        # starts late in January: February is too short, the term ends on its last day
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 30), 1, D(2023, 2, 28)),
        (D(2024, 1, 30), 1, D(2024, 2, 29)),
        (D(2023, 1, 29), 1, D(2023, 2, 28)),
        (D(2024, 1, 29), 1, D(2024, 2, 28)),  # Feb 29 exists: the day before it
        (D(2023, 3, 31), 1, D(2023, 4, 30)),
        (D(2023, 5, 31), 1, D(2023, 6, 30)),
        (D(2023, 8, 31), 1, D(2023, 9, 30)),
        (D(2023, 10, 31), 1, D(2023, 11, 30)),
        (D(2023, 12, 31), 2, D(2024, 2, 29)),
        # leap years
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2023, 3, 1), 12, D(2024, 2, 29)),
        (D(2024, 3, 1), 12, D(2025, 2, 28)),
        (D(2023, 2, 28), 12, D(2024, 2, 27)),
        (D(2024, 2, 28), 12, D(2025, 2, 27)),
        (D(2024, 2, 29), 48, D(2028, 2, 28)),
        (D(2100, 1, 31), 1, D(2100, 2, 28)),  # 2100 is not a leap year
        (D(2000, 1, 31), 1, D(2000, 2, 29)),  # 2000 is
        # multi-year and long terms
        (D(2023, 10, 15), 36, D(2026, 10, 14)),
        (D(2023, 8, 31), 6, D(2024, 2, 29)),
    ],
)
def test_term_end_table(start: date, months: int, end: date) -> None:
    assert term_end(start, months) == end


def _month_ends(year: int) -> list[date]:
    return [D(year, m, days_in_month(year, m)) for m in range(1, 13)]


@pytest.mark.parametrize("start", _month_ends(2023) + _month_ends(2024))
@pytest.mark.parametrize("months", [1, 2, 3, 6, 12, 13, 24])
def test_every_month_end_start(start: date, months: int) -> None:
    """A term starting on a month's last day never loses a day and never overlaps."""
    end = term_end(start, months)
    target = add_months(start, months)
    if start.day > days_in_month(target.year, target.month) or start.day == target.day:
        # either clamped to the target month's end, or the day before the anniversary
        assert end in (D(target.year, target.month, days_in_month(target.year, target.month)),
                       target - timedelta(days=1))
    next_start = end + timedelta(days=1)
    assert next_start.day == start.day or next_start.day == 1


@pytest.mark.parametrize(("day", "expected"), [
    (D(2023, 2, 28), True), (D(2024, 2, 28), False), (D(2024, 2, 29), True),
    (D(2023, 4, 30), True), (D(2023, 12, 31), True), (D(2023, 12, 30), False),
])
def test_is_month_end(day: date, expected: bool) -> None:
    assert is_month_end(day) is expected


@pytest.mark.parametrize(("day", "months", "expected"), [
    (D(2023, 1, 31), 1, D(2023, 2, 28)), (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2024, 3, 31), -1, D(2024, 2, 29)), (D(2023, 12, 15), 1, D(2024, 1, 15)),
    (D(2024, 1, 15), -13, D(2022, 12, 15)),
])
def test_add_months_clamps(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31))


@given(start=dates, months=st.integers(min_value=1, max_value=120))
def test_consecutive_terms_join_without_gap_or_overlap(start: date, months: int) -> None:
    end = term_end(start, months)
    assert end >= start
    # the term never runs past the anniversary nor ends more than 3 days before it
    anniversary = add_months(start, months)
    assert anniversary - timedelta(days=4) <= end < anniversary + timedelta(days=1)
    following = natural_renewal(end, months)
    assert following.start == end + timedelta(days=1)
    assert following.end > following.start


@given(start=dates, months=st.integers(min_value=1, max_value=60))
def test_day_one_starts_end_on_month_ends(start: date, months: int) -> None:
    first = start.replace(day=1)
    assert is_month_end(term_end(first, months))


def _contract(**overrides: object) -> Contract:
    values: dict[str, object] = {
        "id": "800A", "account_id": "001A", "number": "00000001", "status": "Activated",
        "currency": "USD", "start_date": D(2023, 1, 1), "end_date": D(2023, 12, 31),
        "lines": (),
    }
    values.update(overrides)
    return Contract(**values)  # type: ignore[arg-type]


TODAY = D(2023, 11, 1)
POLICY = EligibilityPolicy(frozenset({"Activated"}), 90)


@pytest.mark.parametrize(("overrides", "renewals", "expected"), [
    ({}, (), None),
    ({"end_date": TODAY}, (), None),
    ({"end_date": TODAY + timedelta(days=90)}, (), None),
    ({"end_date": TODAY + timedelta(days=91)}, (), Ineligibility.BEYOND_HORIZON),
    ({"end_date": TODAY - timedelta(days=1)}, (), Ineligibility.ALREADY_ENDED),
    ({"end_date": None}, (), Ineligibility.MISSING_END_DATE),
    ({"status": "Draft"}, (), Ineligibility.STATUS_NOT_ELIGIBLE),
    ({"do_not_renew": True}, (), Ineligibility.DO_NOT_RENEW),
    ({}, (existing("006P", "800A", by_sfrenew=False, stage="Prospecting"),),
     Ineligibility.ALREADY_RENEWED_BY_PERSON),
    ({}, (existing("006S", "800A", by_sfrenew=True, stage="Closed Won",
                          closed=True),), Ineligibility.RENEWAL_CLOSED),
    ({}, (existing("006S", "800A", by_sfrenew=True, stage="Prospecting"),),
     None),
])
def test_eligibility(overrides: dict[str, object], renewals: tuple[ExistingRenewal, ...],
                     expected: Ineligibility | None) -> None:
    assert eligibility(_contract(**overrides), today=TODAY, policy=POLICY,
                       renewals=renewals) is expected


@pytest.mark.parametrize(("renewal_term", "term", "expected"), [
    (24, 12, 24), (None, 36, 36), (None, None, 12),
])
def test_renewal_term_precedence(renewal_term: int | None, term: int | None,
                                 expected: int) -> None:
    contract = _contract(renewal_term_months=renewal_term, term_months=term)
    assert renewal_term_months(contract, default_months=12) == expected
