"""Recursive-descent parser for the SOQL subset the local org answers.

The grammar follows Salesforce's where it is stricter than SQL: AND and OR cannot be
mixed without parentheses, and NOT applies to one parenthesised or simple condition
and ends the condition. Syntax outside the subset (field functions, GROUP BY
ROLLUP, bind variables...) is a MALFORMED_QUERY located at the offending token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._datefn import DATE_FUNCTIONS
from sfrenew.localorg.soql._errors import MALFORMED_QUERY, malformed
from sfrenew.localorg.soql._lexer import Tok, Token, tokenize
from sfrenew.localorg.soql.dates import RELATIVE_WITH_N, RELATIVE_WITHOUT_N

_T = TypeVar("_T")
_AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
_CLAUSE_WORDS = frozenset({"FROM", "WHERE", "WITH", "GROUP", "HAVING", "ORDER", "LIMIT",
                           "OFFSET", "FOR", "USING", "UPDATE", "AND", "OR", "NOT"})
_COMPARISON_OPS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})


def parse(soql: str) -> ast.Query:
    """Parse a SOQL statement; a syntax error is a 400 MALFORMED_QUERY shaped like Salesforce's."""
    try:
        return _Parser(soql).statement()
    except RecursionError:
        raise malformed(soql, 0, text="Query is too complicated: too deeply nested") from None


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    # ---- token helpers ----------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not Tok.EOF:
            self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None) -> SalesforceApiError:
        tok = tok or self.tok
        text = f"'{tok.text}'" if tok.kind is Tok.STRING else tok.text
        return malformed(self.soql, tok.pos, text=f"unexpected token: {text}")

    def unsupported(self, tok: Token, what: str) -> SalesforceApiError:
        return malformed(self.soql, tok.pos, text=f"{what} is not supported by the local org")

    def expect_kw(self, *words: str) -> Token:
        if not self.tok.is_kw(*words):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: Tok) -> Token:
        if self.tok.kind is not kind:
            raise self.unexpected()
        return self.advance()

    # ---- statement --------------------------------------------------------------------

    def statement(self) -> ast.Query:
        if not self.tok.is_kw("SELECT"):
            # Salesforce answers a statement that does not start with SELECT without
            # the row/column preamble (recorded: "unexpected token: SELEKT").
            raise SalesforceApiError.single(400, MALFORMED_QUERY,
                                            f"unexpected token: {self.tok.text}")
        query = self.query()
        if self.tok.kind is not Tok.EOF:
            raise self.unexpected()
        return query

    def query(self) -> ast.Query:
        self.expect_kw("SELECT")
        select, count_only = self.select_list()
        self.expect_kw("FROM")
        obj = self.expect(Tok.IDENT)
        fields: dict[str, object] = {"select": tuple(select), "object_name": obj.text,
                                     "object_pos": obj.pos, "count_only": count_only}
        if self.tok.kind is Tok.IDENT and self.tok.text.upper() not in _CLAUSE_WORDS:
            fields["alias"] = self.advance().text
        if self.tok.is_kw("USING"):
            self.advance()
            self.expect_kw("SCOPE")
            fields["scope"] = self.expect(Tok.IDENT).text
        if self.tok.is_kw("WHERE"):
            self.advance()
            fields["where"] = self.condition()
        if self.tok.is_kw("WITH"):
            with_tok = self.advance()
            if self.tok.is_kw("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"):
                fields["with_clause"] = self.advance().text.upper()
            elif self.tok.is_kw("DATA"):
                raise self.unsupported(with_tok, "WITH DATA CATEGORY")
            else:
                raise self.unexpected()
        if self.tok.is_kw("GROUP"):
            group_tok = self.advance()
            self.expect_kw("BY")
            if self.tok.is_kw("ROLLUP", "CUBE") and self.peek().kind is Tok.LPAREN:
                raise self.unsupported(self.tok, f"GROUP BY {self.tok.text.upper()}")
            fields["group_by"] = tuple(self.comma_list(self.group_item))
            fields["group_by_pos"] = group_tok.pos
        if self.tok.is_kw("HAVING") and "group_by" in fields:
            self.advance()
            fields["having"] = self.condition()
        if self.tok.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            fields["order_by"] = tuple(self.comma_list(self.order_item))
        if self.tok.is_kw("LIMIT"):
            self.advance()
            fields["limit"] = self.integer()
        if self.tok.is_kw("OFFSET"):
            fields["offset_pos"] = self.advance().pos
            fields["offset"] = self.integer()
        if self.tok.is_kw("FOR"):
            for_tok = self.advance()
            if self.tok.is_kw("VIEW", "REFERENCE"):
                fields["for_clause"] = self.advance().text.upper()
            else:
                # FOR UPDATE locks rows in Apex; the REST API's parser rejects it.
                raise self.unexpected(for_tok)
        if self.tok.is_kw("UPDATE"):
            raise self.unsupported(self.tok, "UPDATE TRACKING/VIEWSTAT")
        return ast.Query(**fields)  # type: ignore[arg-type]

    def comma_list(self, parse_item: Callable[[], _T]) -> list[_T]:
        out = [parse_item()]
        while self.tok.kind is Tok.COMMA:
            self.advance()
            out.append(parse_item())
        return out

    def integer(self) -> int:
        tok = self.tok
        if tok.kind is Tok.COLON:
            raise malformed(self.soql, tok.pos, text="Bind variables only allowed in Apex code")
        if tok.kind is not Tok.NUMBER or not tok.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(tok.text)

    # ---- field list -------------------------------------------------------------------

    def select_list(self) -> tuple[list[ast.SelectItem | ast.SubquerySelect | ast.TypeOfSelect],
                                   bool]:
        items: list[ast.SelectItem | ast.SubquerySelect | ast.TypeOfSelect] = []
        count_only = False
        while True:
            tok = self.tok
            if tok.kind is Tok.LPAREN:
                self.advance()
                if not self.tok.is_kw("SELECT"):
                    raise self.unexpected()
                sub = self.query()
                self.expect(Tok.RPAREN)
                items.append(ast.SubquerySelect(sub, tok.pos))
            elif tok.is_kw("TYPEOF") and self.peek().kind is Tok.IDENT:
                items.append(self.typeof())
            elif tok.kind is Tok.IDENT:
                expr = self.select_expr()
                if isinstance(expr, ast.Aggregate) and expr.arg is None:
                    count_only = True
                alias, alias_pos = None, -1
                if (self.tok.kind is Tok.IDENT and self.tok.text.upper() not in _CLAUSE_WORDS
                        and not count_only):
                    alias_pos = self.tok.pos
                    alias = self.advance().text
                items.append(ast.SelectItem(expr, alias, tok.pos, alias_pos))
            else:
                raise self.unexpected()
            if self.tok.kind is not Tok.COMMA:
                break
            self.advance()
        if count_only and len(items) > 1:
            first = next(i for i in items if isinstance(i, ast.SelectItem)
                         and isinstance(i.expr, ast.Aggregate) and i.expr.arg is None)
            raise malformed(self.soql, first.pos, text="COUNT() must be the only element in the "
                                                       "SELECT list.")
        return items, count_only

    def typeof(self) -> ast.TypeOfSelect:
        start = self.advance()
        relationship = self.expect(Tok.IDENT)
        branches: list[tuple[str, tuple[ast.FieldPath, ...]]] = []
        else_fields: tuple[ast.FieldPath, ...] = ()
        while self.tok.is_kw("WHEN"):
            self.advance()
            obj = self.expect(Tok.IDENT).text
            self.expect_kw("THEN")
            branches.append((obj, tuple(self.comma_list(self.field_path))))
        if not branches:
            raise self.unexpected()
        if self.tok.is_kw("ELSE"):
            self.advance()
            else_fields = tuple(self.comma_list(self.field_path))
        self.expect_kw("END")
        return ast.TypeOfSelect(relationship.text, tuple(branches), else_fields, start.pos)

    def group_item(self) -> ast.FieldPath | ast.DateFunction:
        if self.tok.kind is Tok.IDENT and self.peek().kind is Tok.LPAREN:
            func = self.function()
            if isinstance(func, ast.DateFunction):
                return func
            raise malformed(self.soql, func.pos, text="Aggregate functions are not allowed in "
                                                      "GROUP BY")
        return self.field_path()

    def select_expr(self) -> ast.FieldPath | ast.Aggregate | ast.DateFunction | ast.FieldsFunction:
        tok = self.tok
        if self.peek().kind is not Tok.LPAREN:
            return self.field_path()
        name = tok.text.upper()
        if name == "FIELDS":
            self.advance()
            self.advance()
            which = self.expect_kw("ALL", "STANDARD", "CUSTOM")
            self.expect(Tok.RPAREN)
            return ast.FieldsFunction(which.text.upper(), tok.pos)
        return self.function()

    def function(self) -> ast.Aggregate | ast.DateFunction:
        tok = self.tok
        name = tok.text.upper()
        if name in DATE_FUNCTIONS:
            self.advance()
            self.expect(Tok.LPAREN)
            arg = self.field_path()
            self.expect(Tok.RPAREN)
            return ast.DateFunction(name, arg, tok.pos)
        if name not in _AGGREGATES:
            raise self.unsupported(tok, f"The function {tok.text}()")
        self.advance()
        self.expect(Tok.LPAREN)
        if self.tok.kind is Tok.RPAREN and name == "COUNT":
            self.advance()
            return ast.Aggregate("COUNT", None, tok.pos)
        if self.peek().kind is Tok.LPAREN and self.tok.kind is Tok.IDENT:
            raise self.unsupported(self.tok, f"The function {self.tok.text}()")
        arg = self.field_path()
        self.expect(Tok.RPAREN)
        return ast.Aggregate(name, arg, tok.pos)

    def field_path(self) -> ast.FieldPath:
        tok = self.tok
        if tok.kind is not Tok.IDENT:
            raise self.unexpected()
        if self.peek().kind is Tok.LPAREN:
            raise self.unsupported(tok, f"The function {tok.text}()")
        self.advance()
        return ast.FieldPath(tuple(tok.text.split(".")), tok.pos)

    def order_item(self) -> ast.OrderItem:
        expr: ast.Operand
        if self.tok.kind is Tok.IDENT and self.peek().kind is Tok.LPAREN:
            expr = self.function()
        else:
            expr = self.field_path()
        descending = False
        if self.tok.is_kw("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_first = None
        if self.tok.is_kw("NULLS"):
            self.advance()
            nulls_first = self.expect_kw("FIRST", "LAST").text.upper() == "FIRST"
        return ast.OrderItem(expr, descending, nulls_first)

    # ---- conditions -------------------------------------------------------------------

    def condition(self) -> ast.Condition:
        if self.tok.is_kw("NOT"):
            self.advance()
            return ast.Not(self.primary())
        first = self.primary()
        if not self.tok.is_kw("AND", "OR"):
            return first
        joiner = self.tok.text.upper()
        items = [first]
        while self.tok.is_kw(joiner):
            self.advance()
            items.append(self.primary())
        if self.tok.is_kw("AND", "OR"):
            raise self.unexpected()  # mixing AND and OR needs parentheses in SOQL
        return ast.And(tuple(items)) if joiner == "AND" else ast.Or(tuple(items))

    def primary(self) -> ast.Condition:
        if self.tok.kind is Tok.LPAREN:
            self.advance()
            cond = self.condition()
            self.expect(Tok.RPAREN)
            return cond
        return self.simple()

    def simple(self) -> ast.Condition:
        start = self.tok
        left: ast.Operand
        if start.kind is Tok.IDENT and self.peek().kind is Tok.LPAREN:
            left = self.function()
        else:
            left = self.field_path()
        tok = self.tok
        if tok.kind is Tok.OP and tok.text in _COMPARISON_OPS:
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return ast.Comparison(left, op, self.value(), start.pos)
        if tok.is_kw("LIKE"):
            self.advance()
            return ast.Comparison(left, "LIKE", self.value(), start.pos)
        negated = False
        if tok.is_kw("NOT") and self.peek().is_kw("IN"):
            self.advance()
            negated = True
        if self.tok.is_kw("IN", "INCLUDES", "EXCLUDES"):
            word = self.advance().text.upper()
            if self.tok.kind is Tok.COLON:
                raise malformed(self.soql, self.tok.pos,
                                text="Bind variables only allowed in Apex code")
            self.expect(Tok.LPAREN)
            if word == "IN" and self.tok.is_kw("SELECT"):
                if not isinstance(left, ast.FieldPath):
                    raise self.unexpected(start)
                sub = self.query()
                self.expect(Tok.RPAREN)
                return ast.InSubquery(left, sub, negated, start.pos)
            values = self.comma_list(self.value)
            self.expect(Tok.RPAREN)
            return ast.InList(left, tuple(values), negated or word == "EXCLUDES", start.pos,
                              multi=word != "IN")
        raise self.unexpected()

    def value(self) -> ast.Value:
        tok = self.tok
        if tok.kind is Tok.STRING:
            self.advance()
            return ast.StringValue(tok.text, tok.pos)
        if tok.kind is Tok.SIGN and self.peek().kind is Tok.NUMBER:
            self.advance()
            num = self.advance()
            return ast.NumberValue(tok.text + num.text, tok.pos)
        if tok.kind is Tok.NUMBER:
            self.advance()
            return ast.NumberValue(tok.text, tok.pos)
        if tok.kind is Tok.DATE:
            self.advance()
            try:
                return ast.DateValue(date.fromisoformat(tok.text), tok.pos)
            except ValueError:
                raise self.unexpected(tok) from None
        if tok.kind is Tok.DATETIME:
            self.advance()
            text = re.sub(r"(\.\d{1,6})\d*", r"\1", tok.text.replace("Z", "+00:00"))
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise self.unexpected(tok) from None
            return ast.DateTimeValue(parsed.astimezone(UTC), tok.pos)
        if tok.kind is Tok.COLON:
            raise malformed(self.soql, tok.pos, text="Bind variables only allowed in Apex code")
        if tok.kind is Tok.IDENT:
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return ast.BoolValue(word == "TRUE", tok.pos)
            if word == "NULL":
                self.advance()
                return ast.NullValue(tok.pos)
            if word in RELATIVE_WITHOUT_N:
                self.advance()
                return ast.RelativeDate(word, None, tok.pos)
            if word in RELATIVE_WITH_N:
                self.advance()
                self.expect(Tok.COLON)
                return ast.RelativeDate(word, self.integer(), tok.pos)
            if len(word) > 3 and word[:3].isalpha() and word[3:].replace(".", "").isdigit():
                raise self.unsupported(tok, "A currency literal")
        raise self.unexpected()
