"""``sfrenew rules ...``: check a rule's number, or the rules config, without an org."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from sfrenew.config.rules import RulesModel, load_rules
from sfrenew.core.domain import RiskLevel
from sfrenew.core.formula import FormulaError, parse
from sfrenew.core.money import format_rate, quantum_for
from sfrenew.core.policy import PricingMethod, ProrationMethod, RiskAdjustment, UpliftPolicy
from sfrenew.core.pricing import line_total
from sfrenew.core.rules.proration import prorate, prorated_amount
from sfrenew.core.rules.uplift import UpliftSource, decide_uplift, with_risk, yearly_prices
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


DECIMAL = DecimalType()
DATE = DateType()


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
             f"{'method':<14} {'fraction':<22} {'amount':>14}"
             + (f" {f'total (× {quantity})':>18}" if quantity != 1 else "")]
    lines += [f"{r['method']:<14} {r['fraction']:<22} {Decimal(r['amount']):>14,}"
              + (f" {Decimal(r['total']):>18,}" if quantity != 1 else "")
              for r in results]
    _emit(data, as_json=as_json, text="\n".join(lines))


prorate_command.name = "prorate"


@rules.command()
@click.option("--price", type=DECIMAL, required=True, help="Prior annual unit price.")
@click.option("--rate", type=DECIMAL, required=True,
              help="The uplift rate found for the line (0.05 = 5%).")
@click.option("--cap", type=DECIMAL, help="Contractual cap on the rate.")
@click.option("--floor", type=DECIMAL, help="Contractual floor on the rate.")
@click.option("--index", "formula", help="Index formula, e.g. 'max(floor, cpi + spread)'.")
@click.option("--cpi", type=DECIMAL, help="Value of cpi in the index formula.")
@click.option("--spread", type=DECIMAL, help="Value of spread in the index formula.")
@click.option("--risk", type=click.Choice([r.value for r in RiskLevel]),
              help="The renewal's risk level (applies --risk-add / --risk-max-rate).")
@click.option("--risk-add", type=DECIMAL, default=Decimal(0), show_default=True,
              help="Risk adjustment added to the rate at --risk.")
@click.option("--risk-max-rate", type=DECIMAL, help="Highest rate at --risk (e.g. 0).")
@click.option("--method", type=click.Choice([m.value for m in PricingMethod]),
              default="uplift", show_default=True, help="Pricing method.")
@click.option("--list-price", type=DECIMAL, help="Price book price (for --method list).")
@click.option("--years", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Years of the renewal term.")
@click.option("--compound/--no-compound", default=True, show_default=True,
              help="Raise the price again each further year.")
@click.option("--currency", default="USD", show_default=True, help="Currency (sets rounding).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def uplift(*, price: Decimal, rate: Decimal, cap: Decimal | None, floor: Decimal | None,
           formula: str | None, cpi: Decimal | None, spread: Decimal | None,
           risk: str | None, risk_add: Decimal, risk_max_rate: Decimal | None, method: str,
           list_price: Decimal | None, years: int, compound: bool, currency: str,
           as_json: bool) -> None:
    """Apply formula, risk adjustment and bounds to a rate, and price each year."""
    decimals = _decimals(currency)
    if price < 0:
        raise click.BadParameter("must not be negative", param_hint="'--price'")
    if cap is not None and floor is not None and floor > cap:
        raise click.BadParameter(f"{floor} is above --cap {cap}", param_hint="'--floor'")
    if method == PricingMethod.LIST and list_price is None:
        raise click.BadParameter("--method list needs the price book price",
                                 param_hint="'--list-price'")
    values = {name: v for name, v in (("cpi", cpi), ("spread", spread)) if v is not None}
    parsed = None
    if formula is not None:
        try:
            parsed = parse(formula)
        except FormulaError as exc:
            raise click.BadParameter(str(exc), param_hint="'--index'") from None
        missing = parsed.variables - {"rate", "floor", *values} - ({"cap"} if cap else set())
        if missing:
            raise click.BadParameter(f"the formula needs {', '.join(sorted(missing))} "
                                     f"(give --cpi, --spread, --cap)", param_hint="'--index'")
    policy = UpliftPolicy(default_rate=rate, pricing=PricingMethod(method), cap=cap, floor=floor,
                          compound_multi_year=compound, index_formula=parsed,
                          index_values=values)
    decision = decide_uplift(rate=rate, source=UpliftSource.DEFAULT, cap=cap, floor=floor,
                             policy=policy)
    if risk is not None:
        decision = with_risk(decision, level=RiskLevel(risk),
                             adjustments={RiskLevel(risk): RiskAdjustment(risk_add, risk_max_rate)})
    prices, decision = yearly_prices(prior=price, list_price=list_price, decision=decision,
                                     years=years, compound=compound, decimals=decimals)
    data = {
        "rate": str(decision.rate), "given_rate": str(rate),
        "index_rate": None if decision.index_rate is None else str(decision.index_rate),
        "risk_rate": None if decision.risk_rate is None else str(decision.risk_rate),
        "bound": decision.bound.value if decision.bound else None,
        "pricing": decision.pricing.value, "currency": currency.upper(),
        "prior_price": str(price), "yearly_prices": [str(p) for p in prices],
        "total": str(sum(prices, Decimal(0))),
    }
    lines = [f"rate: {format_rate(decision.rate)} (given {format_rate(rate)})"]
    if decision.index_rate is not None:
        lines.append(f"index formula: {format_rate(decision.index_rate)}")
    if decision.risk_rate is not None:
        lines.append(f"after {risk} risk adjustment: {format_rate(decision.risk_rate)}")
    if decision.bound is not None:
        lines.append(f"bound fired: {decision.bound.value}")
    lines.append(f"pricing: {decision.pricing.value}")
    lines += [f"year {i}: {p:,} {currency.upper()}" for i, p in enumerate(prices, start=1)]
    if years > 1:
        lines.append(f"total: {sum(prices, Decimal(0)):,} {currency.upper()}")
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
