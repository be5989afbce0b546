"""Which closed cadence tasks sfrenew completed itself: the ledger proves it.

Earlier versions completed every open task of a renewal they stopped planning, while
the renewal was still open (a backfill followed by the nightly job completed all 208
backfilled tasks). Those tasks were never done by anyone. A closed task is sfrenew's own
closure when the ledger's last successful write of its status is sfrenew's ``close`` and
the org has not changed the task since (its ``SystemModstamp`` is no later than the
ledger's record of that close, which is taken after Salesforce answered). Anything
else, a person completed (or touched) it: it stays closed. An org clock running ahead
of sfrenew's errs the safe way: the task is taken for a person's and stays closed.
The planner reopens sfrenew's own closures while their renewal is planned
(``ExistingTask.stays_closed``); the diff writes the open status back, which the ledger
records, so a rollback closes them again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sfrenew.mapping import MappingFile
from sfrenew.plan.records import AccountRecords
from sfrenew.store.port import StorePort
from sfrenew.store.values import Operation


def _modstamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)  # 2024-01-17T14:20:03.000+0000 or ...Z
    except ValueError:
        return None


def with_sfrenew_closures(store: StorePort, mapping: MappingFile,
                          records: AccountRecords) -> AccountRecords:
    """``records`` with the closed tasks sfrenew completed itself marked
    ``closed_by_sfrenew`` (one ledger look-up, only for an account with closed tasks)."""
    closed = sorted(k for k, t in records.existing_tasks.items() if t.is_closed)
    if not closed:
        return records
    task_obj = mapping.task.object
    closes = store.last_operations(task_obj, closed, mapping.task.fields["status"].field)
    for key in closed:
        found = closes.get(key)
        current = records.current.get((task_obj, key))
        if found is None or found[0] is not Operation.CLOSE or current is None:
            continue
        stamp = _modstamp(current.system_modstamp)
        if stamp is not None and stamp <= found[1]:
            records.existing_tasks[key] = replace(records.existing_tasks[key],
                                                  closed_by_sfrenew=True)
    return records
