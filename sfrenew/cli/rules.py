"""``sfrenew rules ...``: check a rule's number, or the rules config, without an org."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from sfrenew.config.rules import RulesModel, load_rules
from sfrenew.core.domain import Account, RiskLevel
from sfrenew.core.explain import describe_uplift
from sfrenew.core.formula import Formula, FormulaError, parse
from sfrenew.core.money import format_rate, quantum_for, rate_problem
from sfrenew.core.planner import approval_reasons
from sfrenew.core.policy import (
    AnchorPolicy,
    ContractualUplift,
    CotermPolicy,
    PricingMethod,
    ProrationMethod,
    RiskAdjustment,
    TermCompatibility,
    UpliftPolicy,
)
from sfrenew.core.pricing import line_total
from sfrenew.core.rules.coterm import (
    CotermGroup,
    CotermMember,
    anchor_end,
    group_members,
    term_changes,
)
from sfrenew.core.rules.proration import prorate, prorated_amount
from sfrenew.core.rules.term import ONE_DAY, describe_length, months_and_days, term_end
from sfrenew.core.rules.uplift import (
    CONTRACTUAL,
    UpliftSource,
    compounds,
    decide_uplift,
    with_risk,
    yearly_prices,
)
from sfrenew.yamlsource import YamlSourceError

CURRENCY_DECIMALS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "JPY": 0,
                     "KRW": 0, "BHD": 3, "KWD": 3}


class DecimalType(click.ParamType[Decimal]):
    """A decimal number, e.g. ``12000`` or ``0.05``."""

    name = "decimal"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).replace(",", "").replace("_", ""))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number (e.g. 12000 or 0.05)", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class DateType(click.ParamType[date]):
    """A calendar date as YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date as YYYY-MM-DD", param, ctx)


class ContractSpecType(click.ParamType[CotermMember]):
    """A contract for ``rules coterm``: ``ID:END_DATE:TERM_MONTHS[:ANNUAL_AMOUNT]``."""

    name = "id:end:months[:annual]"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> CotermMember:
        if isinstance(value, CotermMember):
            return value
        parts = str(value).split(":")
        if len(parts) not in (3, 4) or not parts[0].strip():
            self.fail(f"{value!r} is not ID:END_DATE:TERM_MONTHS[:ANNUAL_AMOUNT], "
                      f"e.g. C1:2027-03-31:12 or C1:2027-03-31:12:24000", param, ctx)
        cid = parts[0].strip()
        try:
            end = date.fromisoformat(parts[1].strip())
        except ValueError:
            self.fail(f"{value!r}: {parts[1]!r} is not an end date as YYYY-MM-DD", param, ctx)
        try:
            months = int(parts[2].strip())
        except ValueError:
            months = 0
        if months < 1:
            self.fail(f"{value!r}: {parts[2]!r} is not a term of 1 or more months", param, ctx)
        annual = Decimal(0)
        if len(parts) == 4:
            annual = DECIMAL.convert(parts[3].strip(), param, ctx)
            if annual < 0:
                self.fail(f"{value!r}: the annual amount must not be negative", param, ctx)
        start = end + ONE_DAY
        return CotermMember(cid, "USD", start, term_end(start, months), months, annual)


DECIMAL = DecimalType()
DATE = DateType()
CONTRACT_SPEC = ContractSpecType()


def _decimals(currency: str) -> int:
    code = currency.upper()
    if code not in CURRENCY_DECIMALS:
        raise click.BadParameter(
            f"unknown currency {currency!r} (known: {', '.join(sorted(CURRENCY_DECIMALS))})",
            param_hint="'--currency'")
    return CURRENCY_DECIMALS[code]


def _emit(data: dict[str, Any], *, as_json: bool, text: str) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text)


@click.group()
def rules() -> None:
    """Check renewal rules without an org."""


