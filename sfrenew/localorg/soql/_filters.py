"""WHERE and HAVING conditions compiled to parametrised SQLite SQL.

SOQL filters are two-valued: ``Name != 'x'`` and ``NOT Name = 'x'`` include records
whose Name is null, where SQL's three-valued logic would drop them. NOT is therefore
pushed down to the leaves (De Morgan), and each leaf states whether a null value
matches it, so the generated SQL never relies on SQL's NOT over a NULL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import normalize_id
from sfrenew.localorg.schema import NUMERIC_TYPES, FieldType
from sfrenew.localorg.soql import ast
from sfrenew.localorg.soql._errors import INVALID_QUERY_FILTER_OPERATOR, malformed, query_error
from sfrenew.localorg.soql._lexer import decode_string
from sfrenew.localorg.soql.dates import date_range

ID_TYPES = frozenset({FieldType.ID, FieldType.REFERENCE})
NOCASE_TYPES = frozenset({FieldType.STRING, FieldType.TEXTAREA, FieldType.PICKLIST,
                          FieldType.MULTIPICKLIST, FieldType.EMAIL, FieldType.PHONE,
                          FieldType.URL})
_TYPE_WORDS = {FieldType.BOOLEAN: "boolean", FieldType.INT: "int", FieldType.DOUBLE: "double",
               FieldType.CURRENCY: "double", FieldType.PERCENT: "double",
               FieldType.DATE: "date", FieldType.DATETIME: "dateTime"}


@dataclass(frozen=True)
class Operand:
    """The left side of a condition: SQL expression, its field type, its name for errors."""

    sql: str
    type: FieldType
    name: str


def format_datetime(value: datetime) -> str:
    """A datetime in the stored text form (UTC, milliseconds, +0000)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def _day_start(day: date, ftype: FieldType) -> str:
    if ftype is FieldType.DATE:
        return day.isoformat()
    return f"{day.isoformat()}T00:00:00.000+0000"


