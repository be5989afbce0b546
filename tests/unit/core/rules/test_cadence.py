"""Cadence: due dates, High-risk steps, past-due policy, existing tasks, keys."""

from datetime import date

import pytest

from sfrenew.core.domain import ExistingTask, RiskLevel
from sfrenew.core.keys import task_key
from sfrenew.core.policy import CadencePolicy, CadenceStep, PastDuePolicy, TaskPriority
from sfrenew.core.rules.cadence import (
    NAME_PLACEHOLDERS,
    SUBJECT_PLACEHOLDERS,
    PlannedTask,
    StepOutcome,
    UnplannedStep,
    plan_cadence,
    template_problems,
)

START = date(2024, 6, 1)
VALUES = {"account": "Acme", "amount": "1,000.00", "currency": "USD"}
STEPS = (
    CadenceStep("kickoff", 120, "Kickoff {account}"),
    CadenceStep("quote", 90, "Quote {account} {amount} {currency}"),
    CadenceStep("escalation", 30, "Escalate {account}", TaskPriority.HIGH, "renewal_manager"),
    CadenceStep("exec", 100, "Exec {account}", TaskPriority.HIGH, "executive",
                high_risk_only=True),
)


def _plan(today: date, *, risk: RiskLevel = RiskLevel.LOW,
          past_due: PastDuePolicy = PastDuePolicy.DUE_TODAY,
          existing: dict[str, ExistingTask] | None = None, start: date = START,
          ) -> tuple[tuple[PlannedTask, ...], tuple[UnplannedStep, ...]]:
    return plan_cadence(renewal_key="R1", renewal_start=start, today=today, risk=risk,
                        values=VALUES, policy=CadencePolicy(STEPS, past_due),
                        existing=existing or {})


def test_steps_are_counted_back_from_the_renewal_start() -> None:
    tasks, unplanned = _plan(date(2024, 1, 1))
    assert [(t.step, t.due_date) for t in tasks] == [
        ("kickoff", date(2024, 2, 2)), ("quote", date(2024, 3, 3)),
        ("escalation", date(2024, 5, 2))]
    assert tasks[1].subject == "Quote Acme 1,000.00 USD"
    assert tasks[2].priority is TaskPriority.HIGH
    assert tasks[2].assignee_role == "renewal_manager"
    assert [(u.step, u.outcome) for u in unplanned] == [("exec", StepOutcome.NOT_HIGH_RISK)]


def test_high_risk_adds_its_steps() -> None:
    tasks, unplanned = _plan(date(2024, 1, 1), risk=RiskLevel.HIGH)
    assert [t.step for t in tasks] == ["kickoff", "exec", "quote", "escalation"]
    assert unplanned == ()


@pytest.mark.parametrize(("policy", "steps", "kickoff_due"), [
    (PastDuePolicy.DUE_TODAY, ["kickoff", "quote", "escalation"], date(2024, 3, 1)),
    (PastDuePolicy.SKIP, ["quote", "escalation"], None),
])
def test_past_due_policy(policy: PastDuePolicy, steps: list[str],
                         kickoff_due: date | None) -> None:
    today = date(2024, 3, 1)  # kickoff (Feb 2) has passed, quote (Mar 3) has not
    tasks, unplanned = _plan(today, past_due=policy)
    assert [t.step for t in tasks] == steps
    kickoff = [t for t in tasks if t.step == "kickoff"]
    assert (kickoff[0].due_date if kickoff else None) == kickoff_due
    if kickoff:
        assert kickoff[0].moved
        assert kickoff[0].scheduled_date == date(2024, 2, 2)
    else:
        assert ("kickoff", StepOutcome.PAST_DUE_SKIPPED) in [(u.step, u.outcome)
                                                            for u in unplanned]


def test_existing_open_task_keeps_its_date_once_past_and_closed_tasks_stay_done() -> None:
    today = date(2024, 3, 1)
    existing = {
        task_key("R1", "kickoff"): ExistingTask(task_key("R1", "kickoff"), date(2024, 2, 2),
                                                is_closed=False),
        task_key("R1", "quote"): ExistingTask(task_key("R1", "quote"), date(2024, 3, 3),
                                              is_closed=True),
    }
    tasks, unplanned = _plan(today, past_due=PastDuePolicy.SKIP, existing=existing)
    assert [(t.step, t.due_date) for t in tasks] == [("kickoff", date(2024, 2, 2)),
                                                     ("escalation", date(2024, 5, 2))]
    assert ("quote", StepOutcome.COMPLETED) in [(u.step, u.outcome) for u in unplanned]


def test_a_task_sfrenew_completed_itself_is_reopened_one_a_person_completed_is_not() -> None:
    # Today 2024-03-01; kickoff was due 2024-02-02 and quote 2024-03-03. An earlier
    # version completed kickoff while the renewal was open (the ledger proves it); a
    # person completed quote.
    today = date(2024, 3, 1)
    kickoff, quote = task_key("R1", "kickoff"), task_key("R1", "quote")
    existing = {
        kickoff: ExistingTask(kickoff, date(2024, 2, 2), is_closed=True,
                              closed_by_sfrenew=True),
        quote: ExistingTask(quote, date(2024, 3, 3), is_closed=True),
    }
    tasks, unplanned = _plan(today, existing=existing)
    # kickoff is planned again, open, on the date it had (past: simply overdue)
    assert [(t.step, t.due_date) for t in tasks] == [("kickoff", date(2024, 2, 2)),
                                                     ("escalation", date(2024, 5, 2))]
    assert ("quote", StepOutcome.COMPLETED) in [(u.step, u.outcome) for u in unplanned]
    assert not existing[kickoff].stays_closed
    assert existing[quote].stays_closed


def test_open_tasks_are_re_dated_when_the_renewal_moves() -> None:
    key = task_key("R1", "escalation")
    existing = {key: ExistingTask(key, date(2024, 5, 2), is_closed=False)}
    tasks, _ = _plan(date(2024, 1, 1), existing=existing, start=date(2024, 7, 1))
    escalation = next(t for t in tasks if t.step == "escalation")
    assert escalation.key == key
    assert escalation.due_date == date(2024, 6, 1)


def test_keys_are_deterministic_and_distinct() -> None:
    a, _ = _plan(date(2024, 1, 1))
    b, _ = _plan(date(2024, 1, 1))
    assert a == b
    assert len({t.key for t in a}) == len(a)
    assert task_key("R1", "quote") != task_key("R2", "quote")


@pytest.mark.parametrize(("template", "problem"), [
    ("Renew {account}", None),
    ("Renew {acount}", "unknown placeholder {acount}"),
    ("Renew {account!r}", "must not have a format"),
    ("Renew {account:>10}", "must not have a format"),
    ("Renew {account", "invalid template"),
    ("Renew {account.__class__}", "unknown placeholder"),
])
def test_template_problems(template: str, problem: str | None) -> None:
    problems = template_problems(template, SUBJECT_PLACEHOLDERS)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems)


def test_opportunity_names_cannot_use_task_only_placeholders() -> None:
    assert template_problems("{step}", NAME_PLACEHOLDERS)
