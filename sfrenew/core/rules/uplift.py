"""Uplift: the rate a renewal line's price rises by, where it came from, and the price.

Order of decisions, each recorded on the :class:`UpliftDecision`:

1. **Precedence** — the first rate found wins: the line's uplift field, the
   contract's uplift field, the first matching rule of the ordered rule list (the
   last rule is a catch-all), the policy default.
2. **Index formula** (optional) — e.g. ``max(floor, cpi + spread)``; it sees the
   chosen ``rate``, ``floor``, ``cap`` and the configured index values, and its
   result replaces the rate.
3. **Risk adjustment** (optional, per risk level) — add an amount, then cap the
   rate (e.g. High risk: at most 0%).
4. **Bounds** — the contract's own cap and floor, else the policy's, are applied
   last and always win, so the rate is always inside ``[floor, cap]``.

A rate written on the line or contract (sources ``line`` and ``contract``) is a
commitment: steps 2 and 3 and the policy's cap and floor apply to it only where
``UpliftPolicy.contractual`` says so, and a contractual rate changed by any of them
is flagged (:attr:`UpliftDecision.overrides_contract`) for approval. The contract's
own cap and floor always bound it.

Risk depends on the uplift (the *large uplift* signal) and the uplift on risk, so
the planner first decides the rate without risk (steps 1, 2, 4), assesses risk with
it, then calls :func:`with_risk`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from sfrenew.core.domain import Account, Contract, ContractLine, RiskLevel
from sfrenew.core.frozen import fast_init
from sfrenew.core.money import quantum_for, round_money, round_to
from sfrenew.core.policy import PricingMethod, RiskAdjustment, UpliftPolicy, UpliftRule

ZERO = Decimal(0)
ONE = Decimal(1)


class UpliftSource(StrEnum):
    """Where the uplift rate came from."""

    LINE = "line"
    CONTRACT = "contract"
    RULE = "rule"
    DEFAULT = "default"


CONTRACTUAL = frozenset({UpliftSource.LINE, UpliftSource.CONTRACT})
"""The sources whose rate is a commitment written on the line or contract."""


def is_contractual(source: UpliftSource) -> bool:
    """True for a rate written on the line or contract (``source in CONTRACTUAL``).

    By identity: hashing an enum member is a Python-level call, and the explanation
    asks this once per planned line.
    """
    return source is UpliftSource.LINE or source is UpliftSource.CONTRACT

LIST_FALLBACK_NOTE = "no price book entry; priced by uplift instead"


class UpliftBound(StrEnum):
    """The contractual bound that changed the rate, if any."""

    CAP = "cap"
    FLOOR = "floor"


@fast_init
@dataclass(frozen=True, slots=True)
class UpliftDecision:
    """The uplift applied to one line and every step that led to it.

    ``cap`` and ``floor`` are the bounds that applied; ``contract_cap`` and
    ``contract_floor`` the contract's own (None when it has none). ``risk_applies``
    says whether the risk adjustments may change this rate (not for a contractual
    rate unless the policy says so).
    """

    rate: Decimal
    source: UpliftSource
    chosen_rate: Decimal  # the rate as found, before formula, risk and bounds
    rule_name: str | None = None
    index_rate: Decimal | None = None  # the formula's result, when the formula applied
    risk_level: RiskLevel | None = None
    risk_rate: Decimal | None = None  # the rate after the risk adjustment, when one applied
    bound: UpliftBound | None = None
    cap: Decimal | None = None
    floor: Decimal | None = None
    pricing: PricingMethod = PricingMethod.UPLIFT
    pricing_note: str | None = None
    contract_cap: Decimal | None = None
    contract_floor: Decimal | None = None
    risk_applies: bool = True

    @property
    def contract_rate(self) -> Decimal | None:
        """The rate the contract commits to (its rate within its own bounds), or None."""
        if not is_contractual(self.source):
            return None
        return clamp(self.chosen_rate, cap=self.contract_cap, floor=self.contract_floor)[0]

    @property
    def overrides_contract(self) -> bool:
        """True when a policy step changed a contractual rate: the renewal needs approval."""
        committed = self.contract_rate
        return committed is not None and self.rate != committed

    @property
    def bound_by_contract(self) -> bool:
        """True when the bound that fired is the contract's own (not the policy's)."""
        if self.bound is UpliftBound.CAP:
            return self.contract_cap is not None
        return self.bound is UpliftBound.FLOOR and self.contract_floor is not None

    @property
    def before_bounds(self) -> Decimal:
        """The rate after formula and risk adjustment, before cap and floor."""
        if self.risk_rate is not None:
            return self.risk_rate
        return self.index_rate if self.index_rate is not None else self.chosen_rate


def rule_matches(rule: UpliftRule, *, account: Account, line: ContractLine) -> bool:
    """True when every criterion the rule names equals the account's or line's value."""
    return ((rule.segment is None or rule.segment == account.segment)
            and (rule.product_family is None or rule.product_family == line.product_family)
            and (rule.region is None or rule.region == account.region))


def choose_rate(
    *, line: ContractLine, contract: Contract, account: Account, policy: UpliftPolicy,
) -> tuple[Decimal, UpliftSource, str | None]:
    """The first rate found: line field, contract field, first matching rule, default."""
    if line.uplift_rate is not None:
        return line.uplift_rate, UpliftSource.LINE, None
    if contract.uplift_rate is not None:
        return contract.uplift_rate, UpliftSource.CONTRACT, None
    for rule in policy.rules:
        if rule_matches(rule, account=account, line=line):
            return rule.rate, UpliftSource.RULE, rule.name
    return policy.default_rate, UpliftSource.DEFAULT, None


def clamp(rate: Decimal, *, cap: Decimal | None, floor: Decimal | None,
          ) -> tuple[Decimal, UpliftBound | None]:
    """``rate`` inside ``[floor, cap]`` and the bound that fired (cap wins a tie)."""
    if cap is not None and rate > cap:
        return cap, UpliftBound.CAP
    if floor is not None and rate < floor:
        return floor, UpliftBound.FLOOR
    return rate, None


def bounds_for(*, source: UpliftSource, contract_cap: Decimal | None,
               contract_floor: Decimal | None, policy: UpliftPolicy,
               ) -> tuple[Decimal | None, Decimal | None]:
    """``(cap, floor)`` on a rate from ``source``: the contract's own, else the policy's.

    A contractual rate gets the policy's cap and floor only when
    ``policy.contractual.policy_bounds`` is set; otherwise only the contract's own.
    """
    if is_contractual(source) and not policy.contractual.policy_bounds:
        return contract_cap, contract_floor
    return (contract_cap if contract_cap is not None else policy.cap,
            contract_floor if contract_floor is not None else policy.floor)


def index_rate(*, rate: Decimal, cap: Decimal | None, floor: Decimal | None,
               policy: UpliftPolicy) -> Decimal | None:
    """The index formula's rate, or None when no formula is configured."""
    if policy.index_formula is None:
        return None
    values = dict(policy.index_values)
    values["rate"] = rate
    values["floor"] = floor if floor is not None else ZERO
    if cap is not None:
        values["cap"] = cap
    return policy.index_formula.evaluate(values)