class FilterCompiler:
    """Compiles conditions; ``operand`` resolves a field path or aggregate to an Operand;
    ``subquery`` compiles a semi-join's SELECT to SQL (appending its parameters)."""

    def __init__(self, *, soql: str, today: date, params: list[Any],
                 operand: Callable[[ast.Operand], Operand],
                 subquery: Callable[[ast.InSubquery, Operand], str]) -> None:
        self.soql = soql
        self.today = today
        self.params = params
        self.operand = operand
        self.subquery = subquery

    def compile(self, cond: ast.Condition, *, negate: bool = False) -> str:
        """SQL for the condition (or for its negation)."""
        if isinstance(cond, ast.Not):
            return self.compile(cond.item, negate=not negate)
        if isinstance(cond, ast.And | ast.Or):
            use_and = isinstance(cond, ast.And) != negate
            joiner = " AND " if use_and else " OR "
            return "(" + joiner.join(self.compile(c, negate=negate) for c in cond.items) + ")"
        if isinstance(cond, ast.Comparison):
            return self._comparison(cond, negate=negate)
        if isinstance(cond, ast.InList):
            return self._in_list(cond, negate=negate)
        return self._semi_join(cond, negate=negate)

    # ---- leaves ----------------------------------------------------------------------

    @staticmethod
    def _leaf(expr: str, core: str, *, nulls_match: bool, negate: bool) -> str:
        if not negate:
            return f"({expr} IS NULL OR {core})" if nulls_match else core
        if nulls_match:
            return f"({expr} IS NOT NULL AND NOT ({core}))"
        return f"({expr} IS NULL OR NOT ({core}))"

    def _comparison(self, cond: ast.Comparison, *, negate: bool) -> str:
        left = self.operand(cond.left)
        value = cond.value
        if self._is_null(value, left):
            if cond.op not in ("=", "!="):
                raise self._bad_operator(cond, left)
            is_null = (cond.op == "=") != negate
            if left.type is FieldType.BOOLEAN:
                # Salesforce: "null matches FALSE values" for booleans.
                return f"COALESCE({left.sql}, 0) = {0 if is_null else 1}"
            return f"{left.sql} IS NULL" if is_null else f"{left.sql} IS NOT NULL"
        if cond.op == "LIKE":
            if left.type not in NOCASE_TYPES | ID_TYPES or not isinstance(value, ast.StringValue):
                raise self._bad_operator(cond, left)
            self.params.append(decode_string(value.raw, soql=self.soql, pos=value.pos, like=True))
            return self._leaf(left.sql, f"{left.sql} LIKE ? ESCAPE '\\'", nulls_match=False,
                              negate=negate)
        if left.type in (FieldType.DATE, FieldType.DATETIME) and isinstance(
                value, ast.DateValue | ast.RelativeDate):
            return self._range(cond, left, value=value, negate=negate)
        param = self.param(left, value)
        if left.type is FieldType.BOOLEAN and cond.op not in ("=", "!="):
            raise self._bad_operator(cond, left)
        self.params.append(param)
        collate = " COLLATE NOCASE" if left.type in NOCASE_TYPES else ""
        if cond.op == "!=":
            return self._leaf(left.sql, f"{left.sql} <> ?{collate}", nulls_match=True,
                              negate=negate)
        return self._leaf(left.sql, f"{left.sql} {cond.op} ?{collate}", nulls_match=False,
                          negate=negate)

    def _range(self, cond: ast.Comparison, left: Operand, *,
               value: ast.DateValue | ast.RelativeDate, negate: bool) -> str:
        if isinstance(value, ast.DateValue):
            if left.type is FieldType.DATETIME:
                raise self._wrong_type(value.pos, left)
            first = last = value.value
        else:
            first, last = date_range(value.name, value.n, today=self.today)
        lo = _day_start(first, left.type)
        hi = _day_start(last + timedelta(days=1), left.type)
        e = left.sql
        forms = {"=": (f"({e} >= ? AND {e} < ?)", [lo, hi], False),
                 "!=": (f"({e} < ? OR {e} >= ?)", [lo, hi], True),
                 "<": (f"{e} < ?", [lo], False), "<=": (f"{e} < ?", [hi], False),
                 ">": (f"{e} >= ?", [hi], False), ">=": (f"{e} >= ?", [lo], False)}
        core, params, nulls_match = forms[cond.op]
        self.params.extend(params)
        return self._leaf(e, core, nulls_match=nulls_match, negate=negate)

    def _in_list(self, cond: ast.InList, *, negate: bool) -> str:
        left = self.operand(cond.left)
        if cond.multi:
            return self._includes(cond, left, negate=negate)
        if left.type in (FieldType.DATE, FieldType.DATETIME):
            # Dates in a list are ranges (a day, or TODAY, LAST_N_DAYS:n...): OR of equalities.
            op = "!=" if cond.negated else "="
            leaves = tuple(ast.Comparison(cond.left, op, v, cond.pos) for v in cond.values)
            combined: ast.Condition = ast.And(leaves) if cond.negated else ast.Or(leaves)
            return self.compile(combined, negate=negate)
        has_null = any(self._is_null(v, left) for v in cond.values)
        values = [self.param(left, v) for v in cond.values if not self._is_null(v, left)]
        collate = " COLLATE NOCASE" if left.type in NOCASE_TYPES else ""
        if values:
            self.params.extend(values)
            core = f"{left.sql}{collate} IN ({', '.join('?' * len(values))})"
        else:
            core = "0"
        # NOT IN matches nulls (two-valued logic) unless null is one of the listed values.
        return self._leaf(left.sql, core, nulls_match=has_null,
                          negate=negate != cond.negated)

    def _includes(self, cond: ast.InList, left: Operand, *, negate: bool) -> str:
        if left.type is not FieldType.MULTIPICKLIST:
            raise self._bad_operator(cond, left)
        alternatives = []
        for value in cond.values:
            if not isinstance(value, ast.StringValue):
                raise self._wrong_type(value.pos, left)
            wanted = decode_string(value.raw, soql=self.soql, pos=value.pos)
            parts = []
            for item in (p.strip() for p in wanted.split(";")):
                escaped = item.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                self.params.append(f"%;{escaped};%")
                parts.append(f"(';' || {left.sql} || ';') LIKE ? ESCAPE '\\'")
            alternatives.append("(" + " AND ".join(parts) + ")")
        core = "(" + " OR ".join(alternatives) + ")" if alternatives else "0"
        return self._leaf(left.sql, core, nulls_match=False, negate=negate != cond.negated)

    def _semi_join(self, cond: ast.InSubquery, *, negate: bool) -> str:
        left = self.operand(cond.left)
        if left.type not in ID_TYPES:
            raise query_error(self.soql, cond.pos, code=INVALID_QUERY_FILTER_OPERATOR,
                              text="Semi join sub-selects are only allowed on Id fields; "
                                   f"'{left.name}' is not an Id field")
        core = f"{left.sql} IN ({self.subquery(cond, left)})"
        return self._leaf(left.sql, core, nulls_match=False, negate=negate != cond.negated)

    # ---- values ----------------------------------------------------------------------

    @staticmethod
    def _is_null(value: ast.Value, left: Operand) -> bool:
        """NULL, or '' on a text field: Salesforce stores and matches empty text as null."""
        if isinstance(value, ast.NullValue):
            return True
        return isinstance(value, ast.StringValue) and value.raw == "" and left.type in NOCASE_TYPES

    def param(self, left: Operand, value: ast.Value) -> Any:
        """The SQL parameter for comparing ``left`` with a literal, checking its type."""
        ftype = left.type
        if ftype in NOCASE_TYPES or ftype in ID_TYPES:
            if not isinstance(value, ast.StringValue):
                raise query_error(self.soql, value.pos, code=INVALID_QUERY_FILTER_OPERATOR,
                                  text=f"value of filter criterion for field '{left.name}' must be "
                                       "of type string and should be enclosed in quotes")
            text = decode_string(value.raw, soql=self.soql, pos=value.pos)
            if ftype in ID_TYPES:
                normalized = normalize_id(text)
                if normalized is None:
                    raise query_error(self.soql, value.pos, code=INVALID_QUERY_FILTER_OPERATOR,
                                      text=f"invalid ID field: {text}")
                return normalized
            return text
        if ftype is FieldType.BOOLEAN and isinstance(value, ast.BoolValue):
            return int(value.value)
        if ftype in NUMERIC_TYPES and isinstance(value, ast.NumberValue):
            text = value.text
            return float(text) if "." in text else int(text)
        if ftype is FieldType.DATE and isinstance(value, ast.DateValue):
            return value.value.isoformat()
        if ftype is FieldType.DATETIME and isinstance(value, ast.DateTimeValue):
            return format_datetime(value.value)
        raise self._wrong_type(value.pos, left)

    def _wrong_type(self, pos: int, left: Operand) -> SalesforceApiError:
        word = _TYPE_WORDS.get(left.type, "string")
        return query_error(self.soql, pos, code=INVALID_QUERY_FILTER_OPERATOR,
                           text=f"value of filter criterion for field '{left.name}' must be "
                                f"of type {word} and should not be enclosed in quotes")

    def _bad_operator(self, cond: ast.Comparison | ast.InList, left: Operand) -> SalesforceApiError:
        if isinstance(cond, ast.Comparison) and isinstance(cond.value, ast.NullValue):
            return malformed(self.soql, cond.value.pos,
                             text=f"invalid operator for null value on field '{left.name}'")
        return query_error(self.soql, cond.pos, code=INVALID_QUERY_FILTER_OPERATOR,
                           text=f"invalid operator on {left.type.value} field '{left.name}'")
