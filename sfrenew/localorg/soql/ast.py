"""The SOQL syntax tree: plain frozen values, each carrying its offset in the query text
so that semantic errors can point at the right column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class FieldPath:
    """A field reference such as ``Name`` or ``Account.Owner.Name``."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        """The path as written."""
        return ".".join(self.parts)


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(Id)``, ``SUM(Amount)``...; ``arg`` is None only for ``COUNT()``."""

    func: str  # upper case: COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX
    arg: FieldPath | None
    pos: int


@dataclass(frozen=True)
class DateFunction:
    """``CALENDAR_YEAR(CloseDate)`` and the other date functions."""

    func: str  # upper case
    arg: FieldPath
    pos: int


@dataclass(frozen=True)
class FieldsFunction:
    """``FIELDS(ALL)``, ``FIELDS(STANDARD)`` or ``FIELDS(CUSTOM)``."""

    which: str  # upper case
    pos: int


@dataclass(frozen=True)
class SelectItem:
    """One entry of the field list, with its alias if any."""

    expr: FieldPath | Aggregate | DateFunction | FieldsFunction
    alias: str | None
    pos: int
    alias_pos: int = -1


@dataclass(frozen=True)
class SubquerySelect:
    """A child relationship subquery in the field list."""

    query: Query
    pos: int


@dataclass(frozen=True)
class TypeOfSelect:
    """``TYPEOF What WHEN Account THEN Name, Phone ... ELSE Name END``."""

    relationship: str
    branches: tuple[tuple[str, tuple[FieldPath, ...]], ...]  # (object name, fields)
    else_fields: tuple[FieldPath, ...]
    pos: int


# ---- values -------------------------------------------------------------------------


@dataclass(frozen=True)
class StringValue:
    """A quoted string; ``raw`` is the body with escapes still in place."""

    raw: str
    pos: int


@dataclass(frozen=True)
class NumberValue:
    """A number as written (with its sign)."""

    text: str
    pos: int


@dataclass(frozen=True)
class BoolValue:
    """TRUE or FALSE."""

    value: bool
    pos: int


@dataclass(frozen=True)
class NullValue:
    """NULL."""

    pos: int


@dataclass(frozen=True)
class DateValue:
    """A date literal such as 2024-01-31."""

    value: date
    pos: int


@dataclass(frozen=True)
class DateTimeValue:
    """A datetime literal such as 2024-01-31T10:00:00Z (always timezone-aware)."""

    value: datetime
    pos: int


@dataclass(frozen=True)
class RelativeDate:
    """A relative date literal: ``TODAY``, ``LAST_N_DAYS:30``..."""

    name: str  # upper case
    n: int | None
    pos: int


Value = StringValue | NumberValue | BoolValue | NullValue | DateValue | DateTimeValue | RelativeDate

# ---- conditions ---------------------------------------------------------------------

Operand = FieldPath | Aggregate | DateFunction


@dataclass(frozen=True)
class Comparison:
    """``field op value`` with op one of = != < <= > >= LIKE."""

    left: Operand
    op: str  # "=", "!=", "<", "<=", ">", ">=", "LIKE" ("<>" is normalised to "!=")
    value: Value
    pos: int


@dataclass(frozen=True)
class InList:
    """``field [NOT] IN (v1, v2...)``, or INCLUDES/EXCLUDES on a multi-select picklist."""

    left: Operand
    values: tuple[Value, ...]
    negated: bool
    pos: int
    multi: bool = False  # INCLUDES (negated: EXCLUDES)


@dataclass(frozen=True)
class InSubquery:
    """``field [NOT] IN (SELECT x FROM ...)``: a semi-join or anti-join."""

    left: FieldPath
    query: Query
    negated: bool
    pos: int


@dataclass(frozen=True)
class And:
    """All of the conditions."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """Any of the conditions."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """The negation of a condition."""

    item: Condition


Condition = Comparison | InList | InSubquery | And | Or | Not

# ---- the statement ------------------------------------------------------------------


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY entry; ``nulls_first`` None means Salesforce's default."""

    expr: Operand
    descending: bool
    nulls_first: bool | None


@dataclass(frozen=True)
class Query:
    """A parsed SELECT statement (top level, child subquery or semi-join)."""

    select: tuple[SelectItem | SubquerySelect | TypeOfSelect, ...]
    object_name: str
    object_pos: int
    alias: str | None = None
    scope: str | None = None
    where: Condition | None = None
    with_clause: str | None = None  # SECURITY_ENFORCED, USER_MODE, SYSTEM_MODE
    group_by: tuple[FieldPath | DateFunction, ...] = ()
    group_by_pos: int = -1
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    offset_pos: int = -1
    for_clause: str | None = None  # VIEW, REFERENCE
    count_only: bool = False  # SELECT COUNT() FROM ...