def pricing_for(account_pricing: PricingMethod | None, policy: UpliftPolicy) -> PricingMethod:
    """How a line is priced: the account's own method (CPQ's Renewal Pricing Method)
    when it has one, else the policy's ``pricing``."""
    return account_pricing or policy.pricing


def account_pricing_note(method: PricingMethod) -> str:
    """How a line priced by its account's own method says so (CPQ's picklist words)."""
    return f"priced by the account's Renewal Pricing Method: {method.value.capitalize()}"


def decide_uplift(
    *,
    rate: Decimal,
    source: UpliftSource,
    rule_name: str | None = None,
    contract_cap: Decimal | None,
    contract_floor: Decimal | None,
    policy: UpliftPolicy,
    account_pricing: PricingMethod | None = None,
) -> UpliftDecision:
    """The uplift before any risk adjustment: chosen rate, index formula, bounds.

    ``contract_cap``/``contract_floor`` are the contract's own bounds (None: none).
    ``account_pricing`` is the account's own pricing method, which replaces the
    policy's ``pricing`` (and says so on the decision).
    """
    contractual = is_contractual(source)
    cap, floor = bounds_for(source=source, contract_cap=contract_cap,
                            contract_floor=contract_floor, policy=policy)
    indexed = (index_rate(rate=rate, cap=cap, floor=floor, policy=policy)
               if not contractual or policy.contractual.index else None)
    bounded, bound = clamp(indexed if indexed is not None else rate, cap=cap, floor=floor)
    return UpliftDecision(
        rate=bounded, source=source, chosen_rate=rate, rule_name=rule_name,
        index_rate=indexed, bound=bound, cap=cap, floor=floor,
        pricing=pricing_for(account_pricing, policy),
        pricing_note=account_pricing_note(account_pricing) if account_pricing else None,
        contract_cap=contract_cap, contract_floor=contract_floor,
        risk_applies=not contractual or policy.contractual.risk)


