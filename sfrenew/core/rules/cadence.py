"""Cadence: the renewal's tasks, counted back from the renewal start.

Each configured step becomes a task due ``days_before`` the renewal starts (steps
marked ``high_risk_only`` only when the renewal's risk is High). A task's key is
derived from the renewal's key and the step's name — never from the date — so
re-planning the same renewal yields the same tasks, and when the renewal's dates
move the same task is simply re-dated.

Dates in the past: a step whose date has passed when it is *first* planned (no
task with its key exists yet) is skipped or made due today, by policy. A task that
already exists and is open keeps its date when the new date would be in the past
(it is simply overdue); a task a person has completed is never planned again.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple

from sfrenew.core.domain import ExistingTask, RiskLevel
from sfrenew.core.keys import task_key
from sfrenew.core.policy import CadencePolicy, CadenceStep, PastDuePolicy, TaskPriority

NAME_PLACEHOLDERS = frozenset({"account", "start_date", "end_date", "amount", "currency",
                               "risk", "contracts"})
SUBJECT_PLACEHOLDERS = NAME_PLACEHOLDERS | {"opportunity", "step"}
SUBJECT_MAX = 255  # Task.Subject length in Salesforce


class StepOutcome(StrEnum):
    """Why a configured step produced no task this time."""

    PAST_DUE_SKIPPED = "past_due_skipped"
    COMPLETED = "completed"
    NOT_HIGH_RISK = "not_high_risk"


class PlannedTask(NamedTuple):
    """A task the renewal should have, keyed for idempotent writes."""

    key: str
    step: str
    subject: str
    due_date: date
    priority: TaskPriority
    assignee_role: str
    scheduled_date: date  # the date the cadence asks for (before the past-due policy)

    @property
    def moved(self) -> bool:
        """True when the task is not due on its scheduled date (past-due handling)."""
        return self.due_date != self.scheduled_date


class UnplannedStep(NamedTuple):
    """A step with no task, and why."""

    step: str
    scheduled_date: date
    outcome: StepOutcome


def template_problems(template: str, allowed: frozenset[str]) -> list[str]:
    """Every problem with a ``{placeholder}`` template (unknown names, bad syntax)."""
    problems: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"invalid template: {exc}"]
    for _text, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            problems.append(f"unknown placeholder {{{name}}} "
                            f"(allowed: {', '.join(sorted(allowed))})")
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}} must not have a format or conversion")
    return problems


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a validated template; the config loader has already rejected unknown names."""
    return template.format_map(values)


_OFFSETS: dict[int, tuple[CadencePolicy, tuple[tuple[CadenceStep, timedelta], ...]]] = {}


def _offsets(policy: CadencePolicy) -> tuple[tuple[CadenceStep, timedelta], ...]:
    """The policy's steps with their ``days_before`` as timedeltas (memoised by identity)."""
    found = _OFFSETS.get(id(policy))
    if found is None or found[0] is not policy:
        if len(_OFFSETS) >= 8:
            _OFFSETS.clear()
        found = _OFFSETS[id(policy)] = (
            policy, tuple((step, timedelta(days=step.days_before)) for step in policy.steps))
    return found[1]


_BY_DUE_DATE_AND_STEP = attrgetter("due_date", "step")


def plan_cadence(
    *,
    renewal_key: str,
    renewal_start: date,
    today: date,
    risk: RiskLevel,
    values: Mapping[str, str],
    policy: CadencePolicy,
    existing: Mapping[str, ExistingTask],
) -> tuple[tuple[PlannedTask, ...], tuple[UnplannedStep, ...]]:
    """The renewal's tasks (by due date, then step) and the steps that have none."""
    tasks: list[PlannedTask] = []
    unplanned: list[UnplannedStep] = []
    subject_values = dict(values)  # one copy, its "step" set per task
    for step, before in _offsets(policy):
        scheduled = renewal_start - before
        if step.high_risk_only and risk is not RiskLevel.HIGH:
            unplanned.append(UnplannedStep(step.name, scheduled, StepOutcome.NOT_HIGH_RISK))
            continue
        key = task_key(renewal_key, step.name)
        current = existing.get(key)
        if current is not None and current.stays_closed:
            unplanned.append(UnplannedStep(step.name, scheduled, StepOutcome.COMPLETED))
            continue
        due = scheduled
        if scheduled < today:
            if current is not None:
                due = current.due_date
            elif policy.past_due is PastDuePolicy.SKIP:
                unplanned.append(UnplannedStep(step.name, scheduled,
                                               StepOutcome.PAST_DUE_SKIPPED))
                continue
            else:
                due = today
        subject_values["step"] = step.name
        subject = render(step.subject, subject_values)
        if len(subject) > SUBJECT_MAX:
            subject = subject[:SUBJECT_MAX - 1] + "…"
        tasks.append(PlannedTask(key, step.name, subject, due, step.priority,
                                 step.assignee_role, scheduled))
    tasks.sort(key=_BY_DUE_DATE_AND_STEP)
    return tuple(tasks), tuple(unplanned)