@rules.command()
@click.option("--price", type=DECIMAL, required=True, help="Annual price (e.g. 12000).")
@click.option("--start", type=DATE, required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--end", type=DATE, required=True, help="Last day of the period, inclusive.")
@click.option("--method", type=click.Choice([*(m.value for m in ProrationMethod), "all"]),
              default="all", show_default=True, help="Proration method.")
@click.option("--currency", default="USD", show_default=True, help="Currency (sets rounding).")
@click.option("--quantity", type=DECIMAL, default=Decimal(1), show_default=True,
              help="Units on the line: the total is quantity × the period's unit price, "
                   "as Salesforce's TotalPrice = Quantity × UnitPrice.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def prorate_command(*, price: Decimal, start: date, end: date, method: str, currency: str,
                    quantity: Decimal, as_json: bool) -> None:
    """Prorate an annual price over START..END (inclusive), by one or every method.

    With --price as an annual unit price, the amount is the line's UnitPrice for the
    period (rounded to the currency) and the total is quantity × that UnitPrice.
    """
    decimals = _decimals(currency)
    if price < 0:
        raise click.BadParameter("must not be negative", param_hint="'--price'")
    if quantity <= 0:
        raise click.BadParameter("must be above zero", param_hint="'--quantity'")
    if end < start:
        raise click.BadParameter(f"{end} is before --start {start}", param_hint="'--end'")
    methods = list(ProrationMethod) if method == "all" else [ProrationMethod(method)]
    results = []
    for m in methods:
        p = prorate(start, end, method=m)
        unit = prorated_amount(price, p, decimals=decimals)
        results.append({
            "method": m.value, "fraction": p.fraction_text,
            "fraction_decimal": str(p.decimal_fraction), "whole_months": p.whole_months,
            "stub_days": p.stub_days, "amount": str(unit),
            "total": str(line_total(quantity, unit, quantum_for(decimals)))})
    days = (end - start).days + 1
    data = {"price": str(price), "currency": currency.upper(), "start": start.isoformat(),
            "end": end.isoformat(), "days": days, "results": results}
    data["quantity"] = str(quantity)
    lines = [f"{price:,} {currency.upper()} a year, {start} to {end} ({days} days)",
             f"{'method':<18} {'fraction':<22} {'amount':>14}"
             + (f" {f'total (× {quantity})':>18}" if quantity != 1 else "")]
    lines += [f"{r['method']:<18} {r['fraction']:<22} {Decimal(r['amount']):>14,}"
              + (f" {Decimal(r['total']):>18,}" if quantity != 1 else "")
              for r in results]
    _emit(data, as_json=as_json, text="\n".join(lines))


prorate_command.name = "prorate"


def _uplift_policy(config_path: Path | None) -> UpliftPolicy:
    """The config's uplift policy (``--config``), else every default with no bounds."""
    if config_path is None:
        return UpliftPolicy()
    try:
        return load_rules(config_path).uplift
    except YamlSourceError as exc:
        raise click.BadParameter(str(exc), param_hint="'--config'") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot read {config_path}: {exc.strerror}",
                                 param_hint="'--config'") from None


def _fractions(**rates: Decimal | None) -> None:
    """Refuse a rate typed as a percentage (5 for 5%), naming the option and the fraction
    it likely meant (``--force`` accepts it)."""
    for name, value in rates.items():
        problem = rate_problem(value) if value is not None else None
        if problem is not None:
            raise click.BadParameter(f"{problem} (--force to use it anyway)",
                                     param_hint=f"'--{name.replace('_', '-')}'")


def _formula(formula: str, values: dict[str, Decimal], cap: Decimal | None,
             ) -> Formula:
    try:
        parsed = parse(formula)
    except FormulaError as exc:
        raise click.BadParameter(str(exc), param_hint="'--index'") from None
    missing = parsed.variables - {"rate", "floor", *values} - ({"cap"} if cap else set())
    if missing:
        raise click.BadParameter(f"the formula needs {', '.join(sorted(missing))} "
                                 f"(give --cpi, --spread, --cap)", param_hint="'--index'")
    return parsed


@rules.command()
@click.option("--price", type=DECIMAL, required=True, help="Prior annual unit price.")
@click.option("--rate", type=DECIMAL, required=True,
              help="The uplift rate found for the line (0.05 = 5%).")
@click.option("--source", type=click.Choice([s.value for s in UpliftSource]),
              default=UpliftSource.DEFAULT.value, show_default=True,
              help="Where the rate was found: line and contract rates are contractual.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Take the uplift policy (formula, cap, floor, risk adjustment, "
                   "contractual, pricing) from this config file; options below override it.")
