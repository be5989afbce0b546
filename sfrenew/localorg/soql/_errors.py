"""Salesforce-shaped SOQL errors.

Salesforce reports a problem in a query with the query's line, a caret under the
offending column and ``ERROR at Row:r:Column:c`` before the explanation; clients show
that text verbatim, so we reproduce the layout exactly.
"""

from __future__ import annotations

from sfrenew.localorg.errors import SalesforceApiError

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"


def row_col(soql: str, offset: int) -> tuple[int, int]:
    """The 1-based row and column of a character offset in the query text."""
    before = soql[:offset]
    row = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    return row, col


def located_message(soql: str, offset: int, *, text: str, caret: int | None = None) -> str:
    """``text`` prefixed by the query line, a caret and the row/column, as Salesforce does.

    The caret normally sits under ``offset``; Salesforce puts it under the start of the
    field-list item when the unexpected token is inside one (``caret``).
    """
    row, col = row_col(soql, offset)
    caret_col = col if caret is None else row_col(soql, caret)[1]
    line = soql.split("\n")[row - 1]
    return f"\n{line}\n{' ' * (caret_col - 1)}^\nERROR at Row:{row}:Column:{col}\n{text}"


def query_error(soql: str, offset: int, *, code: str, text: str) -> SalesforceApiError:
    """A 400 error located at ``offset`` in the query."""
    return SalesforceApiError.single(400, code, located_message(soql, offset, text=text))


def malformed(soql: str, offset: int, *, text: str, caret: int | None = None) -> SalesforceApiError:
    """A MALFORMED_QUERY located at ``offset``."""
    return SalesforceApiError.single(400, MALFORMED_QUERY,
                                     located_message(soql, offset, text=text, caret=caret))
