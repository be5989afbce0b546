"""When an account's plan can change with the date alone: the day to plan it again.

A plan is a function of the account's records, the policy and ``today``. With the
records and the policy unchanged, only the rules that read ``today`` can change it, and
each reports the first day its own output could change, next to the rule and from the
rule's own thresholds:

* eligibility (horizon entry, the contract's end): ``term.eligibility_changes_on``;
* cadence steps falling past due: ``cadence.cadence_changes_on``;
* lapse and grace (the renewal's start, then every day): ``lapse.lapse_changes_on``;
* risk signals that count days (``no_recent_activity``): ``risk.risk_changes_on``.

The other rules (co-terming, proration, uplift, forecast, owners, adoption) do not
read the date. :func:`replan_on` is the soonest of those days for one account: before
it, planning the account again gives an equal plan (``tests/unit/core/test_replan.py``
and ``bench/plan_fingerprint.py --calendar`` check this day by day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sfrenew.core.domain import Contract, ExistingRenewal, ExistingTask, RiskSignals
from sfrenew.core.plan import RenewalPlan
from sfrenew.core.policy import RulesPolicy
from sfrenew.core.rules.cadence import cadence_changes_on
from sfrenew.core.rules.lapse import lapse_changes_on
from sfrenew.core.rules.risk import risk_changes_on
from sfrenew.core.rules.term import eligibility_changes_on

_NO_TASKS: Mapping[str, ExistingTask] = {}


def replan_on(
    *,
    plan: RenewalPlan,
    contracts: Sequence[Contract],
    today: date,
    policy: RulesPolicy,
    signals: RiskSignals | None = None,
    existing_renewals: Sequence[ExistingRenewal] = (),
    existing_tasks: Mapping[str, ExistingTask] = _NO_TASKS,
) -> date | None:
    """The first day after ``today`` on which ``plan`` (planned on ``today`` from these
    inputs by ``plan_account`` or ``plan_orphans``) may differ, or None: never, unless
    the records or the policy change."""
    renewals_of: dict[str, list[ExistingRenewal]] = {}
    for renewal in existing_renewals:
        for contract_id in renewal.contract_ids:
            renewals_of.setdefault(contract_id, []).append(renewal)
    days: list[date | None] = []
    for contract in contracts:
        days.append(eligibility_changes_on(
            contract, today=today, policy=policy.eligibility,
            renewals=tuple(renewals_of.get(contract.id, ())),
            default_term_months=policy.default_term_months))
    for planned in plan.renewals:
        days.append(cadence_changes_on(renewal_key=planned.key,
                                       renewal_start=planned.start_date, today=today,
                                       risk=planned.risk.level, policy=policy.cadence,
                                       existing=existing_tasks))
        days.append(lapse_changes_on(planned.start_date, today=today))
    if plan.renewals:  # risk is assessed only for renewals
        days.append(risk_changes_on(signals or RiskSignals(), today, policy.risk))
    found = [d for d in days if d is not None]
    return min(found) if found else None
