"""Which of a contract's lines renew, and with what quantity and price.

A contract's lines are what was sold plus every amendment since: an upsell adds a line
of the same product, a downsell adds one with a negative quantity, a cancelled add-on
ends (or is terminated) before the contract does. A desk renews what the customer holds
at the end, one line per product, as Salesforce CPQ does with *Combine Subscription
Quantities* (subscriptions of the same product become one renewal line with the net
quantity). :func:`renewable_lines` is that rule, the only one:

1. a line that ended or was terminated before the contract's end does not renew;
2. the remaining lines of one product net into one line: quantity = the sum of their
   quantities; annual unit price = their annual value ÷ the net quantity, so the
   renewal starts from exactly what the customer pays today (CPQ prices an amendment
   of an existing subscription at that subscription's price, so the lines usually
   share one price and it is kept unchanged);
3. the netted line is the product's *source* line (its Id, list price and uplift
   field) with the net quantity: the earliest positive line of the product (by start
   date, then Id), so its key is stable while amendments come and go;
4. a product whose net quantity is zero or less does not renew.

Worked example: Platform 100 at 1,200 a year, then an amendment of −20 at 1,200:
100 − 20 (amendment) = 80 units at (120,000 − 24,000) / 80 = 1,200 a year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from sfrenew.core.domain import Contract, ContractLine

_ZERO = Decimal(0)


class LineNoteKind(StrEnum):
    """What happened to some of a contract's lines on the way to its renewal."""

    NETTED = "netted"  # several lines of one product renew as one, with the net quantity
    NETTED_OUT = "netted_out"  # the product's net quantity is zero or less: not renewed
    ENDED = "ended"  # ended or terminated before the contract's end: not renewed


class LineNote(NamedTuple):
    """One sentence about lines that were netted or left out, for the explanation.

    ``line_id`` is the line the note is about: the source line of a netted product
    (the renewal line's source), else the first line concerned.
    """

    kind: LineNoteKind
    product_id: str
    line_id: str
    line_ids: tuple[str, ...]
    text: str


def quantity_text(quantity: Decimal) -> str:
    """``100``, ``2.5``: a quantity without exponent or trailing zeros."""
    text = format(quantity.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def _stop(line: ContractLine) -> tuple[date, str] | None:
    """The day the line stops (its end or termination, whichever comes first)."""
    end, terminated = line.end_date, line.terminated_date
    if terminated is not None and (end is None or terminated <= end):
        return terminated, "terminated"
    if end is not None:
        return end, "ended"
    return None


def _source_order(line: ContractLine) -> tuple[bool, date, str]:
    return line.quantity <= 0, line.start_date or date.min, line.id


def _net(product: list[ContractLine]) -> tuple[ContractLine | None, LineNote]:
    """One product's lines as one line (None when nothing is left to renew)."""
    ordered = sorted(product, key=_source_order)
    source = ordered[0]
    net = _ZERO
    for line in ordered:
        net += line.quantity
    terms = [quantity_text(source.quantity)]
    for line in ordered[1:]:
        sign = "−" if line.quantity < 0 else "+"
        terms.append(f"{sign} {quantity_text(abs(line.quantity))} (amendment)")
    sum_text = f"{' '.join(terms)} = {quantity_text(net)}" if len(ordered) > 1 \
        else quantity_text(net)
    ids = tuple(line.id for line in ordered)
    name = source.product_name
    if net <= 0:
        return None, LineNote(LineNoteKind.NETTED_OUT, source.product_id, source.id, ids,
                              f"{name}: quantity {sum_text}; nothing left to renew, "
                              "so it is not renewed")
    price = source.annual_price
    if price is not None and any(line.annual_price != price for line in ordered):
        value = _ZERO
        for line in ordered:
            value += line.quantity * (line.annual_price or _ZERO)
        price = value / net
    netted = replace(source, quantity=net, annual_price=price)
    return netted, LineNote(LineNoteKind.NETTED, source.product_id, source.id, ids,
                            f"{name}: quantity {sum_text}")


def renewable_lines(contract: Contract) -> tuple[tuple[ContractLine, ...],
                                                 tuple[LineNote, ...]]:
    """The lines that renew (one per product, netted) and notes on what changed.

    Returns ``contract.lines`` itself, with no notes, when every line renews as it is
    (one positive line per product, none stopped before the contract's end): the
    common case costs one pass. A product with a line without a price is left
    un-netted, so the planner can name that line.
    """
    end = contract.end_date
    seen: set[str] = set()
    for line in contract.lines:  # the common case, cheaply: is there anything to do?
        product_id = line.product_id
        if product_id in seen or line.quantity <= _ZERO:
            break
        stop = line.end_date
        if stop is not None and end is not None and stop < end:
            break
        stop = line.terminated_date
        if stop is not None and end is not None and stop < end:
            break
        seen.add(product_id)
    else:
        return contract.lines, ()
    notes: list[LineNote] = []
    by_product: dict[str, list[ContractLine]] = {}
    for line in contract.lines:
        stopped = _stop(line)
        if end is not None and stopped is not None and stopped[0] < end:
            notes.append(LineNote(
                LineNoteKind.ENDED, line.product_id, line.id, (line.id,),
                f"{line.product_name} × {quantity_text(line.quantity)} {stopped[1]} "
                f"{stopped[0].isoformat()}, before the contract's end "
                f"({end.isoformat()}); not renewed"))
            continue
        by_product.setdefault(line.product_id, []).append(line)
    out: list[ContractLine] = []
    for product in by_product.values():
        if len(product) == 1 and product[0].quantity > 0:
            out.append(product[0])
            continue
        if any(line.annual_price is None for line in product):
            out.extend(product)  # the planner reports the line without a price
            continue
        netted, note = _net(product)
        notes.append(note)
        if netted is not None:
            out.append(netted)
    return tuple(out), tuple(notes)