@click.option("--cap", type=DECIMAL, help="The policy's cap (uplift.cap).")
@click.option("--floor", type=DECIMAL, help="The policy's floor (uplift.floor).")
@click.option("--contract-cap", type=DECIMAL, help="The contract's own cap.")
@click.option("--contract-floor", type=DECIMAL, help="The contract's own floor.")
@click.option("--contractual", "contractual_steps", multiple=True,
              type=click.Choice(["index", "policy_bounds", "risk"]),
              help="A policy step allowed to change a contractual rate (repeatable).")
@click.option("--index", "formula", help="Index formula, e.g. 'max(floor, cpi + spread)'.")
@click.option("--cpi", type=DECIMAL, help="Value of cpi in the index formula.")
@click.option("--spread", type=DECIMAL, help="Value of spread in the index formula.")
@click.option("--risk", type=click.Choice([r.value for r in RiskLevel]),
              help="The renewal's risk level (applies --risk-add / --risk-max-rate, or the "
                   "config's risk adjustment).")
@click.option("--risk-add", type=DECIMAL, help="Risk adjustment added to the rate at --risk.")
@click.option("--risk-max-rate", type=DECIMAL, help="Highest rate at --risk (e.g. 0).")
@click.option("--method", type=click.Choice([m.value for m in PricingMethod]),
              help="Pricing method (default: the config's, else uplift).")
@click.option("--account-method", type=click.Choice([m.value for m in PricingMethod]),
              help="The account's own Renewal Pricing Method (CPQ): replaces --method.")
