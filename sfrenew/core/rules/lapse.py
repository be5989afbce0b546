"""Lapsed renewals: the contract ended, the renewal is still unsigned.

An unsigned renewal past its start date is the most urgent thing on a renewal desk
(the on-time renewal rate is what desks are measured on), so it is never abandoned:
it stays open and sfrenew's to maintain until a person closes it (won or lost) or
marks the contract do-not-renew. From the renewal's first day it is *overdue*:

* ``days_overdue`` counts the days since the contract ended (1 on the renewal's
  start day, the day after the contract's end date);
* its grace period ends ``grace_days`` after the contract ended, and an escalation
  task (``rules.lapse.escalation``) falls due that day. The task is planned as soon
  as the renewal lapses, so the manager sees it coming; first planned after the
  grace has ended (sfrenew installed late, a backfill), it is due today.

Worked example (grace 14 days): contract ends 2026-03-09, renewal starts 2026-03-10.
On 2026-03-09 it is not lapsed. On 2026-03-10 it is 1 day overdue, grace ends
2026-03-23 (2026-03-09 + 14 days), so the escalation task is due 2026-03-23. On
2026-03-30 it is 21 days overdue and the task keeps its date (it is simply overdue).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import NamedTuple

from sfrenew.core.domain import ExistingTask
from sfrenew.core.keys import task_key
from sfrenew.core.policy import LapsePolicy
from sfrenew.core.rules.cadence import SUBJECT_MAX, SUBJECT_PLACEHOLDERS, PlannedTask
from sfrenew.core.rules.term import ONE_DAY, iso

# The escalation subject may also name the contract end and the grace end (both fixed
# for a renewal, so the subject does not change from one night to the next).
ESCALATION_PLACEHOLDERS = SUBJECT_PLACEHOLDERS | {"contract_end", "grace_ends"}


class Lapse(NamedTuple):
    """How far a renewal is past its start date, unsigned."""

    contract_end: date  # the day before the renewal starts
    days_overdue: int  # days since the contract ended (1 on the renewal's start day)
    grace_ends: date  # contract_end + grace_days: the escalation falls due


def lapse_of(renewal_start: date, *, today: date, policy: LapsePolicy) -> Lapse | None:
    """The renewal's lapse on ``today``, or None while its start is still ahead."""
    if renewal_start > today:
        return None
    contract_end = renewal_start - ONE_DAY
    return Lapse(contract_end, (today - contract_end).days,
                 contract_end + timedelta(days=policy.grace_days))


def escalation_task(*, renewal_key: str, lapse: Lapse, today: date,
                    values: Mapping[str, str], policy: LapsePolicy,
                    existing: Mapping[str, ExistingTask]) -> PlannedTask | None:
    """The lapsed renewal's escalation task, or None (no escalation, or a person closed it).

    Keyed like a cadence step (``task_key(renewal_key, name)``); an open task keeps the
    date it has when that date is past (it is simply overdue, as cadence tasks are).
    """
    step = policy.escalation
    if step is None:
        return None
    key = task_key(renewal_key, step.name)
    current = existing.get(key)
    if current is not None and current.stays_closed:
        return None
    due = lapse.grace_ends
    if due < today:
        due = current.due_date if current is not None else today
    subject = step.subject.format_map({**values, "step": step.name,
                                       "contract_end": iso(lapse.contract_end),
                                       "grace_ends": iso(lapse.grace_ends)})
    if len(subject) > SUBJECT_MAX:
        subject = subject[:SUBJECT_MAX - 1] + "…"
    return PlannedTask(key, step.name, subject, due, step.priority, step.assignee_role,
                       lapse.grace_ends)



def lapse_words(lapse: Lapse, *, escalated: bool) -> str:
    """The sentence that opens a lapsed renewal's explanation (no day count: it would
    change the text, and so write it, every night)."""
    text = (f"OVERDUE: the contract ended on {iso(lapse.contract_end)} and this renewal is "
            f"not signed yet. It stays open; the grace period ends on "
            f"{iso(lapse.grace_ends)}")
    return text + (", when it is escalated." if escalated else ".")
