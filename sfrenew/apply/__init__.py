"""Applying a plan: chunked writes with the ledger around them, crash recovery, rollback."""

from sfrenew.apply.execute import ApplyOptions, apply_plan, targets
from sfrenew.apply.recover import recover_pending
from sfrenew.apply.writer import ApplyTotals, Target

__all__ = [
    "ApplyOptions",
    "ApplyTotals",
    "Target",
    "apply_plan",
    "recover_pending",
    "targets",
]
