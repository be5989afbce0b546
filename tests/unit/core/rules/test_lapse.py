"""Lapsed renewals: days overdue, the grace period's end and the escalation task."""

from datetime import date, timedelta

import pytest

from sfrenew.core.domain import ExistingTask
from sfrenew.core.keys import task_key
from sfrenew.core.policy import LapseEscalation, LapsePolicy, TaskPriority
from sfrenew.core.rules.lapse import Lapse, escalation_task, lapse_of, lapse_words

D = date
START = D(2026, 3, 10)  # the contract ended 2026-03-09
POLICY = LapsePolicy()  # grace 14 days
VALUES = {"account": "Acme Corp", "start_date": "2026-03-10", "end_date": "2027-03-09",
          "amount": "12,600.00", "currency": "USD", "risk": "Low", "contracts": "00000001",
          "opportunity": "Acme Corp renewal 2026-03-10"}


@pytest.mark.parametrize(("today", "grace", "expected"), [
    (D(2026, 3, 8), 14, None),  # the contract's second-to-last day
    (D(2026, 3, 9), 14, None),  # its last day: the renewal starts tomorrow
    # the renewal's start day: 1 day since the contract ended; grace ends 03-09 + 14
    (D(2026, 3, 10), 14, Lapse(D(2026, 3, 9), 1, D(2026, 3, 23))),
    (D(2026, 3, 23), 14, Lapse(D(2026, 3, 9), 14, D(2026, 3, 23))),
    (D(2026, 4, 8), 14, Lapse(D(2026, 3, 9), 30, D(2026, 3, 23))),  # 22 + 8 days
    (D(2026, 3, 10), 0, Lapse(D(2026, 3, 9), 1, D(2026, 3, 9))),
    # month and leap-year ends: 2028-02-28 + 7 days = 2028-03-06
    (D(2028, 3, 1), 7, Lapse(D(2028, 2, 28), 2, D(2028, 3, 6))),
])
def test_lapse_of(today: date, grace: int, expected: Lapse | None) -> None:
    start = expected.contract_end + timedelta(days=1) if expected else START
    assert lapse_of(start, today=today, policy=LapsePolicy(grace_days=grace)) == expected


def _existing(due: date, *, closed: bool = False) -> dict[str, ExistingTask]:
    key = task_key("R1", "overdue_escalation")
    return {key: ExistingTask(key, due, closed)}


@pytest.mark.parametrize(("today", "existing", "due"), [
    # planned as soon as the renewal lapses, due the day the grace ends
    (D(2026, 3, 10), {}, D(2026, 3, 23)),
    (D(2026, 3, 23), {}, D(2026, 3, 23)),
    # first planned after the grace ended (installed late, a backfill): due today
    (D(2026, 4, 8), {}, D(2026, 4, 8)),
    # an open task keeps its date once the grace has ended (it is simply overdue)
    (D(2026, 4, 8), _existing(D(2026, 3, 23)), D(2026, 3, 23)),
    # an open task is re-dated while the grace runs (e.g. grace_days was changed)
    (D(2026, 3, 12), _existing(D(2026, 3, 30)), D(2026, 3, 23)),
])
def test_escalation_task_due_date(today: date, existing: dict[str, ExistingTask],
                                  due: date) -> None:
    lapse = lapse_of(START, today=today, policy=POLICY)
    assert lapse is not None
    task = escalation_task(renewal_key="R1", lapse=lapse, today=today, values=VALUES,
                           policy=POLICY, existing=existing)
    assert task is not None
    assert (task.key, task.step, task.due_date, task.scheduled_date) == (
        task_key("R1", "overdue_escalation"), "overdue_escalation", due, D(2026, 3, 23))
    assert (task.priority, task.assignee_role) == (TaskPriority.HIGH, "renewal_manager")
    assert task.subject == "Overdue renewal, contract ended 2026-03-09: Acme Corp"


def test_no_escalation_when_closed_by_a_person_or_not_configured() -> None:
    lapse = lapse_of(START, today=D(2026, 3, 20), policy=POLICY)
    assert lapse is not None
    closed = _existing(D(2026, 3, 23), closed=True)
    assert escalation_task(renewal_key="R1", lapse=lapse, today=D(2026, 3, 20), values=VALUES,
                           policy=POLICY, existing=closed) is None
    assert escalation_task(renewal_key="R1", lapse=lapse, today=D(2026, 3, 20), values=VALUES,
                           policy=LapsePolicy(escalation=None), existing={}) is None


def test_a_configured_escalation_and_the_words() -> None:
    policy = LapsePolicy(grace_days=7, escalation=LapseEscalation(
        "lapsed", "Lapsed {contracts} (grace ends {grace_ends}) for {account}",
        TaskPriority.NORMAL, "account_executive"))
    lapse = lapse_of(START, today=START, policy=policy)
    assert lapse is not None
    task = escalation_task(renewal_key="R1", lapse=lapse, today=START, values=VALUES,
                           policy=policy, existing={})
    assert task is not None
    assert (task.key, task.subject, task.due_date, task.assignee_role) == (
        task_key("R1", "lapsed"), "Lapsed 00000001 (grace ends 2026-03-16) for Acme Corp",
        D(2026, 3, 16), "account_executive")
    # The words carry no day count: the explanation is not rewritten every night.
    assert lapse_words(lapse, escalated=True) == (
        "OVERDUE: the contract ended on 2026-03-09 and this renewal is not signed yet. It "
        "stays open; the grace period ends on 2026-03-16, when it is escalated.")
    assert lapse_words(lapse, escalated=False).endswith("ends on 2026-03-16.")
