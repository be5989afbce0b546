"""The index formula language: parsed, never eval'd."""

import re
from decimal import Decimal

import pytest

from sfrenew.core.formula import FormulaError, parse

V = {"cpi": Decimal("0.031"), "spread": Decimal("0.01"), "floor": Decimal("0.03"),
     "rate": Decimal("0.05")}


@pytest.mark.parametrize(("text", "value"), [
    ("max(floor, cpi + spread)", "0.041"),
    ("min(rate, cpi + spread)", "0.041"),
    ("max(floor, min(rate, cpi))", "0.031"),
    ("cpi * 2 - spread", "0.052"),
    ("-cpi + 1", "0.969"),
    ("(rate + cpi) / 2", "0.0405"),
    ("abs(-0.5)", "0.5"),
    ("  .5 + 1.  ", "1.5"),
    ("2 * 3 + 4", "10"),
    ("2 * (3 + 4)", "14"),
    ("max(1, 2, 3)", "3"),
])
def test_evaluates(text: str, value: str) -> None:
    assert parse(text).evaluate(V) == Decimal(value)


@pytest.mark.parametrize(("text", "message"), [
    ("max(floor,", "found the end"),
    ("1 + * 2", "found '*'"),
    ("__import__('os')", "unexpected character"),
    ("open(1)", "unknown function 'open'"),
    ("1 ; 2", "unexpected character ';'"),
    ("(1 + 2", "expected ')'"),
    ("1 2", "expected 'end'"),
    ("abs(1, 2)", "exactly one"),
    ("x" * 501, "longer than 500"),
])
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=re.escape(message)):
        parse(text)


def test_unknown_variable_and_division_by_zero() -> None:
    with pytest.raises(FormulaError, match="unknown variable 'cpj'"):
        parse("cpj + 1").evaluate(V)
    with pytest.raises(FormulaError, match="division by zero"):
        parse("1 / (rate - rate)").evaluate(V)


def test_variables() -> None:
    assert parse("max(floor, cpi + spread) * 1").variables == {"floor", "cpi", "spread"}
