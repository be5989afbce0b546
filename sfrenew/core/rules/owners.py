"""Owners: who a renewal and each of its tasks go to.

Cadence steps name an assignee *role*; ``rules.owners`` says how each role becomes a
user (see :class:`~sfrenew.core.policy.OwnerPolicy`):

* **renewal owner** (the opportunity's owner and the default task assignee): the
  account owner, the owner of the renewed (anchor) contract, a user lookup on the
  account (``account_field:renewal_rep``) or the first row of a segment/region table;
* **renewal manager**: the renewal owner's manager (``User.ManagerId``) or a user
  lookup on the account;
* **account executive**: the account owner or a user lookup on the account.

A role whose rule finds no user, or finds an inactive one, falls back to the account
owner and says why (an :class:`RoutingIssue` with the record Id and field to fix).
When the account owner is inactive too (a rep who left, their accounts not yet
reassigned), that owner's manager stands in; with no active manager either, the role
is left unassigned (Salesforce then keeps the record's current owner, or the
integration user on create), and that is reported as well. Users nobody pulled (no
``user`` concept mapped, or an Id not in the mirror) are taken as active: sfrenew
cannot tell, and Salesforce will say.

Worked example: account owner Ana (active), contract owner Ben (inactive),
``renewal_owner: contract_owner`` → the renewal owner is Ana, with the issue
"renewal owner Ben (005…B) is inactive (User.IsActive): assigned to the account
owner"; ``renewal_manager: owner_manager`` then reads Ana's ``ManagerId`` (Max), so the
escalation task goes to Max.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sfrenew.core.policy import AssigneeRole, OwnerPolicy, OwnerTableRow

ACCOUNT_FIELD = "account_field:"
OWNER_SOURCES = frozenset({"account_owner", "contract_owner", "table"})
MANAGER_SOURCES = frozenset({"owner_manager"})
EXECUTIVE_SOURCES = frozenset({"account_owner"})


class UserInfo(NamedTuple):
    """A Salesforce user as the owner rules need it."""

    id: str
    name: str
    active: bool = True
    manager_id: str | None = None


class OwnerFacts(NamedTuple):
    """What the owner rules read of one renewal's account and anchor contract."""

    account_id: str
    account_owner: str | None
    contract_id: str | None = None
    contract_owner: str | None = None
    segment: str | None = None
    region: str | None = None
    account_fields: Mapping[str, str | None] = {}  # account concept field -> User Id


class Assignment(NamedTuple):
    """One role's user, and why it is not the rule's own answer (None: it is)."""

    role: AssigneeRole
    user_id: str | None
    fallback: str | None = None


class RoutingIssue(NamedTuple):
    """A role that fell back or stayed unassigned: the record and field to fix."""

    role: AssigneeRole
    object: str
    record_id: str
    field: str
    message: str


class Assignees(NamedTuple):
    """Every role of one renewal resolved, with the issues met on the way."""

    by_role: Mapping[AssigneeRole, Assignment]
    issues: tuple[RoutingIssue, ...] = ()

    def user_for(self, role: str) -> str | None:
        """The user of ``role`` (an unknown role gets the renewal owner)."""
        try:
            found = self.by_role.get(AssigneeRole(role))
        except ValueError:
            found = None
        if found is None:
            found = self.by_role[AssigneeRole.RENEWAL_OWNER]
        return found.user_id

    @property
    def owner(self) -> str | None:
        """The renewal owner: the opportunity's owner."""
        return self.by_role[AssigneeRole.RENEWAL_OWNER].user_id


def source_problem(source: str, allowed: frozenset[str], account_fields: frozenset[str],
                   ) -> str | None:
    """Why ``source`` is not a valid rule for a role (None: it is)."""
    if source in allowed:
        return None
    if source.startswith(ACCOUNT_FIELD):
        name = source.removeprefix(ACCOUNT_FIELD)
        if name in account_fields:
            return None
        return (f"unknown account field {name!r} (user lookups of the account concept: "
                f"{', '.join(sorted(account_fields))})")
    choices = [*sorted(allowed), f"{ACCOUNT_FIELD}<field>"]
    return f"unknown rule {source!r} (choose one of: {', '.join(choices)})"


def _matches(row: OwnerTableRow, facts: OwnerFacts) -> bool:
    def same(want: str | None, have: str | None) -> bool:
        return want is None or (have is not None and want.casefold() == have.casefold())
    return same(row.segment, facts.segment) and same(row.region, facts.region)


