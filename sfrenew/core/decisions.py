"""The uplift decisions of a policy, as a table the planner looks lines up in.

:func:`~sfrenew.core.rules.uplift.choose_rate` and
:func:`~sfrenew.core.rules.uplift.decide_uplift` are pure functions of a line's and
contract's fields and the (frozen) uplift policy. A book of 100,000 contracts uses a
handful of distinct decisions, so :class:`UpliftTable` memoises both: rule matching
by (segment, region, product family), and the decision by everything it depends on.
Sharing one decision value across lines and accounts also lets the explanation
memos (keyed by identity) hit across accounts.

``table_for`` keeps one table per policy object, by identity, for the last few
policies; a table holds its policy, so the identity cannot be reused while cached.
Every memo here is bounded and emptied when full.
"""

from __future__ import annotations

from decimal import Decimal

from sfrenew.core.domain import Account, Contract, ContractLine
from sfrenew.core.policy import PricingMethod, UpliftPolicy
from sfrenew.core.rules.uplift import (
    UpliftDecision,
    UpliftSource,
    decide_uplift,
    rule_matches,
)

_TABLES_MAX = 8
_ENTRIES_MAX = 1 << 14

_Found = tuple[Decimal, int, str | None]
SOURCES = (UpliftSource.LINE, UpliftSource.CONTRACT, UpliftSource.RULE, UpliftSource.DEFAULT)
# Decimals by their text: 0.05 and 0.050 are equal but show differently.
_DecisionKey = tuple[str, int, str | None, str, str, PricingMethod | None]


class UpliftTable:
    """Memoised rate choice and uplift decision (before risk) for one uplift policy."""

    __slots__ = ("_decisions", "_rules", "policy")

    def __init__(self, policy: UpliftPolicy) -> None:
        """An empty table for ``policy``."""
        self.policy = policy
        self._rules: dict[tuple[str | None, str | None, str | None], _Found] = {}
        self._decisions: dict[_DecisionKey, UpliftDecision] = {}

    def rule_rate(self, account: Account, line: ContractLine) -> _Found:
        """The first matching rule's rate (or the default) for a line without its own."""
        key = (account.segment, account.region, line.product_family)
        found = self._rules.get(key)
        if found is None:
            found = (self.policy.default_rate, 3, None)
            for rule in self.policy.rules:
                if rule_matches(rule, account=account, line=line):
                    found = (rule.rate, 2, rule.name)
                    break
            if len(self._rules) > _ENTRIES_MAX:
                self._rules.clear()
            self._rules[key] = found
        return found

    def choose(self, *, line: ContractLine, contract: Contract, account: Account,
               ) -> tuple[Decimal, int, str | None]:
        """``choose_rate``'s answer, the source as an index into ``SOURCES``."""
        if line.uplift_rate is not None:
            return line.uplift_rate, 0, None
        if contract.uplift_rate is not None:
            return contract.uplift_rate, 1, None
        return self.rule_rate(account, line)

    def decide(self, rate: Decimal, source: int, rule_name: str | None,  # noqa: PLR0917 - per line: positional is cheaper
               contract_cap: Decimal | None, contract_floor: Decimal | None,
               account_pricing: PricingMethod | None) -> UpliftDecision:
        """``decide_uplift`` for a rate found by :meth:`choose`, the contract's own bounds
        and the account's own pricing method (None: the policy's)."""
        key = (str(rate), source, rule_name, str(contract_cap), str(contract_floor),
               account_pricing)
        found = self._decisions.get(key)
        if found is None:
            found = decide_uplift(rate=rate, source=SOURCES[source], rule_name=rule_name,
                                  contract_cap=contract_cap, contract_floor=contract_floor,
                                  policy=self.policy, account_pricing=account_pricing)
            if len(self._decisions) > _ENTRIES_MAX:
                self._decisions.clear()
            self._decisions[key] = found
        return found


_TABLES: dict[int, UpliftTable] = {}


def table_for(policy: UpliftPolicy) -> UpliftTable:
    """The memo table of ``policy`` (by identity; the last few policies are kept)."""
    table = _TABLES.get(id(policy))
    if table is None or table.policy is not policy:
        if len(_TABLES) >= _TABLES_MAX:
            _TABLES.clear()
        table = _TABLES[id(policy)] = UpliftTable(policy)
    return table
