"""renewable_lines: amendments netted per product, lines stopped early left out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.core.domain import ContractLine
from sfrenew.core.rules.lines import LineNoteKind, quantity_text, renewable_lines
from tests.unit.core.builders import contract

END = date(2024, 3, 31)  # the builders' contract end
D = Decimal


def _line(lid: str, qty: str, price: str | None = "1200", *, product: str = "P1",
          start: date | None = None, end: date | None = None,
          terminated: date | None = None) -> ContractLine:
    return ContractLine(id=lid, product_id=product, product_name=f"Product {product}",
                        quantity=D(qty), annual_price=D(price) if price else None,
                        start_date=start, end_date=end, terminated_date=terminated)


# (lines in, [(id, quantity, annual price) renewed], [(kind, line id, text)])
Case = tuple[list[ContractLine], list[tuple[str, str, str | None]],
             list[tuple[LineNoteKind, str, str]]]
CASES: dict[str, Case] = {
    "amendment downsell": (
        [_line("L1", "100"), _line("L2", "-20", start=date(2023, 10, 1))],
        # 100 − 20 = 80 at the shared price 1,200.
        [("L1", "80", "1200")],
        [(LineNoteKind.NETTED, "L1", "Product P1: quantity 100 − 20 (amendment) = 80")]),
    "upsell at another price": (
        [_line("L1", "100"), _line("L2", "50", "1000", start=date(2023, 10, 1))],
        # (100 × 1,200 + 50 × 1,000) / 150 = 170,000 / 150 = 1,133.33… a year.
        [("L1", "150", str(D(170_000) / 150))],
        [(LineNoteKind.NETTED, "L1", "Product P1: quantity 100 + 50 (amendment) = 150")]),
    "the source is the earliest positive line, whatever the Ids": (
        [_line("L0", "-20", start=date(2023, 10, 1)), _line("L1", "30", start=date(2023, 7, 1)),
         _line("L2", "100", start=date(2023, 4, 1))],
        # 100 + 30 − 20 = 110 on L2, the line sold first.
        [("L2", "110", "1200")],
        [(LineNoteKind.NETTED, "L2",
          "Product P1: quantity 100 + 30 (amendment) − 20 (amendment) = 110")]),
    "netted to zero": (
        [_line("L1", "100"), _line("L2", "-100", start=date(2023, 10, 1)),
         _line("L3", "5", product="P2")],
        [("L3", "5", "1200")],
        [(LineNoteKind.NETTED_OUT, "L1", "Product P1: quantity 100 − 100 (amendment) = 0; "
                                         "nothing left to renew, so it is not renewed")]),
    "a lone line without units": (
        [_line("L1", "-3"), _line("L2", "5", product="P2")],
        [("L2", "5", "1200")],
        [(LineNoteKind.NETTED_OUT, "L1", "Product P1: quantity -3; nothing left to renew, "
                                         "so it is not renewed")]),
    "terminated before the contract's end": (
        [_line("L1", "10"), _line("L2", "5", product="P2", end=END,
                                  terminated=date(2023, 9, 30))],
        [("L1", "10", "1200")],
        [(LineNoteKind.ENDED, "L2", "Product P2 × 5 terminated 2023-09-30, before the "
                                    "contract's end (2024-03-31); not renewed")]),
    "ended before the contract's end": (
        [_line("L1", "10"), _line("L2", "5", product="P2", end=date(2023, 12, 31))],
        [("L1", "10", "1200")],
        [(LineNoteKind.ENDED, "L2", "Product P2 × 5 ended 2023-12-31, before the "
                                    "contract's end (2024-03-31); not renewed")]),
    "ending with the contract renews": (
        [_line("L1", "10", end=END), _line("L2", "5", product="P2", terminated=END)],
        [("L1", "10", "1200"), ("L2", "5", "1200")], []),
    "a line without a price is left for the planner to name": (
        [_line("L1", "100"), _line("L2", "-20", None)],
        [("L1", "100", "1200"), ("L2", "-20", None)], []),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_renewable_lines(case: str) -> None:
    lines, renewed, noted = CASES[case]
    out, notes = renewable_lines(contract(lines=tuple(lines)))
    assert [(ln.id, ln.quantity, ln.annual_price) for ln in out] == [
        (lid, D(q), D(p) if p else None) for lid, q, p in renewed]
    assert [(n.kind, n.line_id, n.text) for n in notes] == noted


def test_plain_lines_come_back_as_they_are() -> None:
    made = contract(lines=(_line("L1", "10"), _line("L2", "5", product="P2", end=END)))
    out, notes = renewable_lines(made)
    assert out is made.lines  # the planner keeps the contract as it is
    assert notes == ()


def test_the_netted_line_keeps_its_source_lines_other_values() -> None:
    source = ContractLine(id="L1", product_id="P1", product_name="Platform",
                          quantity=D(100), annual_price=D(1200), list_price=D(1500),
                          uplift_rate=D("0.03"), product_family="Software")
    (netted,), _ = renewable_lines(contract(lines=(source, _line("L2", "-20"))))
    assert netted == ContractLine(id="L1", product_id="P1", product_name="Platform",
                                  quantity=D(80), annual_price=D(1200), list_price=D(1500),
                                  uplift_rate=D("0.03"), product_family="Software")


@pytest.mark.parametrize(("quantity", "text"), [
    ("100", "100"), ("100.00", "100"), ("2.50", "2.5"), ("-20.0", "-20"), ("0.00", "0")])
def test_quantity_text(quantity: str, text: str) -> None:
    assert quantity_text(D(quantity)) == text


_quantities = st.integers(min_value=-50, max_value=200).map(D)
_prices = st.sampled_from([D(1200), D(1000), D("99.99")])


@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3"]), _quantities, _prices),
                min_size=1, max_size=8))
def test_netting_keeps_each_products_net_quantity_and_annual_value(
        drawn: list[tuple[str, Decimal, Decimal]]) -> None:
    lines = tuple(_line(f"L{i}", str(q), str(p), product=product)
                  for i, (product, q, p) in enumerate(drawn))
    out, _ = renewable_lines(contract(lines=lines))
    net: dict[str, Decimal] = {}
    value: dict[str, Decimal] = {}
    for product, q, p in drawn:
        net[product] = net.get(product, D(0)) + q
        value[product] = value.get(product, D(0)) + q * p
    # One line per product left with units, none for the others.
    assert sorted(ln.product_id for ln in out) == sorted(p for p, n in net.items() if n > 0)
    for ln in out:
        assert ln.quantity == net[ln.product_id]
        assert ln.annual_price is not None
        assert ln.quantity * ln.annual_price == pytest.approx(value[ln.product_id])
        # The renewed line is one of the product's positive lines (its key's source).
        assert ln.id in {f"L{i}" for i, (p, q, _) in enumerate(drawn)
                         if p == ln.product_id and q > 0}
