"""Co-terming: groups by window, never across currencies, the four anchors, comparison."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfrenew.core.policy import AnchorPolicy, CotermPolicy, TermCompatibility
from sfrenew.core.rules.coterm import (
    CotermMember,
    TermChange,
    anchor_end,
    anchor_ends,
    compare_anchors,
    gap_and_overlap,
    group_keeping,
    group_members,
    term_changes,
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


ANY = TermCompatibility.ANY
SAME = TermCompatibility.SAME_TERM
Y12 = _m("Y12", D(2027, 4, 1))  # natural end 2028-03-31
L12 = _m("L12", D(2027, 5, 11))  # 40 days later; natural end 2028-05-10
Y36 = _m("Y36", D(2027, 5, 11), months=36)  # natural end 2030-05-10
B36 = _m("B36", D(2027, 4, 21), months=36)  # natural end 2030-04-20


def _ids(groups: list[tuple[CotermMember, ...]]) -> list[list[str]]:
    return [[m.contract_id for m in g] for g in groups]


@pytest.mark.parametrize(("members", "policy", "expected"), [
    # the same term, 40 days apart: one group (the later line ends 40 days short)
    ((Y12, L12), CotermPolicy(), [["Y12", "L12"]]),
    # a 36-month and a 12-month term: never one group by default
    ((Y12, Y36), CotermPolicy(), [["Y12"], ["Y36"]]),
    ((Y12, Y36, B36), CotermPolicy(), [["Y12"], ["B36", "Y36"]]),
    # any terms, but no term change: the 36 would end 2028-03-31, 770 days short → alone
    ((Y12, Y36), CotermPolicy(term_compatibility=ANY), [["Y12"], ["Y36"]]),
    # ... and the two 36s left over still co-term with each other (20 days apart)
    ((Y12, Y36, B36), CotermPolicy(term_compatibility=ANY), [["Y12"], ["B36", "Y36"]]),
    # latest anchor: Y12 would run to 2030-05-10 (770 days more) → alone
    ((Y12, Y36), CotermPolicy(term_compatibility=ANY, anchor=AnchorPolicy.LATEST),
     [["Y12"], ["Y36"]]),
    # a policy that allows the change
    ((Y12, Y36), CotermPolicy(term_compatibility=ANY, allow_term_change=True),
     [["Y12", "Y36"]]),
    # the calendar anchor is a term change by design: grouped as before, then flagged
    ((Y12, L12), CotermPolicy(anchor=AnchorPolicy.CALENDAR), [["Y12", "L12"]]),
])
def test_groups_by_term_and_never_move_an_end_beyond_the_window(
        members: tuple[CotermMember, ...], policy: CotermPolicy,
        expected: list[list[str]]) -> None:
    assert _ids(group_members(members, policy)) == expected


def test_same_term_ends_drifting_past_the_window_by_month_lengths_split() -> None:
    """Starts 30 days apart, but 12-month ends 31 days apart (Feb 2028 has 29 days)."""
    a = _m("A", D(2027, 2, 1))  # natural end 2028-01-31
    b = _m("B", D(2027, 3, 3))  # natural end 2028-03-02: 31 days after A's
    assert _ids(group_members((a, b), CotermPolicy(window_days=30))) == [["A"], ["B"]]
    assert _ids(group_members((a, b), CotermPolicy(window_days=31))) == [["A", "B"]]


@pytest.mark.parametrize(("end", "window", "expected"), [
    (D(2028, 3, 31), 60, [("Y36", -770)]),  # 2030-05-10 → 2028-03-31
    (D(2028, 3, 31), 800, []),
    (D(2030, 5, 10), 60, [("Y12", 770)]),  # 2028-03-31 → 2030-05-10
    (D(2028, 5, 10), 60, [("Y36", -730)]),  # Y12's +40 days is within the window
])
def test_term_changes_are_moves_beyond_the_window(end: date, window: int,
                                                  expected: list[tuple[str, int]]) -> None:
    found = term_changes((Y12, Y36), end, window_days=window)
    assert [(c.contract_id, c.shift_days) for c in found] == expected
    assert all(isinstance(c, TermChange) and c.end_date == end for c in found)


@settings(max_examples=80, deadline=None)
@given(spec=st.lists(st.tuples(st.integers(0, 400), st.sampled_from([3, 6, 12, 24, 36])),
                     min_size=1, max_size=8),
       anchor=st.sampled_from([AnchorPolicy.EARLIEST, AnchorPolicy.LATEST,
                               AnchorPolicy.LARGEST]),
       terms=st.sampled_from(list(TermCompatibility)), window=st.integers(0, 120))
def test_no_group_changes_a_term_unless_the_policy_allows_it(
        spec: list[tuple[int, int]], anchor: AnchorPolicy, terms: TermCompatibility,
        window: int) -> None:
    members = [_m(f"M{i}", D(2027, 1, 31) + timedelta(days=d), months=m,
                  annual=str(1000 + 7 * i)) for i, (d, m) in enumerate(spec)]
    policy = CotermPolicy(anchor=anchor, term_compatibility=terms, window_days=window)
    groups = group_members(members, policy)
    assert sorted(m.contract_id for g in groups for m in g) == sorted(
        m.contract_id for m in members)
    for group in groups:
        end = anchor_end(group, anchor=anchor, policy=policy).end_date
        assert term_changes(group, end, window_days=window) == ()
        if terms is SAME:
            assert len({m.term_months for m in group}) == 1


# Z starts 2023-12-06, 26 days before A (A +0, B +20, C +45 days).
Z = _m("Z", D(2023, 12, 6))


@pytest.mark.parametrize(("members", "kept", "window", "expected"), [
    # No renewal yet: group_members' groups (from A: B at +20 joins, C at +45 > 44 not).
    ((A, B, C), (), 44, [["A", "B"], ["C"]]),
    # A backfill whose window missed A grouped B and C (25 days apart). The nightly now
    # sees A too: B and C stay together; A would split them (C is 45 days after A), so
    # A renews on its own.
    ((A, B, C), (("B", "C"),), 44, [["A"], ["B", "C"]]),
    # A new contract joins an existing renewal when the rules keep the joined group
    # whole: B (+20) joins A's renewal, C (+45 > 44) does not; under a 60-day window
    # both do (the anchor, A's end 2024-12-31, moves C's end 45 days: within 60).
    ((A, B, C), (("A",),), 44, [["A", "B"], ["C"]]),
    ((A, B, C), (("A",),), 60, [["A", "B", "C"]]),
    # Z (26 days before A) joins A's renewal, then B (46 days after Z); C (71) not.
    ((Z, A, B, C), (("A",),), 60, [["Z", "A", "B"], ["C"]]),
    # Two renewals naming one contract: the first (by opportunity Id) keeps it.
    ((A, B, C), (("A", "B"), ("B", "C")), 60, [["A", "B"], ["C"]]),
    # A contract of the renewal that is not a candidate now is simply absent.
    ((A, B, C), (("A", "GONE"),), 19, [["A"], ["B"], ["C"]]),
])
def test_group_keeping_keeps_existing_renewals_whole(
        members: tuple[CotermMember, ...], kept: tuple[tuple[str, ...], ...], window: int,
        expected: list[list[str]]) -> None:
    policy = CotermPolicy(window_days=window)
    groups = group_keeping(list(reversed(members)), policy, kept)
    assert [[m.contract_id for m in g] for g in groups] == expected


@given(st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=8, unique=True),
       st.integers(min_value=0, max_value=90))
@settings(max_examples=60, deadline=None)
def test_group_keeping_partitions_and_keeps_every_kept_group_whole(
        offsets: list[int], window: int) -> None:
    members = [_m(f"K{i}", D(2024, 1, 1) + timedelta(days=o)) for i, o in enumerate(offsets)]
    policy = CotermPolicy(window_days=window)
    for kept_group in group_members(members, CotermPolicy(window_days=90)):
        kept = [[m.contract_id for m in kept_group]]
        groups = group_keeping(members, policy, kept)
        ids = [m.contract_id for g in groups for m in g]
        assert sorted(ids) == sorted(m.contract_id for m in members)  # a partition
        # every kept group is within one group, unless the rules split it themselves
        holding = {i for i, g in enumerate(groups) for m in g if m.contract_id in kept[0]}
        assert len(holding) == len(group_members(list(kept_group), policy))
