"""Adoption: which hand-made Renewal opportunity a contract adopts (table-driven)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.domain import ExistingRenewal
from sfrenew.core.policy import AdoptionPolicy
from sfrenew.core.rules.adoption import adopt
from tests.unit.core.builders import contract

END = date(2026, 6, 30)
POLICY = AdoptionPolicy(close_date_window_days=45)


def _opp(opp_id: str, days: int | None, *, renewal: bool = True, closed: bool = False,
         contracts: tuple[str, ...] = (), by_sfrenew: bool = False) -> ExistingRenewal:
    return ExistingRenewal(opportunity_id=opp_id, contract_ids=contracts,
                           created_by_sfrenew=by_sfrenew, stage="Prospecting",
                           is_closed=closed, key="k" if by_sfrenew else None,
                           close_date=None if days is None else END + timedelta(days=days),
                           renewal_type=renewal)


@pytest.mark.parametrize(("candidates", "chosen", "days", "others"), [
    # The module's worked example: -10 (2026-06-20), +15 (2026-07-15), +92 (outside).
    ((_opp("A", -10), _opp("B", 15), _opp("C", 92)), "A", -10, ("B",)),
    ((_opp("A", 45),), "A", 45, ()),  # the window's edge is inside: |45| <= 45
    ((_opp("A", 46),), None, None, ()),  # one day past it is not
    ((_opp("A", -46),), None, None, ()),
    # Equal distances: the earlier close date, then the smaller Id.
    ((_opp("B", 5), _opp("A", -5)), "A", -5, ("B",)),
    ((_opp("B", 5), _opp("A", 5)), "A", 5, ("B",)),
    # Not candidates: not of type Renewal, closed, naming a contract, sfrenew's own, no date.
    ((_opp("A", 0, renewal=False),), None, None, ()),
    ((_opp("A", 0, closed=True),), None, None, ()),
    ((_opp("A", 0, contracts=("800X",)),), None, None, ()),
    ((_opp("A", 0, by_sfrenew=True),), None, None, ()),
    ((_opp("A", None),), None, None, ()),
])
def test_the_nearest_open_renewal_in_the_window_is_adopted(
        candidates: tuple[ExistingRenewal, ...], chosen: str | None, days: int | None,
        others: tuple[str, ...]) -> None:
    found = adopt(contract(end=END), candidates, POLICY)
    if chosen is None:
        assert found is None
        return
    assert found is not None
    assert (found.opportunity_id, found.days_from_end, found.others) == (chosen, days, others)
    assert found.close_date == END + timedelta(days=days or 0)


def test_a_contract_without_end_date_adopts_nothing() -> None:
    assert adopt(contract(end=None), (_opp("A", 0),), POLICY) is None


def test_a_zero_window_adopts_only_on_the_end_date() -> None:
    policy = AdoptionPolicy(close_date_window_days=0)
    assert adopt(contract(end=END), (_opp("A", 1),), policy) is None
    found = adopt(contract(end=END), (_opp("A", 1), _opp("B", 0)), policy)
    assert found is not None
    assert found.opportunity_id == "B"


@given(st.lists(st.integers(min_value=-200, max_value=200), min_size=1, max_size=8),
       st.integers(min_value=0, max_value=120))
def test_the_adopted_one_is_never_farther_than_any_candidate_in_the_window(
        offsets: list[int], window: int) -> None:
    candidates = [_opp(f"O{i}", d) for i, d in enumerate(offsets)]
    found = adopt(contract(end=END), candidates, AdoptionPolicy(window))
    inside = [d for d in offsets if abs(d) <= window]
    if not inside:
        assert found is None
        return
    assert found is not None
    assert abs(found.days_from_end) == min(abs(d) for d in inside)
    assert len(found.others) == len(inside) - 1
