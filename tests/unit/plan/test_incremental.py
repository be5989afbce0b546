"""The plan's fingerprint (when a full pass is made) and an account's saved outcome."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from sfrenew.config import load_config
from sfrenew.core.policy import EligibilityPolicy, RulesPolicy, SignalName
from sfrenew.mapping.coerce import FieldShape
from sfrenew.plan.incremental import AccountOutcome, plan_fingerprint

ROOT = Path(__file__).resolve().parents[3]
_PRINT = """
import sys
from pathlib import Path
from sfrenew.config import load_config
from sfrenew.core.policy import EligibilityPolicy
from dataclasses import replace
from sfrenew.plan.incremental import plan_fingerprint
config = load_config(Path(sys.argv[1]))
rules = replace(config.rules, eligibility=EligibilityPolicy(
    statuses=frozenset({"Activated", "Renewing", "Signed", "Active", "Live"})))
print(plan_fingerprint(mapping=config.mapping, policy=rules, shapes={}))
"""


def _fingerprint(policy: RulesPolicy, **shapes: FieldShape) -> str:
    config = load_config(ROOT / "config.example.yaml")
    return plan_fingerprint(mapping=config.mapping, policy=policy,
                            shapes={("opportunity", k): v for k, v in shapes.items()})


def test_the_same_config_gives_the_same_fingerprint_in_every_process() -> None:
    """Sets are ordered by the process's string hashing: the fingerprint must not be."""
    found = {subprocess.run([sys.executable, "-c", _PRINT, str(ROOT / "config.example.yaml")],
                            capture_output=True, text=True, check=True, cwd=ROOT,
                            env={"PYTHONHASHSEED": str(seed), "PATH": "",
                                 "PYTHONPATH": str(ROOT)}).stdout
             for seed in (1, 2, 3)}
    assert len(found) == 1


def test_rules_mapping_shapes_change_the_fingerprint() -> None:
    config = load_config(ROOT / "config.example.yaml")
    base = config.rules
    first = _fingerprint(base)
    assert _fingerprint(base) == first
    assert _fingerprint(replace(base, eligibility=EligibilityPolicy(horizon_days=30))) != first
    quieter = replace(base.risk, signals=tuple(
        replace(s, threshold=Decimal(61)) if s.name is SignalName.NO_RECENT_ACTIVITY else s
        for s in base.risk.signals))
    assert _fingerprint(replace(base, risk=quieter)) != first
    assert _fingerprint(base, amount=FieldShape("currency", scale=2)) != first


def test_an_outcome_round_trips_through_json() -> None:
    outcome = AccountOutcome(account_id="001A", line='{"account_id":"001A"}\n',
                             counts={"Opportunity": {"create": 1, "leave": 0}}, kept_edits=2,
                             skipped=1, skipped_by_reason={"beyond_horizon": 3}, problems=1,
                             routing=1, lapsed=[{"key": "k", "days_overdue": 3}],
                             dirty=[{"record_id": "800A"}], writes=True)
    assert AccountOutcome.from_json(outcome.to_json()) == outcome
