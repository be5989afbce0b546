"""A backfill's window: contracts ending in it, and the whole of their open renewals."""

from datetime import date

import pytest

from sfrenew.core.domain import ExistingRenewal
from sfrenew.plan.planner import PlanScope, in_scope
from sfrenew.plan.records import AccountRecords
from tests.unit.core.builders import ACCOUNT, contract, existing

A = contract("800A", end=date(2027, 5, 20))  # before the window
B = contract("800B", end=date(2027, 6, 5))  # in it
C = contract("800C", end=date(2027, 6, 30))  # in it
D = contract("800D", end=date(2027, 7, 20))  # after it
WINDOW = PlanScope(contract_end_from=date(2027, 6, 1), contract_end_to=date(2027, 6, 30))
OURS_AB = existing("006AB", "800A", "800B", by_sfrenew=True, stage="Prospecting", key="ab")
OURS_D = existing("006D", "800D", by_sfrenew=True, stage="Prospecting", key="d")
WON_CD = existing("006CD", "800C", "800D", by_sfrenew=True, stage="Closed Won", closed=True)
THEIRS_CD = existing("006P", "800C", "800D", by_sfrenew=False, stage="Prospecting")


@pytest.mark.parametrize(("renewals", "scope", "expected"), [
    ((), PlanScope(), ["800A", "800B", "800C", "800D"]),  # not partial: everything
    ((), WINDOW, ["800B", "800C"]),
    # 800B's open renewal also holds 800A: planned whole, so it is not regrouped
    ((OURS_AB,), WINDOW, ["800A", "800B", "800C"]),
    # a renewal of contracts outside the window only, a closed one, a person's: no
    ((OURS_D,), WINDOW, ["800B", "800C"]),
    ((WON_CD,), WINDOW, ["800B", "800C"]),
    ((THEIRS_CD,), WINDOW, ["800B", "800C"]),
])
def test_in_scope(renewals: tuple[ExistingRenewal, ...], scope: PlanScope,
                  expected: list[str]) -> None:
    records = AccountRecords(account=ACCOUNT, contracts=[A, B, C, D],
                             existing_renewals=list(renewals))
    assert [c.id for c in in_scope(records, scope).contracts] == expected
