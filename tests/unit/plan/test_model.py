"""The plan file: a value that round-trips exactly, with a refused unknown version."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sfrenew.core.changeset import ChangeKind, FieldChange, KeptEdit, RecordChange, RecordRef
from sfrenew.plan import AccountPlan, PlanFileError, PlanHeader, RenewalSummary, iter_accounts
from sfrenew.plan.model import read_header, write_account, write_header


def _account() -> AccountPlan:
    return AccountPlan(
        account_id="001A", account_name="Acme",
        renewals=(RenewalSummary(key="k1", name="Acme renewal", start_date="2027-01-01",
                                 end_date="2027-12-31", amount="1200.00", currency="USD",
                                 risk="Low", forecast="Pipeline", contracts=("800A",), lines=1,
                                 tasks=2, explanation="why"),),
        changes=(
            RecordChange(kind=ChangeKind.CREATE, object="OpportunityLineItem", key="l1",
                         reason="new renewal record",
                         changes=(FieldChange("UnitPrice", None, Decimal("1260.50")),
                                  FieldChange("ServiceDate", None, "2027-01-01")),
                         refs=(("OpportunityId", RecordRef("Opportunity", "k1")),),
                         account_id="001A"),
            RecordChange(kind=ChangeKind.LEAVE, object="Task", key="t1", sf_id="00T1",
                         reason="kept rep edit on ActivityDate",
                         kept_edits=(KeptEdit("ActivityDate", date(2027, 1, 5), "2026-12-01"),),
                         expected_modstamp="2026-11-24T08:00:00+00:00"),
        ),
        skipped=({"contract_id": "800B", "reason": "missing_end_date", "detail": "no end"},),
        problems=({"object": "Contract", "record_id": "800C", "field": "EndDate",
                   "message": "not a date"},))


def test_a_plan_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    header = PlanHeader(run_id="r-1", created_at="2026-11-24T08:00:00+00:00",
                        fingerprint="abc", today="2026-11-24",
                        counts={"Task": {"create": 0, "leave": 1}}, accounts=1)
    with path.open("w", encoding="utf-8") as out:
        write_header(out, header)
        write_account(out, _account())
    assert read_header(path) == header
    assert list(iter_accounts(path)) == [_account()]
    change = next(iter_accounts(path)).changes[0]
    assert change.changes[0].after == Decimal("1260.50")  # exact, not a float


def test_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_text('{"format": "sfrenew-plan", "version": 99}\n', encoding="utf-8")
    with pytest.raises(PlanFileError, match="version 99 is not supported"):
        read_header(path)
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match="not a plan file"):
        read_header(path)
