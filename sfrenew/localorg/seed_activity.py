"""Seeded signals around each account: support cases, tasks and monthly usage.

These are what the renewal risk rules read (open high-severity cases, days since the
last completed activity, usage decline), so their spread matters more than their
text: a few accounts are quiet for months, a few have a Sev1 open, some use less
every month.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date

from sfrenew.localorg.seed_catalog import (
    CASE_SUBJECTS,
    TASK_SUBJECTS_DONE,
    TASK_SUBJECTS_OPEN,
    Segment,
)
from sfrenew.localorg.seed_plan import AccountPlan
from sfrenew.localorg.seed_rows import Row, Staff, add_months_ord, created, iso, stamp

_CASES_MAX = {Segment.ENTERPRISE: 6, Segment.MID_MARKET: 3, Segment.SMB: 2}
_SEVERITIES = ("Sev1", "Sev2", "Sev3", "Sev4")
_SEVERITY_WEIGHTS = (0.05, 0.20, 0.45, 0.30)
_PRIORITY_BY_SEVERITY = {"Sev1": "High", "Sev2": "High", "Sev3": "Medium", "Sev4": "Low"}


class AccountContacts:
    """The contact Ids of each account of a batch (Ids in insertion order)."""

    def __init__(self, contact_ids: Sequence[str], counts: Sequence[int]):
        self._ids = contact_ids
        self._starts: list[int] = []
        total = 0
        for n in counts:
            self._starts.append(total)
            total += n
        self._counts = counts

    def pick(self, account_index: int, rng: random.Random) -> str | None:
        """One contact of the account, or None when it has none."""
        n = self._counts[account_index]
        if n == 0:
            return None
        return self._ids[self._starts[account_index] + rng.randrange(n)]


def case_rows(accounts: Sequence[AccountPlan], account_ids: Sequence[str], *,
              contacts: AccountContacts, staff: Staff, rng: random.Random,
              today: date) -> Iterator[Row]:
    """Support cases, most closed; the open ones carry their severity."""
    today_ord = today.toordinal()
    for index, (acct, account_id) in enumerate(zip(accounts, account_ids, strict=True)):
        # Unhappy customers raise more cases.
        extra = 1 if acct.health < 40 else 0
        for _ in range(rng.randint(0, _CASES_MAX[acct.segment] + extra)):
            severity = rng.choices(_SEVERITIES, weights=_SEVERITY_WEIGHTS)[0]
            closed = rng.random() < 0.7
            status = "Closed" if closed else rng.choices(
                ("New", "Working", "Escalated"), weights=(0.3, 0.5, 0.2))[0]
            # Open cases are recent; closed ones took days to a few weeks.
            opened = today_ord - (rng.randint(2, 400) if closed else rng.randint(1, 90))
            yield {
                "AccountId": account_id,
                "ContactId": contacts.pick(index, rng),
                "OwnerId": staff.admin,
                "Subject": rng.choice(CASE_SUBJECTS),
                "Status": status,
                "Priority": _PRIORITY_BY_SEVERITY[severity],
                "Severity__c": severity,
                "Type": rng.choice(("Question", "Problem", "Problem", "Feature Request",
                                    "Billing")),
                "Origin": rng.choice(("Phone", "Email", "Web")),
                "IsEscalated": 1 if status == "Escalated" else 0,
                "ClosedDate": stamp(min(today_ord - 1, opened + rng.randint(1, 20)),
                                    rng.randrange(1440)) if closed else None,
                "CurrencyIsoCode": acct.currency,
                "CreatedDate": created(opened, today=today_ord, rng=rng),
            }


def task_rows(accounts: Sequence[AccountPlan], account_ids: Sequence[str], *,
              contacts: AccountContacts, staff: Staff, rng: random.Random,
              today: date) -> Iterator[Row]:
    """Completed activities going back from each account's last touch, and open tasks."""
    today_ord = today.toordinal()
    for index, (acct, account_id) in enumerate(zip(accounts, account_ids, strict=True)):
        owner = staff.owner(acct)
        # Days since the last completed activity: mostly recent, a long tail of
        # silence, longer for unhealthy accounts (signals agree, as in real books).
        mean_silence = 70 if acct.health < 40 else 35
        last_touch = today_ord - min(400, int(rng.expovariate(1 / mean_silence)) + 1)
        done = rng.randint(0, 5 if acct.segment is Segment.ENTERPRISE else 3)
        day = last_touch
        for _ in range(done):
            kind = rng.choice(("Call", "Email", "Meeting"))
            yield {
                "WhoId": contacts.pick(index, rng),
                "WhatId": account_id,
                "OwnerId": owner,
                "Subject": rng.choice(TASK_SUBJECTS_DONE),
                "ActivityDate": iso(day),
                "Status": "Completed",
                "Priority": "Normal",
                "Type": kind,
                "TaskSubtype": "Email" if kind == "Email" else "Call" if kind == "Call" else "Task",
                "CompletedDateTime": stamp(day, rng.randrange(480, 1080)),
                "Description": None,
                "CreatedDate": created(day - rng.randint(0, 10), today=today_ord, rng=rng),
            }
            day -= rng.randint(14, 60)
        for _ in range(rng.choices((0, 1, 2), weights=(0.4, 0.4, 0.2))[0]):
            due = today_ord + rng.randint(-20, 45)  # some are overdue, as in every org
            yield {
                "WhoId": contacts.pick(index, rng),
                "WhatId": account_id,
                "OwnerId": owner,
                "Subject": rng.choice(TASK_SUBJECTS_OPEN),
                "ActivityDate": iso(due),
                "Status": rng.choice(("Not Started", "Not Started", "In Progress")),
                "Priority": "High" if rng.random() < 0.15 else "Normal",
                "Type": rng.choice(("Call", "Email", "Other")),
                "TaskSubtype": "Task",
                "CompletedDateTime": None,
                "Description": None,
                "CreatedDate": created(min(due, today_ord) - rng.randint(1, 30),
                                       today=today_ord, rng=rng),
            }


def usage_rows(accounts: Sequence[AccountPlan], account_ids: Sequence[str], *,
               rng: random.Random, today: date) -> Iterator[Row]:
    """Twelve monthly usage snapshots for about a third of the accounts.

    Each tracked account has a monthly drift: most grow slowly, some shrink, which
    is the usage-decline risk signal.
    """
    today_ord = today.toordinal()
    first_of_month = today.replace(day=1).toordinal()
    for acct, account_id in zip(accounts, account_ids, strict=True):
        if rng.random() >= 0.35:
            continue
        licensed = sum(ln.quantity for c in acct.contracts for ln in c.lines[:1])
        utilisation = rng.uniform(0.45, 0.95)
        drift = rng.gauss(0.005 + (acct.health - 65) / 4000, 0.025)
        for months_back in range(12, 0, -1):
            period = add_months_ord(first_of_month, -months_back)
            utilisation = min(1.0, max(0.05, utilisation * (1 + drift + rng.gauss(0, 0.01))))
            yield {
                "Name": f"{acct.name[:60]} {iso(period)[:7]}",
                "Account__c": account_id,
                "Period__c": iso(period),
                "Active_Users__c": float(round(licensed * utilisation)),
                "Licensed_Users__c": float(licensed),
                # Loaded by the product's nightly export after the month closed.
                "CreatedDate": created(add_months_ord(period, 1), today=today_ord, rng=rng),
            }
