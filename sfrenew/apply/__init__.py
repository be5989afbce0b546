"""Applying a plan: chunked writes with the ledger around them, crash recovery, rollback."""

from sfrenew.apply.execute import ApplyOptions, apply_plan, targets
from sfrenew.apply.recover import recover_pending
from sfrenew.apply.writer import KILL_AFTER_CHUNKS_ENV, KILL_POINT_ENV, ApplyTotals, Target

__all__ = [
    "KILL_AFTER_CHUNKS_ENV",
    "KILL_POINT_ENV",
    "ApplyOptions",
    "ApplyTotals",
    "Target",
    "apply_plan",
    "recover_pending",
    "targets",
]
