"""Assignee roles resolved to users: each rule, each fallback and its reason."""

from __future__ import annotations

import pytest

from sfrenew.core.policy import AssigneeRole, OwnerPolicy, OwnerTableRow
from sfrenew.core.rules.owners import (
    OwnerFacts,
    UserInfo,
    resolve_assignees,
    source_problem,
)

ANA, BEN, MAX, EVE, ZED, REP = ("005A", "005B", "005M", "005E", "005Z", "005R")
USERS = {
    ANA: UserInfo(ANA, "Ana Account-Owner", manager_id=MAX),
    BEN: UserInfo(BEN, "Ben Contract-Owner", active=False, manager_id=MAX),
    MAX: UserInfo(MAX, "Max Manager"),
    EVE: UserInfo(EVE, "Eve EMEA-Rep", manager_id=ZED),
    ZED: UserInfo(ZED, "Zed Zone-Manager", active=False),
    REP: UserInfo(REP, "Rae Renewal-Rep", manager_id=None),
}
FACTS = OwnerFacts(account_id="001X", account_owner=ANA, contract_id="800C",
                   contract_owner=BEN, segment="Enterprise", region="EMEA",
                   account_fields={"renewal_rep": REP, "renewal_manager": None})
TABLE = (OwnerTableRow(MAX, segment="SMB"), OwnerTableRow(EVE, region="emea"),
         OwnerTableRow(ANA))
OWN, M, X = AssigneeRole.RENEWAL_OWNER, AssigneeRole.RENEWAL_MANAGER, \
    AssigneeRole.ACCOUNT_EXECUTIVE


@pytest.mark.parametrize(("policy", "facts", "owner", "manager", "executive", "issues"), [
    # Defaults: account owner Ana; her manager Max; the account executive is Ana.
    (OwnerPolicy(), FACTS, ANA, MAX, ANA, []),
    # Ben owns the contract but has left: Ana, with a reason naming Ben's Id.
    (OwnerPolicy(renewal_owner="contract_owner"), FACTS, ANA, MAX, ANA,
     [(OWN, "User", BEN, "IsActive")]),
    # A renewal-rep lookup on the account; Rae has no manager: Ana, with a reason.
    (OwnerPolicy(renewal_owner="account_field:renewal_rep"), FACTS, REP, ANA, ANA,
     [(M, "User", REP, "ManagerId")]),
    # Territory table: the first matching row (segment SMB does not match; region
    # EMEA matches case-insensitively) → Eve; her manager Zed is inactive → Ana.
    (OwnerPolicy(renewal_owner="table", table=TABLE), FACTS, EVE, ANA, ANA,
     [(M, "User", ZED, "IsActive")]),
    # No row matches: the account owner, with the account and its segment/region.
    (OwnerPolicy(renewal_owner="table", table=(OwnerTableRow(EVE, segment="SMB"),)),
     FACTS, ANA, MAX, ANA, [(OWN, "Account", "001X", "segment=Enterprise, region=EMEA")]),
    # An empty manager lookup on the account falls back to the account owner.
    (OwnerPolicy(renewal_manager="account_field:renewal_manager"), FACTS, ANA, ANA, ANA,
     [(M, "Account", "001X", "renewal_manager")]),
    # The account executive from a lookup.
    (OwnerPolicy(account_executive="account_field:renewal_rep"), FACTS, ANA, MAX, REP, []),
    # Unknown users (no user concept mapped) are taken as active; managers are unknown.
    (OwnerPolicy(renewal_owner="contract_owner"), FACTS._replace(contract_owner=EVE),
     EVE, ANA, ANA, [(M, "User", EVE, "ManagerId")]),
])
def test_roles_resolve_with_fallbacks(policy: OwnerPolicy, facts: OwnerFacts, owner: str,
                                      manager: str, executive: str,
                                      issues: list[tuple[str, str, str, str]]) -> None:
    users = USERS if facts.contract_owner != EVE else {ANA: USERS[ANA]}
    got = resolve_assignees(facts=facts, policy=policy, users=users)
    assert (got.owner, got.user_for("renewal_manager"), got.user_for("account_executive")) \
        == (owner, manager, executive)
    assert [(i.role, i.object, i.record_id, i.field) for i in got.issues] == issues
    for issue in got.issues:  # every fallback says where it went
        assert got.by_role[issue.role].fallback == issue.message


def test_the_fallback_reason_names_the_user_and_the_account_owner() -> None:
    got = resolve_assignees(facts=FACTS, policy=OwnerPolicy(renewal_owner="contract_owner"),
                            users=USERS)
    assert got.issues[0].message == (
        "renewal owner Ben Contract-Owner (005B) (the contract owner) is inactive; "
        "assigned to the account owner Ana Account-Owner (005A)")


def test_an_inactive_account_owner_hands_over_to_their_manager() -> None:
    # Ana has left; her manager Max stands in for the owner and the account executive,
    # and the renewal manager is then Max's manager (none here: Ana, inactive → Max).
    users = {**USERS, ANA: UserInfo(ANA, "Ana", active=False, manager_id=MAX)}
    got = resolve_assignees(facts=FACTS, policy=OwnerPolicy(), users=users)
    assert (got.owner, got.user_for("account_executive")) == (MAX, MAX)
    assert got.issues[0].record_id == ANA
    assert got.issues[0].message == ("renewal owner Ana (005A) (the account owner) is "
                                     "inactive; assigned to their manager Max Manager (005M)")
    got = resolve_assignees(facts=FACTS, policy=OwnerPolicy(renewal_owner="contract_owner"),
                            users=users)
    assert got.owner == MAX
    assert ("the account owner Ana (005A) is inactive too; assigned to their manager "
            "Max Manager (005M)") in got.issues[0].message


def test_with_no_active_manager_the_role_is_left_unassigned_and_says_so() -> None:
    users = {**USERS, ANA: UserInfo(ANA, "Ana", active=False, manager_id=ZED)}
    got = resolve_assignees(facts=FACTS, policy=OwnerPolicy(), users=users)
    assert got.owner is None  # Salesforce keeps the current owner (or the API user)
    assert got.issues[0].message.endswith("no active manager to stand in: left unassigned")
    got = resolve_assignees(facts=FACTS._replace(account_owner=None), policy=OwnerPolicy(),
                            users=users)
    assert got.owner is None
    assert got.issues[0].message.endswith("left unassigned (the account has no owner)")


def test_an_unknown_role_gets_the_renewal_owner() -> None:
    got = resolve_assignees(facts=FACTS, policy=OwnerPolicy(), users=USERS)
    assert got.user_for("somebody_else") == ANA


@pytest.mark.parametrize(("source", "problem"), [
    ("contract_owner", None),
    ("account_field:renewal_rep", None),
    ("account_field:segment", "unknown account field 'segment'"),
    ("territory", "unknown rule 'territory' (choose one of: account_owner, contract_owner, "
                  "table, account_field:<field>)"),
])
def test_source_problems(source: str, problem: str | None) -> None:
    found = source_problem(source, frozenset({"account_owner", "contract_owner", "table"}),
                           frozenset({"owner", "renewal_rep"}))
    assert found == problem if problem is None else found is not None and problem in found