@click.option("--list-price", type=DECIMAL, help="Price book price (for --method list).")
@click.option("--years", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Years of the renewal term.")
@click.option("--compound/--no-compound", default=None,
              help="Raise the price again each further year (default: the config's; auto "
                   "compounds unless --account-method is given).")
@click.option("--currency", default="USD", show_default=True, help="Currency (sets rounding).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--force", is_flag=True,
              help="Accept rates beyond ±1 (±100%); without it 5 is refused as 500%.")
def uplift(*, price: Decimal, rate: Decimal, source: str, config_path: Path | None,
           cap: Decimal | None, floor: Decimal | None, contract_cap: Decimal | None,
           contract_floor: Decimal | None, contractual_steps: tuple[str, ...],
           formula: str | None, cpi: Decimal | None, spread: Decimal | None,
           risk: str | None, risk_add: Decimal | None, risk_max_rate: Decimal | None,
           method: str | None, account_method: str | None, list_price: Decimal | None,
           years: int, compound: bool | None, currency: str, as_json: bool,
           force: bool) -> None:
    """Apply formula, risk adjustment and bounds to a rate, and price each year.

    A rate from the line or contract (--source line|contract) is contractual: only the
    contract's own cap and floor bound it, unless --contractual (or the config's
    uplift.contractual) lets a policy step change it, which then needs approval.
    """
    decimals = _decimals(currency)
    if not force:
        _fractions(rate=rate, cap=cap, floor=floor, contract_cap=contract_cap,
                   contract_floor=contract_floor, cpi=cpi, spread=spread, risk_add=risk_add,
                   risk_max_rate=risk_max_rate)
    if price < 0:
        raise click.BadParameter("must not be negative", param_hint="'--price'")
    policy = _uplift_policy(config_path)
    cap = cap if cap is not None else policy.cap
    floor = floor if floor is not None else policy.floor
    if cap is not None and floor is not None and floor > cap:
        raise click.BadParameter(f"{floor} is above --cap {cap}", param_hint="'--floor'")
    if (contract_cap is not None and contract_floor is not None
            and contract_floor > contract_cap):
        raise click.BadParameter(f"{contract_floor} is above --contract-cap {contract_cap}",
                                 param_hint="'--contract-floor'")
    pricing = PricingMethod(method) if method is not None else policy.pricing
    account_pricing = PricingMethod(account_method) if account_method is not None else None
    if (account_pricing or pricing) is PricingMethod.LIST and list_price is None:
        raise click.BadParameter("--method list needs the price book price",
                                 param_hint="'--list-price'")
    values = dict(policy.index_values)
    values.update({name: v for name, v in (("cpi", cpi), ("spread", spread)) if v is not None})
    parsed = policy.index_formula
    if formula is not None:
        parsed = _formula(formula, values, cap)
    contractual = policy.contractual
    if contractual_steps:
        contractual = ContractualUplift(
            index=contractual.index or "index" in contractual_steps,
            policy_bounds=contractual.policy_bounds or "policy_bounds" in contractual_steps,
            risk=contractual.risk or "risk" in contractual_steps)
    adjustments = dict(policy.risk_adjustments)
    if risk is not None and (risk_add is not None or risk_max_rate is not None
                             or RiskLevel(risk) not in adjustments):
        adjustments[RiskLevel(risk)] = RiskAdjustment(risk_add or Decimal(0), risk_max_rate)
    policy = UpliftPolicy(default_rate=rate, pricing=pricing, cap=cap, floor=floor,
                          compound_multi_year=(compound if compound is not None
                                               else policy.compound_multi_year),
                          index_formula=parsed, index_values=values,
                          risk_adjustments=adjustments, contractual=contractual)
    decision = decide_uplift(rate=rate, source=UpliftSource(source), contract_cap=contract_cap,
                             contract_floor=contract_floor, policy=policy,
                             account_pricing=account_pricing)
    if risk is not None:
        decision = with_risk(decision, level=RiskLevel(risk), adjustments=adjustments)
    compound_years = compounds(policy, Account("", "", renewal_pricing=account_pricing))
    prices, decision = yearly_prices(prior=price, list_price=list_price, decision=decision,
                                     years=years, compound=compound_years, decimals=decimals)
    data = {
        "rate": str(decision.rate), "given_rate": str(rate), "source": decision.source.value,
        "contractual": decision.source in CONTRACTUAL,
        "index_rate": None if decision.index_rate is None else str(decision.index_rate),
        "risk_rate": None if decision.risk_rate is None else str(decision.risk_rate),
        "bound": decision.bound.value if decision.bound else None,
        "overrides_contract": decision.overrides_contract,
        "pricing": decision.pricing.value, "pricing_note": decision.pricing_note,
        "compound": compound_years, "currency": currency.upper(),
        "prior_price": str(price), "yearly_prices": [str(p) for p in prices],
        "total": str(sum(prices, Decimal(0))),
    }
    lines = [f"rate: {format_rate(decision.rate)} (given {format_rate(rate)}, "
             f"from {decision.source.value})", f"how: {describe_uplift(decision)}"]
    if decision.index_rate is not None:
        lines.append(f"index formula: {format_rate(decision.index_rate)}")
    if decision.risk_rate is not None:
        lines.append(f"after {risk} risk adjustment: {format_rate(decision.risk_rate)}")
    if decision.bound is not None:
        lines.append(f"bound fired: {decision.bound.value}")
    if decision.overrides_contract:
        lines.append("needs approval: the policy changed a contractual rate")
    lines.append(f"pricing: {decision.pricing.value}"
                 + (f" ({decision.pricing_note})" if decision.pricing_note else ""))
    lines += [f"year {i}: {p:,} {currency.upper()}" for i, p in enumerate(prices, start=1)]
    if years > 1:
        lines.append(f"total: {sum(prices, Decimal(0)):,} {currency.upper()}")
    _emit(data, as_json=as_json, text="\n".join(lines))


def _line_words(member: CotermMember, end: date, window_days: int) -> dict[str, Any]:
    shift = (end - member.natural_end).days
    months, days = months_and_days(member.start, end)
    if shift == 0:
        effect = "full term"
    elif abs(shift) > window_days:
        effect = (f"term change: {'shortened' if shift < 0 else 'extended'} by "
                  f"{abs(shift)} days")
    else:
        effect = f"stub: {abs(shift)} days {'shorter' if shift < 0 else 'longer'}"
    return {"contract": member.contract_id, "start": member.start.isoformat(),
            "end": end.isoformat(), "term_months": member.term_months,
            "natural_end": member.natural_end.isoformat(), "shift_days": shift,
            "length": describe_length(months, days), "effect": effect}


@rules.command()
@click.option("--contract", "members", type=CONTRACT_SPEC, multiple=True, required=True,
              help="A contract as ID:END_DATE:TERM_MONTHS[:ANNUAL_AMOUNT] (repeat it).")
@click.option("--window", "window_days", type=click.IntRange(0, 366), default=60,
              show_default=True, help="Co-term window in days.")
@click.option("--anchor", type=click.Choice([a.value for a in AnchorPolicy]),
              default="earliest", show_default=True, help="Anchor policy.")
@click.option("--terms", "compatibility", type=click.Choice([t.value for t in TermCompatibility]),
              default="same_term", show_default=True,
              help="Which renewal terms may share a group.")
@click.option("--allow-term-change", is_flag=True,
              help="Let the anchor move a line's end by more than the window (approval).")
@click.option("--calendar", "calendar_day", default="12-31", show_default=True,
              help="The calendar anchor's month and day, MM-DD.")
@click.option("--min-term", "min_term", type=click.IntRange(1, 120), default=3,
              show_default=True, help="Shortest renewal term that gets a renewal (months).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def coterm(*, members: tuple[CotermMember, ...], window_days: int, anchor: str,
           compatibility: str, allow_term_change: bool, calendar_day: str, min_term: int,
           as_json: bool) -> None:
    """Group contracts of one account into renewals and show each line's term."""
    ids = [m.contract_id for m in members]
    duplicate = sorted({i for i in ids if ids.count(i) > 1})
    if duplicate:
        raise click.BadParameter(f"contract {', '.join(duplicate)} given more than once",
                                 param_hint="'--contract'")
    try:
        month, day = (int(p) for p in calendar_day.split("-"))
        date(2024, month, day)  # 2024: Feb 29 is allowed (clamped in common years)
    except ValueError:
        raise click.BadParameter(f"{calendar_day!r} is not a month and day as MM-DD",
                                 param_hint="'--calendar'") from None
    policy = CotermPolicy(window_days=window_days, anchor=AnchorPolicy(anchor),
                          calendar_month=month, calendar_day=day,
                          term_compatibility=TermCompatibility(compatibility),
                          allow_term_change=allow_term_change)
    minimum = min_term
    renewing = [m for m in members if m.term_months >= minimum]
    not_renewed = [{"contract": m.contract_id, "term_months": m.term_months,
                    "reason": "below_min_term"} for m in members if m.term_months < minimum]
    groups: list[dict[str, Any]] = []
    for group in group_members(renewing, policy):
        end = anchor_end(group, anchor=policy.anchor, policy=policy)
        changes = term_changes(group, end.end_date, window_days=window_days)
        reasons = approval_reasons(group=CotermGroup("USD", group, end, (), changes),
                                   contracts={})
        months, days = months_and_days(group[0].start, end.end_date)
        groups.append({
            "start": group[0].start.isoformat(), "end": end.end_date.isoformat(),
            "length": describe_length(months, days),
            "anchor_contract": end.anchor_contract_id, "rolled_forward": end.rolled_forward,
            "lines": [_line_words(m, end.end_date, window_days) for m in group],
            "needs_approval": bool(reasons), "approval_reasons": list(reasons)})
    data = {"window_days": window_days, "anchor": anchor, "terms": compatibility,
            "allow_term_change": allow_term_change, "min_term_months": minimum,
            "renewals": groups, "not_renewed": not_renewed}
    lines = []
    for n, g in enumerate(groups, start=1):
        lines.append(f"renewal {n}: {g['start']} to {g['end']} ({g['length']}), "
                     f"anchor {g['anchor_contract'] or 'calendar ' + calendar_day}"
                     + (", needs approval" if g["needs_approval"] else ""))
        for ln in g["lines"]:
            lines.append(f"  {ln['contract']}: {ln['start']} to {ln['end']} = {ln['length']} "
                         f"({ln['term_months']}-month term would end {ln['natural_end']}; "
                         f"{ln['effect']})")
        for reason in g["approval_reasons"]:
            lines.append(f"  approval: {reason}")
    for skip in not_renewed:
        lines.append(f"not renewed: {skip['contract']} ({skip['term_months']}-month term is "
                     f"below --min-term {minimum}: it renews by itself)")
    _emit(data, as_json=as_json, text="\n".join(lines))


@rules.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("config.yaml"), show_default=True, help="The config file.")
def check(config_path: Path) -> None:
    """Validate the rules: section of a config file and report every mistake."""
    try:
        load_rules(config_path)
    except YamlSourceError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None
    click.echo(f"{config_path}: rules are valid")


@rules.command()
def schema() -> None:
    """Print the JSON Schema of the rules: section (for editor completion)."""
    click.echo(json.dumps(RulesModel.model_json_schema(), indent=2))
