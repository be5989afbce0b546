"""Co-terming: groups by window, never across currencies, the four anchors, comparison."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from sfrenew.core.policy import AnchorPolicy, CotermPolicy
from sfrenew.core.rules.coterm import (
    CotermMember,
    anchor_end,
    anchor_ends,
    compare_anchors,
    gap_and_overlap,
    group_members,
)
from sfrenew.core.rules.term import term_end

D = date


def _m(cid: str, start: date, *, months: int = 12, annual: str = "1000",
       currency: str = "USD") -> CotermMember:
    return CotermMember(cid, currency, start, term_end(start, months), months, Decimal(annual))


A = _m("A", D(2024, 1, 1))  # natural end 2024-12-31
B = _m("B", D(2024, 1, 21), annual="5000")  # natural end 2025-01-20
C = _m("C", D(2024, 2, 15))  # natural end 2025-02-14


@pytest.mark.parametrize(("window", "expected"), [
    (60, [["A", "B", "C"]]),
    (45, [["A", "B", "C"]]),
    (44, [["A", "B"], ["C"]]),
    (19, [["A"], ["B"], ["C"]]),
])
def test_groups_within_the_window_of_the_first_start(window: int,
                                                     expected: list[list[str]]) -> None:
    groups = group_members([C, A, B], CotermPolicy(window_days=window))
    assert [[m.contract_id for m in g] for g in groups] == expected


def test_currencies_are_never_mixed() -> None:
    eur = _m("E", D(2024, 1, 5), currency="EUR")
    groups = group_members([A, eur, B], CotermPolicy(window_days=60))
    assert [[m.contract_id for m in g] for g in groups] == [["A", "B"], ["E"]]
    assert all(len({m.currency for m in g}) == 1 for g in groups)


def test_disabled_means_one_group_per_contract() -> None:
    groups = group_members([A, B, C], CotermPolicy(enabled=False))
    assert [len(g) for g in groups] == [1, 1, 1]


@pytest.mark.parametrize(("anchor", "end", "anchor_id"), [
    (AnchorPolicy.EARLIEST, D(2024, 12, 31), "A"),
    (AnchorPolicy.LATEST, D(2025, 2, 14), "C"),
    (AnchorPolicy.LARGEST, D(2025, 1, 20), "B"),
    (AnchorPolicy.CALENDAR, D(2024, 12, 31), None),
])
def test_anchor_policies(anchor: AnchorPolicy, end: date, anchor_id: str | None) -> None:
    result = anchor_end((A, B, C), anchor=anchor, policy=CotermPolicy(window_days=60))
    assert (result.end_date, result.anchor_contract_id, result.rolled_forward) == \
        (end, anchor_id, False)


def test_largest_tie_breaks_by_earlier_end_then_id() -> None:
    x = _m("X", D(2024, 1, 10), annual="5000")
    y = _m("Y", D(2024, 1, 5), annual="5000")
    assert anchor_end((y, x), anchor=AnchorPolicy.LARGEST,
                      policy=CotermPolicy()).anchor_contract_id == "Y"


@pytest.mark.parametrize(("month", "day", "min_days", "latest_start", "end"), [
    (6, 30, 30, D(2023, 10, 15), D(2024, 6, 30)),  # the DESIGN.md worked example
    (6, 30, 30, D(2024, 6, 10), D(2025, 6, 30)),  # would leave 21 days: next year
    (6, 30, 21, D(2024, 6, 10), D(2024, 6, 30)),
    (2, 29, 30, D(2024, 7, 1), D(2025, 2, 28)),  # Feb 29 clamps in common years
    (2, 29, 30, D(2023, 7, 1), D(2024, 2, 29)),
    (12, 31, 1, D(2024, 12, 31), D(2024, 12, 31)),
])
def test_calendar_anchor(month: int, day: int, min_days: int, latest_start: date,
                         end: date) -> None:
    policy = CotermPolicy(anchor=AnchorPolicy.CALENDAR, calendar_month=month, calendar_day=day,
                          calendar_min_days=min_days)
    member = _m("A", latest_start)
    assert anchor_end((member,), anchor=AnchorPolicy.CALENDAR, policy=policy).end_date == end


def test_an_end_before_a_start_is_rolled_forward_by_the_anchor_term() -> None:
    short = _m("S", D(2024, 1, 1), months=1)  # natural end 2024-01-31
    late = _m("L", D(2024, 2, 15), months=12)
    result = anchor_end((short, late), anchor=AnchorPolicy.EARLIEST,
                        policy=CotermPolicy(window_days=60))
    assert result.end_date == D(2024, 2, 29)
    assert result.rolled_forward


def test_gap_and_overlap_days() -> None:
    assert gap_and_overlap((A, B, C), D(2024, 12, 31)) == (20 + 45, 0)
    assert gap_and_overlap((A, B, C), D(2025, 2, 14)) == (0, 45 + 25)
    assert gap_and_overlap((A, B), D(2025, 1, 10)) == (10, 10)


def test_comparison_covers_every_policy_and_marks_the_chosen_one() -> None:
    priced: list[date] = []

    def amount_for_end(end: date) -> Decimal:
        priced.append(end)
        return Decimal((end - D(2024, 1, 1)).days)

    ends = anchor_ends((A, B, C), CotermPolicy())
    outcomes = compare_anchors((A, B, C), ends, chosen=AnchorPolicy.LARGEST,
                               amount_for_end=amount_for_end)
    assert [o.policy for o in outcomes] == list(AnchorPolicy)
    assert [o.chosen for o in outcomes] == [False, False, True, False]
    assert len(priced) == len(set(priced)) == 3  # earliest and calendar share one end
    by_policy = {o.policy: o for o in outcomes}
    assert by_policy[AnchorPolicy.EARLIEST].gap_days == 65
    assert by_policy[AnchorPolicy.LATEST].overlap_days == 70
    assert by_policy[AnchorPolicy.LATEST].amount > by_policy[AnchorPolicy.EARLIEST].amount
    assert list(ends) == list(AnchorPolicy)


def test_members_start_sorted() -> None:
    groups = group_members([B, A], CotermPolicy())
    assert groups[0][0].start == A.start
    assert groups[0][0].start + timedelta(days=20) == B.start
