"""Which rules a run writes: a job can refresh risk or the task cadence alone.

A run always plans the whole renewal (the rules depend on each other: risk adjusts the
uplift, cadence counts back from the renewal start), then keeps only the changes of
the rule sets the job asked for. So an hourly ``risk`` job updates risk fields and
forecast categories of existing renewals and the account's risk, and never creates a
renewal; a ``cadence`` job creates, re-dates and closes tasks of renewals that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from enum import StrEnum

from sfrenew.core.changeset import ChangeKind, CurrentRecord, RecordChange
from sfrenew.mapping import MappingFile

# renewal_opportunity concept fields that belong to the risk rule set
RISK_OPPORTUNITY_FIELDS = ("risk_level", "risk_score", "risk_reasons", "forecast_category",
                           "explanation")


class RuleSet(StrEnum):
    """A part of the plan a job may write on its own (none given: all of them)."""

    RENEWALS = "renewals"  # renewal opportunities, their lines, the contracts' links
    RISK = "risk"  # risk fields and forecast category of renewals; the account's risk
    CADENCE = "cadence"  # cadence tasks
    # Metric rows, the week's forecast snapshot and the renewals' outcome fields
    # (sfrenew.plan.analytics). Written only when a job names it: a run that names no
    # rule set writes the three above, not the analytics.
    ANALYTICS = "analytics"


RENEWAL_RULES = frozenset({RuleSet.RENEWALS, RuleSet.RISK, RuleSet.CADENCE})


def plans_accounts(rules: frozenset[RuleSet]) -> bool:
    """True when a run with these rule sets plans renewals (not the analytics alone)."""
    return not rules or bool(rules & RENEWAL_RULES)


def plans_analytics(rules: frozenset[RuleSet]) -> bool:
    """True when a run with these rule sets writes the analytics rows."""
    return RuleSet.ANALYTICS in rules


def _risk_fields(mapping: MappingFile) -> frozenset[str]:
    fields = mapping.renewal_opportunity.fields
    return frozenset(fields[name].field for name in RISK_OPPORTUNITY_FIELDS if name in fields)


def select_changes(changes: Iterable[RecordChange], *, rules: frozenset[RuleSet],
                   mapping: MappingFile,
                   current: Mapping[tuple[str, str], CurrentRecord]) -> list[RecordChange]:
    """The changes a run restricted to ``rules`` writes (all of them when empty)."""
    out = list(changes)
    if not rules or rules >= RENEWAL_RULES:
        return out
    opp = mapping.renewal_opportunity.object
    line = mapping.renewal_line.object
    task = mapping.task.object
    account = mapping.account.object
    contract = mapping.contract.object  # its link to the renewal goes with the renewal
    risk_fields = _risk_fields(mapping)
    kept: list[RecordChange] = []
    for change in out:
        if change.object in (opp, line, contract) and RuleSet.RENEWALS in rules:
            kept.append(change)
        elif change.object == opp and RuleSet.RISK in rules and change.kind is ChangeKind.UPDATE:
            risk = tuple(c for c in change.changes if c.field in risk_fields)
            if risk:
                kept.append(replace(change, changes=risk,
                                    reason="risk refresh: " + ", ".join(c.field for c in risk)))
        elif change.object == account and RuleSet.RISK in rules:
            kept.append(change)
        elif change.object == task and RuleSet.CADENCE in rules:
            # A task of a renewal that does not exist yet waits for the renewals job.
            parents = [ref for _, ref in change.refs if ref.object == opp]
            if RuleSet.RENEWALS in rules or all((ref.object, ref.key) in current
                                                for ref in parents):
                kept.append(change)
    return kept
