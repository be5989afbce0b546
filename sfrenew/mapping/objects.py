"""What the pull reads: one query per mapped sObject, derived from the mapping (pure).

Several concepts may live on one sObject (standard mapping: contract lines and
renewal lines are both OpportunityLineItems; cadence tasks and completed activities
are both Tasks). The mirror is keyed by sObject, so each sObject is pulled once with
the union of the fields its concepts need, plus the bookkeeping fields and the path
to the record's account (the mirror's ``group_key``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sfrenew.mapping import Concept, LookupLines, MappingFile
from sfrenew.mapping.translate import relationship_name, select_fields

MODSTAMP = "SystemModstamp"
IS_DELETED = "IsDeleted"
ACCOUNT_KEY_PREFIX = "001"  # Account Ids start with 001 in every org

# Pull order: a polymorphic lookup (Task.WhatId → Opportunity) is resolved to its
# account through the mirror, so the objects it points at are pulled first.
CONCEPT_ORDER = (Concept.ACCOUNT, Concept.CONTRACT, Concept.RENEWAL_OPPORTUNITY,
                 Concept.CONTRACT_LINE, Concept.RENEWAL_LINE, Concept.TASK, Concept.CASES,
                 Concept.ACTIVITIES, Concept.CONTACTS, Concept.USAGE, Concept.USER,
                 Concept.PRICE_BOOK_ENTRY, Concept.CURRENCY_RATE, Concept.DATED_CURRENCY_RATE,
                 Concept.RENEWAL_METRIC, Concept.FORECAST_SNAPSHOT)
# Concepts that belong to no account: mirrored without a group, read by the plan
# through a lookup of their own (sfrenew.plan.owners, sfrenew.plan.price_books,
# sfrenew.report for the currency rates, sfrenew.plan.analytics for sfrenew's metric and
# snapshot rows).
UNGROUPED = frozenset({Concept.USER, Concept.PRICE_BOOK_ENTRY, Concept.CURRENCY_RATE,
                       Concept.DATED_CURRENCY_RATE, Concept.RENEWAL_METRIC,
                       Concept.FORECAST_SNAPSHOT})


@dataclass(frozen=True)
class PulledObject:
    """One sObject to pull: its SELECT list, WHERE filter and how to find its account.

    ``group_field`` is a field (or relationship path) holding the Account Id;
    ``polymorphic`` means it may point at an Account or at another mirrored record
    (a Task's WhatId on an Opportunity), resolved through the mirror.
    """

    sobject: str
    fields: tuple[str, ...]
    where: str | None
    group_field: str
    polymorphic: bool = False


def _account_field(mapping: MappingFile, concept: Concept) -> str:
    section = mapping.concept(concept)
    if section is None or "account" not in section.fields:
        return "AccountId"
    return section.fields["account"].field


def group_field(mapping: MappingFile, concept: Concept) -> tuple[str, bool]:
    """The path from a record of ``concept`` to its Account Id, and whether it is
    polymorphic (resolved through the mirror)."""
    if concept is Concept.ACCOUNT:
        return "Id", False
    if concept in UNGROUPED:
        return "", False  # users, price book entries: mirrored without a group
    if concept is Concept.CONTRACT_LINE:
        link = mapping.contract_line.lines
        if isinstance(link, LookupLines):
            return (f"{relationship_name(link.field)}."
                    f"{_account_field(mapping, Concept.CONTRACT)}"), False
        return f"{relationship_name(link.line_field)}.AccountId", False
    if concept is Concept.RENEWAL_LINE:
        opp = mapping.renewal_line.fields["opportunity"].field
        return (f"{relationship_name(opp)}."
                f"{_account_field(mapping, Concept.RENEWAL_OPPORTUNITY)}"), False
    if concept is Concept.TASK:
        return mapping.task.fields["what"].field, True
    if concept is Concept.ACTIVITIES and mapping.activities is not None:
        return mapping.activities.fields["account"].field, True
    return _account_field(mapping, concept), False


def pulled_objects(mapping: MappingFile) -> list[PulledObject]:
    """Every sObject the mapping reads, in pull order, each with its merged query."""
    order: list[str] = []
    fields: dict[str, dict[str, str]] = {}
    filters: dict[str, list[str | None]] = {}
    groups: dict[str, tuple[str, bool]] = {}
    for concept in CONCEPT_ORDER:
        section = mapping.concept(concept)
        if section is None:
            continue
        name = section.object
        if name not in fields:
            order.append(name)
            fields[name] = {}
            filters[name] = []
            groups[name] = group_field(mapping, concept)
        filters[name].append(section.filter)
        wanted = [*select_fields(mapping, concept), groups[name][0], MODSTAMP]
        wanted = [f for f in wanted if f]
        for field in wanted:
            fields[name].setdefault(field.lower(), field)
    out = []
    for name in order:
        conditions = filters[name]
        where = None if any(c is None for c in conditions) else \
            " OR ".join(f"({c})" for c in dict.fromkeys(conditions))
        field, poly = groups[name]
        out.append(PulledObject(sobject=name, fields=tuple(fields[name].values()), where=where,
                                group_field=field, polymorphic=poly))
    return out


ANALYTICS_CONCEPTS = frozenset({Concept.RENEWAL_METRIC, Concept.FORECAST_SNAPSHOT})


def analytics_objects(mapping: MappingFile) -> frozenset[str]:
    """The sObjects only the analytics rows live on: pulled and described only by runs
    that write the analytics, so the other runs spend no call on them."""
    mine = {s.object for c in ANALYTICS_CONCEPTS if (s := mapping.concept(c)) is not None}
    others = {s.object for s in mapping.mapped() if s.concept not in ANALYTICS_CONCEPTS}
    return frozenset(mine - others)


def written_objects(mapping: MappingFile) -> dict[Concept, str]:
    """The sObjects sfrenew writes to, by concept (the diff reads them from the mirror)."""
    return {c: s.object for c in (Concept.RENEWAL_OPPORTUNITY, Concept.RENEWAL_LINE,
                                  Concept.TASK, Concept.ACCOUNT, Concept.RENEWAL_METRIC,
                                  Concept.FORECAST_SNAPSHOT)
            if (s := mapping.concept(c)) is not None}
