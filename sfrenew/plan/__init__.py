"""Planning a run: mirror → rules → desired records → diff → the plan file (a value)."""

from sfrenew.plan.build import build_plan
from sfrenew.plan.desired import FieldShape, shapes_from_describe
from sfrenew.plan.model import (
    PLAN_VERSION,
    AccountPlan,
    PlanFileError,
    PlanHeader,
    RenewalSummary,
    iter_accounts,
    read_header,
)
from sfrenew.plan.planner import PlanScope, PlanTotals

__all__ = [
    "PLAN_VERSION",
    "AccountPlan",
    "FieldShape",
    "PlanFileError",
    "PlanHeader",
    "PlanScope",
    "PlanTotals",
    "RenewalSummary",
    "build_plan",
    "iter_accounts",
    "read_header",
    "shapes_from_describe",
]
