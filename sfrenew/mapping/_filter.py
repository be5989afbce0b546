"""Check that a mapping's ``filter:`` is a simple SOQL WHERE condition.

A filter is written by an admin once, with its values in it, and sfrenew puts it in
parentheses after ``WHERE``; sfrenew never formats values into it. So the check only
accepts what a condition can contain (fields, comparison operators, literals, AND/OR/
NOT, parentheses) and rejects anything that could change the rest of the query:
sub-queries, clause keywords, bind variables, semicolons, comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class FilterSyntaxError(ValueError):
    """The filter is not a simple SOQL condition; the message says why."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
""", re.VERBOSE)

_CLAUSE_WORDS = frozenset({"select", "from", "where", "limit", "offset", "order", "group",
                           "having", "with", "typeof", "for", "update", "using", "by"})
_WORD_OPS = frozenset({"like", "in", "includes", "excludes"})
_CONSTANTS = frozenset({"true", "false", "null"})
# Date literals (TODAY, LAST_N_DAYS:30, THIS_QUARTER...): upper-case words used as values.
_DATE_LITERAL = re.compile(r"^(?:[A-Z]+(?:_[A-Z]+)*)(?::\d+)?$")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"unexpected {text[pos]!r} at character {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() in words

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise FilterSyntaxError("the condition ends too early")
        self.i += 1
        return tok

    def expr(self) -> None:
        self.term()
        while self.word("or"):
            self.take()
            self.term()

    def term(self) -> None:
        self.factor()
        while self.word("and"):
            self.take()
            self.factor()

    def factor(self) -> None:
        if self.word("not"):
            self.take()
            self.factor()
            return
        tok = self.peek()
        if tok is not None and tok.kind == "lparen":
            self.take()
            self.expr()
            if self.take().kind != "rparen":
                raise FilterSyntaxError("missing ')'")
            return
        self.comparison()

    def comparison(self) -> None:
        field = self.take()
        low = field.text.lower()
        if field.kind != "word" or low in _CLAUSE_WORDS or low in _CONSTANTS or ":" in low:
            raise FilterSyntaxError(f"expected a field name, found {field.text!r}")
        if self.word("not"):
            self.take()
            if not self.word("in", "like"):
                raise FilterSyntaxError("NOT after a field must be followed by IN or LIKE")
        op = self.take()
        if op.kind == "op" or (op.kind == "word" and op.text.lower() == "like"):
            self.value()
        elif op.kind == "word" and op.text.lower() in _WORD_OPS:
            self.value_list()
        else:
            raise FilterSyntaxError(f"expected an operator after {field.text!r}, "
                                    f"found {op.text!r}")

    def value(self) -> None:
        tok = self.take()
        if tok.kind in ("string", "number", "date", "datetime"):
            return
        if tok.kind == "word" and (tok.text.lower() in _CONSTANTS
                                   or _DATE_LITERAL.match(tok.text)):
            return
        raise FilterSyntaxError(f"expected a literal value, found {tok.text!r}")

    def value_list(self) -> None:
        if self.take().kind != "lparen":
            raise FilterSyntaxError("IN, INCLUDES and EXCLUDES take a list: ('a', 'b')")
        if self.word("select"):
            raise FilterSyntaxError("sub-queries are not allowed")
        self.value()
        while (tok := self.peek()) is not None and tok.kind == "comma":
            self.take()
            self.value()
        if self.take().kind != "rparen":
            raise FilterSyntaxError("missing ')' after the value list")


def check_filter(text: str) -> None:
    """Raise FilterSyntaxError unless ``text`` is a simple SOQL WHERE condition."""
    if not text.strip():
        raise FilterSyntaxError("the condition is empty")
    if re.search(r"(--|/\*|;)", _strip_strings(text)):
        raise FilterSyntaxError("comments and ';' are not allowed")
    parser = _Parser(_tokens(text))
    parser.expr()
    rest = parser.peek()
    if rest is not None:
        raise FilterSyntaxError(f"unexpected {rest.text!r} after the condition")


def _strip_strings(text: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