def line_uplift(
    *, line: ContractLine, contract: Contract, account: Account, policy: UpliftPolicy,
) -> UpliftDecision:
    """The uplift of one contract line before risk (precedence, formula, bounds)."""
    rate, source, rule_name = choose_rate(line=line, contract=contract, account=account,
                                          policy=policy)
    return decide_uplift(rate=rate, source=source, rule_name=rule_name,
                         contract_cap=contract.uplift_cap, contract_floor=contract.uplift_floor,
                         policy=policy, account_pricing=account.renewal_pricing)


def compounds(policy: UpliftPolicy, account: Account) -> bool:
    """Whether a multi-year renewal of ``account`` raises its price again each year.

    ``compound_multi_year`` when set; "auto" (None) compounds unless the account's own
    pricing method decides (CPQ applies the Renewal Uplift once to the renewal term).
    """
    if policy.compound_multi_year is not None:
        return policy.compound_multi_year
    return account.renewal_pricing is None


def with_risk(decision: UpliftDecision, *, level: RiskLevel,
              adjustments: Mapping[RiskLevel, RiskAdjustment]) -> UpliftDecision:
    """``decision`` adjusted for the renewal's risk level, bounds applied again.

    A decision whose rate the risk adjustments may not change (a contractual rate,
    unless the policy says so) comes back unchanged.
    """
    adjustment = adjustments.get(level)
    if adjustment is None or not decision.risk_applies:
        return decision
    before = decision.index_rate if decision.index_rate is not None else decision.chosen_rate
    adjusted = before + adjustment.add
    if adjustment.max_rate is not None and adjusted > adjustment.max_rate:
        adjusted = adjustment.max_rate
    bounded, bound = clamp(adjusted, cap=decision.cap, floor=decision.floor)
    return replace(decision, rate=bounded, risk_level=level,
                   risk_rate=adjusted if adjusted != before else None, bound=bound)


def as_priced(decision: UpliftDecision, list_price: Decimal | None) -> UpliftDecision:
    """The decision as pricing applies it: ``list`` without a price book entry → uplift."""
    if decision.pricing is PricingMethod.LIST and list_price is None:
        note = (LIST_FALLBACK_NOTE if decision.pricing_note is None
                else f"{decision.pricing_note}; {LIST_FALLBACK_NOTE}")
        return replace(decision, pricing=PricingMethod.UPLIFT, pricing_note=note)
    return decision


def yearly_prices(
    *,
    prior: Decimal,
    list_price: Decimal | None,
    decision: UpliftDecision,
    years: int,
    compound: bool,
    decimals: int,
) -> tuple[tuple[Decimal, ...], UpliftDecision]:
    """The annual unit price for each year of the renewal, rounded to the currency.

    ``same`` keeps the prior price; ``uplift`` raises it by the rate (compounded each
    further year when ``compound``); ``list`` takes the price book entry for year one
    (then raises it by the rate each further year when ``compound``) and falls back
    to ``uplift`` — noted on the returned decision — when the line has no list price.
    """
    decision = as_priced(decision, list_price)
    method = decision.pricing
    factor = ONE + decision.rate
    if method is PricingMethod.SAME:
        return (round_money(prior, decimals),) * years, decision
    if method is PricingMethod.LIST and list_price is not None:
        return tuple(round_money(list_price * factor ** (year - 1) if compound else list_price,
                                 decimals) for year in range(1, years + 1)), decision
    return uplifted_prices(prior, factor, years, compound, quantum_for(decimals)), decision


def uplifted_prices(prior: Decimal, factor: Decimal, years: int, compound: bool,
                    quantum: Decimal) -> tuple[Decimal, ...]:
    """``uplift`` pricing's yearly prices: the prior price × ``factor`` (1 + the rate),
    raised again each further year when ``compound``, each rounded to ``quantum``.

    1,000.00 at 5 % for 3 years: compounded 1,050.00, 1,102.50, 1,157.63 (1,157.625
    rounded half up); not compounded 1,050.00 each year. Positional: the pricer calls
    it for every line, :func:`yearly_prices` for the rest.
    """
    if years == 1:
        return (round_to(prior * factor, quantum),)
    if not compound:
        return (round_to(prior * factor, quantum),) * years
    prices = []
    for year in range(1, years + 1):  # a loop: a comprehension is a call
        prices.append(round_to(prior * factor ** year, quantum))
    return tuple(prices)
