"""The renewal term and the month-end rule; eligibility."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.domain import Contract, ContractLine, ExistingRenewal
from sfrenew.core.policy import EligibilityPolicy
from sfrenew.core.rules.term import (
    Ineligibility,
    add_months,
    days_in_month,
    describe_length,
    eligibility,
    is_month_end,
    months_and_days,
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
OURS = existing("006S", "800A", by_sfrenew=True, stage="Prospecting", key="k")
OURS_WON = existing("006S", "800A", by_sfrenew=True, stage="Closed Won", closed=True, key="k")


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
    # month-to-month: a renewal term below min_term_months (3); 3 itself renews
    ({"term_months": 1}, (), Ineligibility.BELOW_MIN_TERM),
    ({"term_months": 2}, (), Ineligibility.BELOW_MIN_TERM),
    ({"term_months": 3}, (), None),
    ({"term_months": 12, "renewal_term_months": 1}, (), Ineligibility.BELOW_MIN_TERM),
    ({"term_months": 1, "renewal_term_months": 12}, (), None),
    ({"term_months": 0}, (), None),  # not short but invalid: the planner says invalid_term
    # told whatever the end date: an evergreen contract often has none
    ({"term_months": 1, "end_date": TODAY + timedelta(days=400)}, (),
     Ineligibility.BELOW_MIN_TERM),
    ({"evergreen": True, "end_date": None}, (), Ineligibility.EVERGREEN),
    ({"lines": (ContractLine(id="L1", product_id="P", product_name="P", quantity=Decimal(1),
                             annual_price=Decimal(1), evergreen=True),)}, (),
     Ineligibility.EVERGREEN),
    ({"evergreen": True, "do_not_renew": True}, (), Ineligibility.DO_NOT_RENEW),
    # An open renewal sfrenew made stays its own, whatever window the run looks at:
    # far ahead (a backfill made it) or after the contract ended (lapsed, unsigned).
    ({"end_date": TODAY + timedelta(days=400)}, (OURS,), None),
    ({"end_date": TODAY - timedelta(days=30)}, (OURS,), None),
    # ... but not once it is closed, nor for a contract marked do-not-renew.
    ({"end_date": TODAY - timedelta(days=30)}, (OURS_WON,), Ineligibility.RENEWAL_CLOSED),
    ({"end_date": TODAY - timedelta(days=30), "do_not_renew": True}, (OURS,),
     Ineligibility.DO_NOT_RENEW),
    ({"end_date": None}, (OURS,), Ineligibility.MISSING_END_DATE),
])
def test_eligibility(overrides: dict[str, object], renewals: tuple[ExistingRenewal, ...],
                     expected: Ineligibility | None) -> None:
    assert eligibility(_contract(**overrides), today=TODAY, policy=POLICY,
                       renewals=renewals) is expected


@pytest.mark.parametrize(("policy", "overrides", "expected"), [
    (EligibilityPolicy(min_term_months=1), {"term_months": 1}, None),
    (EligibilityPolicy(renew_evergreen=True), {"evergreen": True}, None),
])
def test_knobs_renew_self_renewing_contracts(policy: EligibilityPolicy,
                                             overrides: dict[str, object],
                                             expected: Ineligibility | None) -> None:
    assert eligibility(_contract(**overrides), today=TODAY, policy=policy) is expected


@pytest.mark.parametrize(("start", "end", "expected"), [
    (D(2027, 3, 3), D(2028, 2, 11), (11, 9)),  # 2028-02-02 is 11 months; +9 days
    (D(2027, 4, 1), D(2028, 3, 31), (12, 0)),
    (D(2027, 5, 11), D(2028, 3, 31), (10, 21)),  # 10 months to 2028-03-10, +21 days
    (D(2024, 1, 31), D(2024, 2, 29), (1, 0)),  # the month-end rule: Jan 31 + 1 month
    (D(2024, 1, 31), D(2024, 2, 28), (0, 29)),
    (D(2024, 1, 1), D(2023, 12, 31), (0, 0)),  # empty: the day before the start
    (D(2027, 3, 3), D(2030, 3, 2), (36, 0)),
])
def test_months_and_days(start: date, end: date, expected: tuple[int, int]) -> None:
    assert months_and_days(start, end) == expected


@pytest.mark.parametrize(("months", "days", "text"), [
    (11, 9, "11 months and 9 days"), (12, 0, "12 months"), (1, 0, "1 month"),
    (0, 20, "20 days"), (0, 1, "1 day"), (1, 1, "1 month and 1 day"), (0, 0, "0 days"),
])
def test_describe_length(months: int, days: int, text: str) -> None:
    assert describe_length(months, days) == text


@pytest.mark.parametrize(("renewal_term", "term", "expected"), [
    (24, 12, 24), (None, 36, 36), (None, None, 12),
])
def test_renewal_term_precedence(renewal_term: int | None, term: int | None,
                                 expected: int) -> None:
    contract = _contract(renewal_term_months=renewal_term, term_months=term)
    assert renewal_term_months(contract, default_months=12) == expected
