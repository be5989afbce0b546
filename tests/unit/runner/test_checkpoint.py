"""The checkpoint: a typed, versioned value; the old dict migrates, unknown versions are refused."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.plan import PlanTotals
from sfrenew.runner import CHECKPOINT_VERSION, Checkpoint, CheckpointVersionError, Phase
from sfrenew.runner._checkpoint import PlanProgress, PlanSummary, RunSummary

UPPER = datetime(2026, 3, 10, 9, 0, 1, tzinfo=UTC)

# What sfrenew saved before checkpoints were versioned (apply/session.py's dict), for a
# run stopped while planning and one stopped while applying.
OLD_STOPPED_PLANNING: dict[str, Any] = {
    "upper": "2026-03-10T09:00:01+00:00",
    "pulled_objects": ["Account", "Contract"],
    "phase": "pulled",
    "plan": {"counts": {"Opportunity": {"create": 3}}, "accounts": 2, "kept_edits": 0,
             "skipped_contracts": {"beyond_horizon": 4}, "problems": 0},
    "plan_progress": {"after": "001000000000000002AAA", "totals": {
        "counts": {"Opportunity": {"create": 3}}, "accounts": 2, "kept_edits": 0,
        "skipped": 4, "skipped_by_reason": {"beyond_horizon": 4}, "problems": 0,
        "stopped": True, "last_account": "001000000000000002AAA"}},
    "summary": {"rejected": 1, "stale": [["Opportunity", "k1"]],
                "message": "stopped on request"},
}
OLD_APPLYING: dict[str, Any] = {
    "upper": "2026-03-10T09:00:01+00:00", "pulled_objects": [], "phase": "applying",
    "plan_file": "/state/runs/r-1/plan.jsonl",
    "plan": {"counts": {}, "accounts": 5, "kept_edits": 1, "skipped_contracts": {},
             "problems": 2},
}


def test_an_old_checkpoint_migrates_to_the_typed_value() -> None:
    planning = Checkpoint.from_json(OLD_STOPPED_PLANNING, run_id="r-1")
    assert planning == Checkpoint(
        phase=Phase.PULLED, upper=UPPER, pulled_objects=("Account", "Contract"),
        plan=PlanSummary(counts={"Opportunity": {"create": 3}}, accounts=2, kept_edits=0,
                         skipped_contracts={"beyond_horizon": 4}, problems=0),
        plan_progress=PlanProgress(after="001000000000000002AAA", totals=PlanTotals(
            counts={"Opportunity": {"create": 3}}, accounts=2, skipped=4,
            skipped_by_reason={"beyond_horizon": 4}, stopped=True,
            last_account="001000000000000002AAA")),
        summary=RunSummary(rejected=1, stale=(("Opportunity", "k1"),),
                           message="stopped on request"))
    applying = Checkpoint.from_json(OLD_APPLYING)
    assert applying.phase is Phase.APPLYING
    assert applying.plan_file == "/state/runs/r-1/plan.jsonl"
    assert applying.version == CHECKPOINT_VERSION == 1
    # Saved again, it is the same JSON plus its version: readers of the runs row
    # (``sfrenew runs show``) see the keys they always saw.
    # The keys added since (routing fallbacks, lapsed renewals, dirty records) come with
    # their defaults.
    added_plan = {"routing": 0, "lapsed": 0, "lapsed_renewals": [], "dirty": 0,
                  "dirty_records": []}
    old_totals = OLD_STOPPED_PLANNING["plan_progress"]["totals"]
    added_totals = {k: v for k, v in dataclasses.asdict(PlanTotals()).items()
                    if k not in old_totals}
    assert planning.to_json() == {
        **OLD_STOPPED_PLANNING, "version": 1,
        "plan": {**OLD_STOPPED_PLANNING["plan"], **added_plan},
        "plan_progress": {"after": "001000000000000002AAA",
                          "totals": {**old_totals, **added_totals}}}
    # (an empty list of pulled objects is left out, as no key at all reads the same)
    assert applying.to_json() == {**{k: v for k, v in OLD_APPLYING.items()
                                     if k != "pulled_objects"}, "version": 1,
                                  "plan": {**OLD_APPLYING["plan"], **added_plan}}


def test_no_checkpoint_yet_is_the_start() -> None:
    assert Checkpoint.from_json(None) == Checkpoint.from_json({}) == Checkpoint()
    assert Checkpoint().to_json() == {"version": 1}


@pytest.mark.parametrize("version", [2, 99, -1, "1", None])
def test_an_unknown_version_is_refused_with_what_to_do(version: object) -> None:
    with pytest.raises(CheckpointVersionError) as info:
        Checkpoint.from_json({**OLD_APPLYING, "version": version}, run_id="r-7")
    message = str(info.value)
    assert "run r-7" in message
    assert f"version {version!r}" in message
    assert "resume it with the sfrenew that started it, or start a new run" in message


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@given(phase=st.none() | st.sampled_from(Phase),
       upper=st.none() | st.datetimes(timezones=st.just(UTC)),
       pulled=st.lists(_names, max_size=4).map(tuple),
       counts=st.dictionaries(_names, st.dictionaries(_names, st.integers(0, 10**6))),
       rejected=st.integers(0, 1000),
       plan_file=st.none() | _names)
def test_saved_and_read_back_is_the_same_value(
        phase: Phase | None, upper: datetime | None, pulled: tuple[str, ...],
        counts: dict[str, dict[str, int]], rejected: int, plan_file: str | None) -> None:
    value = Checkpoint(phase=phase, upper=upper, pulled_objects=pulled,
                       plan=PlanSummary(counts=counts, accounts=len(counts)),
                       plan_file=plan_file, summary=RunSummary(rejected=rejected))
    saved = json.loads(json.dumps(value.to_json()))  # through the store's JSON column
    assert Checkpoint.from_json(saved) == value