def _label(user_id: str, users: Mapping[str, UserInfo]) -> str:
    user = users.get(user_id)
    return f"{user.name} ({user_id})" if user is not None and user.name else user_id


class _Candidate(NamedTuple):
    user_id: str | None
    object: str  # where the rule read it, for the issue
    record_id: str
    field: str
    what: str  # the rule in words, e.g. "the contract owner"


def _candidate(source: str, facts: OwnerFacts, *, table: tuple[OwnerTableRow, ...],
               owner: str | None, users: Mapping[str, UserInfo]) -> _Candidate:
    acct = facts.account_id
    if source == "account_owner":
        return _Candidate(facts.account_owner, "Account", acct, "owner", "the account owner")
    if source == "contract_owner":
        return _Candidate(facts.contract_owner, "Contract", facts.contract_id or acct,
                          "owner", "the contract owner")
    if source == "table":
        row = next((r for r in table if _matches(r, facts)), None)
        return _Candidate(row.user_id if row else None, "Account", acct,
                          f"segment={facts.segment or ''}, region={facts.region or ''}",
                          "the rules.owners.table row for the account's segment and region")
    if source == "owner_manager":
        boss = users.get(owner) if owner else None
        return _Candidate(boss.manager_id if boss else None, "User", owner or acct,
                          "ManagerId", "the renewal owner's manager")
    name = source.removeprefix(ACCOUNT_FIELD)
    return _Candidate(facts.account_fields.get(name), "Account", acct, name,
                      f"the account's {name}")


def _active_manager(user_id: str, users: Mapping[str, UserInfo]) -> str | None:
    user = users.get(user_id)
    boss = users.get(user.manager_id) if user is not None and user.manager_id else None
    return boss.id if boss is not None and boss.active else None


def _fallback(source: str, account_owner: str | None, users: Mapping[str, UserInfo],
              ) -> tuple[str, str | None]:
    """(what happened, the user): the account owner, else that owner's active manager."""
    if not account_owner:
        return "left unassigned (the account has no owner)", None
    backup = users.get(account_owner)
    if source != "account_owner" and (backup is None or backup.active):
        return f"assigned to the account owner {_label(account_owner, users)}", account_owner
    # The account owner is the one who is inactive: their manager stands in.
    said = "" if source == "account_owner" else \
        f"the account owner {_label(account_owner, users)} is inactive too; "
    manager = _active_manager(account_owner, users)
    if manager is None:
        return f"{said}no active manager to stand in: left unassigned", None
    return f"{said}assigned to their manager {_label(manager, users)}", manager


def _resolve(role: AssigneeRole, source: str, facts: OwnerFacts, *, policy: OwnerPolicy,
             users: Mapping[str, UserInfo], owner: str | None,
             issues: list[RoutingIssue]) -> Assignment:
    found = _candidate(source, facts, table=policy.table, owner=owner, users=users)
    user_id = found.user_id
    words = str(role).replace("_", " ")
    if user_id:
        user = users.get(user_id)
        if user is None or user.active:
            return Assignment(role, user_id)
        where = ("User", user_id, "IsActive")
        why = f"{words} {_label(user_id, users)} ({found.what}) is inactive"
    else:
        where = (found.object, found.record_id, found.field)
        why = f"{words}: no user found as {found.what}"
    outcome, user_id = _fallback(source, facts.account_owner, users)
    message = f"{why}; {outcome}"
    issues.append(RoutingIssue(role, *where, message))
    return Assignment(role, user_id, message)


def resolve_assignees(*, facts: OwnerFacts, policy: OwnerPolicy,
                      users: Mapping[str, UserInfo]) -> Assignees:
    """Every assignee role of one renewal as a user, with fallbacks and their reasons."""
    issues: list[RoutingIssue] = []
    owner = _resolve(AssigneeRole.RENEWAL_OWNER, policy.renewal_owner, facts, policy=policy,
                     users=users, owner=None, issues=issues)
    manager = _resolve(AssigneeRole.RENEWAL_MANAGER, policy.renewal_manager, facts,
                       policy=policy, users=users, owner=owner.user_id, issues=issues)
    executive = _resolve(AssigneeRole.ACCOUNT_EXECUTIVE, policy.account_executive, facts,
                         policy=policy, users=users, owner=owner.user_id, issues=issues)
    return Assignees({AssigneeRole.RENEWAL_OWNER: owner,
                      AssigneeRole.RENEWAL_MANAGER: manager,
                      AssigneeRole.ACCOUNT_EXECUTIVE: executive}, tuple(issues))
