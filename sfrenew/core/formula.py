"""A small, safe expression language for index-linked uplift formulas.

Admins write formulas such as ``max(floor, cpi + spread)``. They are parsed once
(when the config loads) into a tree and evaluated with :class:`~decimal.Decimal`;
nothing is ever passed to ``eval``. The language has decimal numbers, variables,
``+ - * /``, unary minus, parentheses and the functions ``max``, ``min`` and ``abs``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation

FUNCTIONS = frozenset({"max", "min", "abs"})
_TOKEN = re.compile(r"(\d+(?:\.\d*)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.)")


class FormulaError(ValueError):
    """A formula that cannot be parsed or evaluated; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Num:
    """A decimal literal."""

    value: Decimal


@dataclass(frozen=True, slots=True)
class Var:
    """A variable, looked up when the formula is evaluated."""

    name: str


@dataclass(frozen=True, slots=True)
class BinOp:
    """``left op right`` for op in ``+ - * /``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Call:
    """``max(...)``, ``min(...)`` or ``abs(x)``."""

    function: str
    args: tuple[Node, ...]


Node = Num | Var | BinOp | Neg | Call


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed formula and the text it came from."""

    text: str
    tree: Node

    @property
    def variables(self) -> frozenset[str]:
        """Every variable name the formula reads."""
        return _variables(self.tree)

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal:
        """The formula's value; raises FormulaError for an unknown variable or ÷ 0."""
        return _evaluate(self.tree, values)


def _variables(node: Node) -> frozenset[str]:
    if isinstance(node, Var):
        return frozenset({node.name})
    if isinstance(node, BinOp):
        return _variables(node.left) | _variables(node.right)
    if isinstance(node, Neg):
        return _variables(node.operand)
    if isinstance(node, Call):
        return frozenset().union(*(_variables(a) for a in node.args))
    return frozenset()


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        match = _TOKEN.match(text, pos)
        if match is None:  # unreachable: the last alternative matches any character
            break
        number, name, symbol = match.groups()
        start = match.start(match.lastindex or 0)
        if number is not None:
            tokens.append(("num", number, start))
        elif name is not None:
            tokens.append(("name", name, start))
        elif symbol is not None:
            if symbol not in "+-*/(),":
                raise FormulaError(f"unexpected character {symbol!r} at position {start + 1}")
            tokens.append((symbol, symbol, start))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent: expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self, kind: str) -> tuple[str, str, int]:
        token = self.peek()
        if token[0] != kind:
            found = "the end" if token[0] == "end" else repr(token[1])
            raise FormulaError(f"expected {kind!r} but found {found} at position {token[2] + 1}")
        self.pos += 1
        return token

    def expr(self) -> Node:
        node = self.term()
        while self.peek()[0] in ("+", "-"):
            op = self.take(self.peek()[0])[0]
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek()[0] in ("*", "/"):
            op = self.take(self.peek()[0])[0]
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek()[0] == "-":
            self.take("-")
            return Neg(self.unary())
        if self.peek()[0] == "+":
            self.take("+")
            return self.unary()
        return self.atom()

    def atom(self) -> Node:
        kind, text, where = self.peek()
        if kind == "num":
            self.take("num")
            return Num(Decimal(text))
        if kind == "name":
            self.take("name")
            if self.peek()[0] != "(":
                return Var(text)
            if text not in FUNCTIONS:
                raise FormulaError(f"unknown function {text!r} at position {where + 1} "
                                   f"(allowed: {', '.join(sorted(FUNCTIONS))})")
            self.take("(")
            args = [self.expr()]
            while self.peek()[0] == ",":
                self.take(",")
                args.append(self.expr())
            self.take(")")
            if text == "abs" and len(args) != 1:
                raise FormulaError("abs() takes exactly one argument")
            return Call(text, tuple(args))
        if kind == "(":
            self.take("(")
            node = self.expr()
            self.take(")")
            return node
        found = "the end" if kind == "end" else repr(text)
        raise FormulaError(f"expected a number, a name or '(' but found {found} "
                           f"at position {where + 1}")


def parse(text: str) -> Formula:
    """Parse a formula; raises FormulaError naming the position of the first problem."""
    if len(text) > 500:
        raise FormulaError("formula is longer than 500 characters")
    parser = _Parser(text)
    tree = parser.expr()
    parser.take("end")
    return Formula(text, tree)


def _evaluate(node: Node, values: Mapping[str, Decimal]) -> Decimal:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Var):
        if node.name not in values:
            raise FormulaError(f"unknown variable {node.name!r} "
                               f"(known: {', '.join(sorted(values))})")
        return values[node.name]
    if isinstance(node, Neg):
        return -_evaluate(node.operand, values)
    if isinstance(node, Call):
        args = [_evaluate(a, values) for a in node.args]
        if node.function == "max":
            return max(args)
        if node.function == "min":
            return min(args)
        return abs(args[0])
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    try:
        return left / right
    except (DivisionByZero, InvalidOperation):
        raise FormulaError("division by zero") from None
