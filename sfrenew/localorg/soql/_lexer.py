"""SOQL tokens.

Dotted names (``Account.Owner.Name``) are one token: SOQL never puts spaces inside a
field path, and keeping the path whole makes the parser's lookahead trivial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sfrenew.localorg.soql._errors import malformed


class Tok(StrEnum):
    """Token kinds."""

    IDENT = "ident"
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    OP = "op"
    COLON = ":"
    SIGN = "sign"
    EOF = "<EOF>"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its source text (strings: the raw body) and its offset."""

    kind: Tok
    text: str
    pos: int

    def is_kw(self, *words: str) -> bool:
        """True when this is an identifier spelling one of ``words`` (upper case)."""
        return self.kind is Tok.IDENT and self.text.upper() in words


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})(?![0-9A-Za-z_])"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![0-9A-Za-z_])")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?![A-Za-z_])")
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_WS = " \t\r\n\f"


def tokenize(soql: str) -> list[Token]:
    """Split a SOQL statement into tokens; a stray character is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    i = 0
    n = len(soql)
    while True:
        while i < n and soql[i] in _WS:
            i += 1
        if i >= n:
            tokens.append(Token(Tok.EOF, "<EOF>", i))
            return tokens
        ch = soql[i]
        if ch == "'":
            end = _string_end(soql, i)
            decode_string(soql[i + 1 : end], soql=soql, pos=i, like=True)  # reject bad escapes
            tokens.append(Token(Tok.STRING, soql[i + 1 : end], i))
            i = end + 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and soql[i + 1].isdigit()):
            m = _DATETIME.match(soql, i)
            kind = Tok.DATETIME
            if m is None:
                m, kind = _DATE.match(soql, i), Tok.DATE
            if m is None:
                m, kind = _NUMBER.match(soql, i), Tok.NUMBER
            if m is None:
                word = re.match(r"[0-9A-Za-z_.]+", soql[i:])
                text = word.group(0) if word else ch
                raise malformed(soql, i, text=f"unexpected token: {text}")
            tokens.append(Token(kind, m.group(0), i))
            i = m.end()
            continue
        m = _IDENT.match(soql, i)
        if m is not None:
            tokens.append(Token(Tok.IDENT, m.group(0), i))
            i = m.end()
            continue
        if ch in "(),:":
            tokens.append(Token(Tok(ch), ch, i))
            i += 1
            continue
        if ch in "+-":
            tokens.append(Token(Tok.SIGN, ch, i))
            i += 1
            continue
        op = next((o for o in _OPS if soql.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token(Tok.OP, op, i))
            i += len(op)
            continue
        raise malformed(soql, i, text=f"unexpected token: {ch}")


def _string_end(soql: str, start: int) -> int:
    i = start + 1
    while i < len(soql):
        ch = soql[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "'":
            return i
        i += 1
    raise malformed(soql, len(soql), text="unexpected token: <EOF>")


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def decode_string(raw: str, *, soql: str, pos: int, like: bool = False) -> str:
    r"""The value of a string literal's raw body.

    With ``like``, the result is a pattern for SQLite ``LIKE ... ESCAPE '\'``: ``\%`` and
    ``\_`` stay literal, a literal backslash is doubled, ``%`` and ``_`` stay wildcards.
    Outside LIKE, Salesforce rejects ``\%`` and ``\_`` like any unknown escape.
    """
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in ("%", "_") and like:
            out.append("\\" + nxt)
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]):
            decoded = chr(int(raw[i + 2 : i + 6], 16))
            out.append("\\\\" if like and decoded == "\\" else decoded)
            i += 6
            continue
        elif nxt in _ESCAPES:
            decoded = _ESCAPES[nxt]
            out.append("\\\\" if like and decoded == "\\" else decoded)
        else:
            raise malformed(soql, pos, text=f"Invalid string literal '{raw}'. Illegal character "
                                            f"sequence '\\{nxt}' in string literal.")
        i += 2
    return "".join(out)
