"""Routing a planned account's renewals: the mirrored users and the owner rules.

Users belong to no account, so they are mirrored without a group and read here by Id
(a bounded cache per plan: a book has far fewer users than accounts). The rules
themselves are pure (:mod:`sfrenew.core.rules.owners`); this module only gathers
their inputs and turns the issues they report into plan entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sfrenew.core.plan import RenewalPlan
from sfrenew.core.policy import OwnerPolicy
from sfrenew.core.rules.owners import (
    Assignees,
    OwnerFacts,
    UserInfo,
    resolve_assignees,
)
from sfrenew.mapping import Concept, MappingFile
from sfrenew.mapping.translate import CoercionProblem, read_record
from sfrenew.plan.records import AccountRecords
from sfrenew.store.port import StorePort

CACHE_MAX = 50_000


class UserDirectory:
    """The mirrored users by Id, read on demand and kept for the plan's duration."""

    def __init__(self, store: StorePort, mapping: MappingFile) -> None:
        self.store, self.mapping = store, mapping
        self._users: dict[str, UserInfo | None] = {}
        self._problems: list[CoercionProblem] = []

    def lookup(self, ids: Iterable[str | None]) -> dict[str, UserInfo]:
        """The known users among ``ids`` (an unmapped ``user`` concept knows none)."""
        wanted = {i for i in ids if i}
        section = self.mapping.user
        missing = sorted(i for i in wanted if i not in self._users)
        if missing and section is not None:
            if len(self._users) > CACHE_MAX:
                self._users.clear()
            found = self.store.get_mirror(section.object, missing)
            for user_id in missing:
                record = found.get(user_id)
                if record is None or record.is_deleted:
                    self._users[user_id] = None
                    continue
                read, problems = read_record(self.mapping, Concept.USER, record.data)
                self._problems.extend(problems)  # reported once: the user is cached
                active = read.values.get("active")
                manager = read.values.get("manager")
                self._users[user_id] = UserInfo(
                    user_id, str(read.values.get("name") or ""),
                    active=True if active is None else bool(active),
                    manager_id=str(manager) if manager else None)
        return {i: u for i in wanted if (u := self._users.get(i)) is not None}

    def take_problems(self) -> list[CoercionProblem]:
        """Values of users read since the last call that did not fit (Id and field)."""
        found, self._problems = self._problems, []
        return found


def _facts(records: AccountRecords, contract_id: str | None) -> OwnerFacts:
    account = records.account
    assert account is not None  # only planned accounts are routed
    return OwnerFacts(
        account_id=account.id, account_owner=records.owner_id, contract_id=contract_id,
        contract_owner=records.contract_owners.get(contract_id or ""),
        segment=account.segment, region=account.region,
        account_fields=records.account_users)


def route_renewals(plan: RenewalPlan, records: AccountRecords, *, policy: OwnerPolicy,
                   users: UserDirectory) -> dict[str, Assignees]:
    """Every planned renewal's assignees, by renewal key."""
    if not plan.renewals:
        return {}
    anchors = {r.key: r.coterm.anchor.anchor_contract_id or r.contract_ids[0]
               for r in plan.renewals}
    first = users.lookup([records.owner_id, *records.account_users.values(),
                          *(records.contract_owners.get(c) for c in anchors.values())])
    managers = users.lookup(u.manager_id for u in first.values())
    known = {**first, **managers}
    return {key: resolve_assignees(facts=_facts(records, contract_id), policy=policy,
                                   users=known)
            for key, contract_id in anchors.items()}


def routing_entries(plan: RenewalPlan, routed: Mapping[str, Assignees]
                    ) -> list[dict[str, str]]:
    """The plan file's routing list: each fallback with the renewal and record to fix."""
    names = {r.key: r.name for r in plan.renewals}
    out = []
    for key, assignees in routed.items():
        for issue in assignees.issues:
            out.append({"renewal": names.get(key, key), "role": issue.role.value,
                        "object": issue.object, "record_id": issue.record_id,
                        "field": issue.field, "message": issue.message})
    return out
