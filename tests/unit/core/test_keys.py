"""The key formulas: one definition each (sfrenew/core/keys.py), used by the planner."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from hashlib import blake2b
from pathlib import Path

from sfrenew.core import keys
from sfrenew.core.keys import key_of, line_key, renewal_key, task_key
from sfrenew.core.planner import plan_account
from sfrenew.core.policy import RulesPolicy
from tests.unit.core.builders import ACCOUNT, contract, line

CORE = Path(keys.__file__).parent


def _digest(text: str) -> str:
    return blake2b(text.encode(), digest_size=12).hexdigest()


def test_each_key_is_its_parts_joined_by_the_unit_separator() -> None:
    renewal = renewal_key("001A", contract_ids=["800B", "800A"], start=date(2024, 4, 1))
    # contracts sorted, the date in ISO form
    assert renewal == _digest("renewal\x1f001A\x1f800A,800B\x1f2024-04-01")
    assert line_key(renewal, contract_id="800A", source_line_id="L1") == \
        _digest(f"line\x1f{renewal}\x1f800A\x1fL1")
    assert task_key(renewal, "kickoff") == _digest(f"task\x1f{renewal}\x1fkickoff")
    assert len(renewal) == 24  # 12 bytes, hex
    assert key_of("ab", "c") != key_of("a", "bc")  # parts do not run into each other


def test_the_planner_writes_the_keys_the_definitions_give() -> None:
    made = contract("800A", end=date(2024, 3, 31), lines=(line(1, "1000", "10"),))
    plan = plan_account(account=ACCOUNT, contracts=[made], today=date(2024, 3, 1),
                        policy=RulesPolicy())
    (renewal,) = plan.renewals
    assert renewal.key == renewal_key(ACCOUNT.id, contract_ids=["800A"], start=date(2024, 4, 1))
    (planned,) = renewal.lines
    assert planned.key == line_key(renewal.key, contract_id="800A", source_line_id="L1")
    assert planned.quantity == Decimal(10)
    assert renewal.tasks
    assert {t.key for t in renewal.tasks} == {task_key(renewal.key, t.step)
                                             for t in renewal.tasks}


def test_no_key_formula_or_rule_is_copied_inline_elsewhere_in_the_core() -> None:
    hashing = sorted(p.name for p in CORE.rglob("*.py") if "blake2b" in p.read_text())
    assert hashing == ["keys.py"]
    copies = [(str(p.relative_to(CORE)), text.strip()) for p in sorted(CORE.rglob("*.py"))
              for text in p.read_text().splitlines() if re.search(r"#.*\binline\b", text)]
    # none left: the pricer calls uplifted_prices, yearly_prices' own uplift case
    assert copies == [], copies


def test_analytics_row_keys_are_their_parts_joined() -> None:
    assert keys.metric_key("grr", period="2026-Q1", dimension="segment",
                           dimension_value="SMB", currency="EUR") == \
        _digest("metric\x1fgrr\x1f2026-Q1\x1fsegment\x1fSMB\x1fEUR")
    assert keys.snapshot_key(date(2026, 3, 9), period="2026-04", category="Best Case",
                             currency="USD") == \
        _digest("snapshot\x1f2026-03-09\x1f2026-04\x1fBest Case\x1fUSD")
