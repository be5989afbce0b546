"""``sfrenew rules lines``: which of a contract's lines renew, netted, without an org.

Checks the two rules that turn a contract's lines into renewal lines (docs/rules.md,
"Prices and quantities in"): a price read on its basis (``annual``, or ``term`` ÷ the
line's prorate multiplier, as CPQ stores subscription prices), then amendments netted
per product and lines that stop before the contract's end left out
(:func:`sfrenew.core.rules.lines.renewable_lines`, the one definition).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import click

from sfrenew.cli.rules import DATE, DECIMAL, _emit
from sfrenew.core.domain import Contract, ContractLine
from sfrenew.core.rules.lines import quantity_text, renewable_lines
from sfrenew.mapping.price_basis import BasisError, PriceBasis, annual_price

_KEYS = ("start", "end", "terminated", "multiplier")


@dataclass(frozen=True)
class LineSpec:
    """One ``--line`` as typed: product, quantity, price and the optional keys."""

    product: str
    quantity: Decimal
    price: Decimal
    start: date | None = None
    end: date | None = None
    terminated: date | None = None
    multiplier: Decimal | None = None


class LineSpecType(click.ParamType[LineSpec]):
    """``PRODUCT:QUANTITY:PRICE[:key=value...]`` with keys start, end, terminated (dates)
    and multiplier (the prorate multiplier of a term price)."""

    name = "PRODUCT:QTY:PRICE[:key=value]"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> LineSpec:
        """Parse one ``--line``; every mistake names the part at fault."""
        if isinstance(value, LineSpec):
            return value
        parts = [p.strip() for p in str(value).split(":")]
        if len(parts) < 3 or not parts[0]:
            self.fail(f"{value!r} is not PRODUCT:QUANTITY:PRICE[:key=value...]", param, ctx)
        quantity = DECIMAL.convert(parts[1], param, ctx)
        price = DECIMAL.convert(parts[2], param, ctx)
        if price < 0:
            self.fail(f"{value!r}: the price must not be negative", param, ctx)
        extra: dict[str, Any] = {}
        for part in parts[3:]:
            key, sep, raw = part.partition("=")
            if not sep or key not in _KEYS:
                self.fail(f"{value!r}: {part!r} is not one of "
                          f"{', '.join(k + '=...' for k in _KEYS)}", param, ctx)
            extra[key] = (DECIMAL.convert(raw, param, ctx) if key == "multiplier"
                          else DATE.convert(raw, param, ctx))
        return LineSpec(parts[0], quantity, price, **extra)


LINE_SPEC = LineSpecType()


def _line(index: int, spec: LineSpec, basis: PriceBasis) -> ContractLine:
    try:
        price = annual_price(spec.price, basis=basis, multiplier=spec.multiplier)
    except BasisError as exc:
        raise click.BadParameter(f"line {index} ({spec.product}): {exc}",
                                 param_hint="'--line'") from None
    return ContractLine(id=f"line{index}", product_id=spec.product, product_name=spec.product,
                        quantity=spec.quantity, annual_price=price, start_date=spec.start,
                        end_date=spec.end, terminated_date=spec.terminated)


@click.command("lines")
@click.option("--line", "specs", type=LINE_SPEC, multiple=True, required=True,
              help="A contract line (repeatable): PRODUCT:QUANTITY:PRICE, then optional "
                   ":start=D :end=D :terminated=D :multiplier=N. A negative quantity is a "
                   "downsell amendment.")
@click.option("--contract-end", type=DATE, required=True, help="The contract's end date.")
@click.option("--basis", type=click.Choice([b.value for b in PriceBasis]), default="annual",
              show_default=True,
              help="What PRICE covers: a year (annual) or the line's term (term: divided by "
                   "the line's multiplier, as CPQ's Net Price).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def lines(*, specs: tuple[LineSpec, ...], contract_end: date, basis: str,
          as_json: bool) -> None:
    """Which lines of a contract renew: prices per year, amendments netted, stopped lines out.

    \b
    sfrenew rules lines --contract-end 2027-03-31 --line Platform:100:1200 \\
        --line Platform:-20:1200                      # renews 80 Platform at 1,200 a year
    sfrenew rules lines --contract-end 2027-03-31 --basis term \\
        --line Platform:10:3600:multiplier=3          # CPQ: 3,600 for 36 months = 1,200 a year
    """
    chosen = PriceBasis(basis)
    made = tuple(_line(i, spec, chosen) for i, spec in enumerate(specs, start=1))
    contract = Contract(id="contract", account_id="account", number="contract",
                        status="Activated", currency="USD", start_date=None,
                        end_date=contract_end, lines=made)
    renewing, notes = renewable_lines(contract)
    data = {
        "contract_end": contract_end.isoformat(), "basis": chosen.value,
        "lines": [{"line": ln.id, "product": ln.product_name,
                   "quantity": quantity_text(ln.quantity),
                   "annual_price": str(ln.annual_price)} for ln in made],
        "renewing": [{"product": ln.product_name, "source_line": ln.id,
                      "quantity": quantity_text(ln.quantity),
                      "annual_price": str(ln.annual_price)} for ln in renewing],
        "notes": [{"kind": n.kind.value, "product": n.product_id, "text": n.text}
                  for n in notes],
    }
    text = [f"contract ends {contract_end}; prices read as {chosen.value}"]
    text += [f"  {ln.id}: {ln.product_name} {quantity_text(ln.quantity)} at "
             f"{ln.annual_price:,} a year" for ln in made]
    text.append("renews:" if renewing else "renews: nothing")
    text += [f"  {ln.product_name} {quantity_text(ln.quantity)} at {ln.annual_price:,} a year "
             f"(from {ln.id})" for ln in renewing]
    text += [f"  note: {n.text}" for n in notes]
    _emit(data, as_json=as_json, text="\n".join(text))
