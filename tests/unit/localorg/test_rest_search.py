"""The SOSL subset the local org serves: parsing and the SOQL each RETURNING entry becomes."""

from __future__ import annotations

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.rest_search import _like_literal, _match_condition, parse_search
from sfrenew.localorg.schema import default_schema

SCHEMA = default_schema()


@pytest.mark.parametrize(("sosl", "words", "scope", "objects", "limit"), [
    ("FIND {Acme}", ("Acme",), "ALL", None, 2000),
    ("FIND 'Acme Corp' IN NAME FIELDS", ("Acme", "Corp"), "NAME", None, 2000),
    ('FIND {"Acme Corp" Ltd}', ("Acme Corp", "Ltd"), "ALL", None, 2000),
    ("FIND {acme} IN EMAIL FIELDS RETURNING Contact(Id, Email), Account LIMIT 5",
     ("acme",), "EMAIL", ["Contact", "Account"], 5),
    ("find {ac*} returning Account(Id, Name WHERE Name LIKE 'A%' LIMIT 3)",
     ("ac*",), "ALL", ["Account"], 2000),
])
def test_parse(sosl: str, words: tuple[str, ...], scope: str, objects: list[str] | None,
               limit: int) -> None:
    search = parse_search(SCHEMA, sosl)

    assert (search.words, search.scope, search.limit) == (words, scope, limit)
    if objects is not None:
        assert [r.obj.name for r in search.returning] == objects
    else:  # every object with a name field, Id only
        assert {r.fields for r in search.returning} == {"Id"}
        assert "Account" in [r.obj.name for r in search.returning]


def test_returning_keeps_fields_and_clauses_apart() -> None:
    [entry] = parse_search(SCHEMA, "FIND {x1} RETURNING Account(Id, Name WHERE Name LIKE "
                                   "'A%' ORDER BY Name LIMIT 3)").returning

    assert entry.fields == "Id, Name"
    assert entry.clauses == "WHERE Name LIKE 'A%' ORDER BY Name LIMIT 3"


@pytest.mark.parametrize("sosl", [
    "SELECT Id FROM Account",  # not SOSL
    "FIND {a}",  # one character
    "FIND {Acme OR Globex}",  # operators are not served
    "FIND {Acme} RETURNING NoSuchObject",
    "FIND {Acme} WITH DIVISION = 'Global'",
    "FIND {Acme} RETURNING Account(Id",
])
def test_refused_with_malformed_search(sosl: str) -> None:
    with pytest.raises(SalesforceApiError) as raised:
        parse_search(SCHEMA, sosl)

    assert raised.value.errors[0].error_code == "MALFORMED_SEARCH"


def test_words_match_any_searched_field_each() -> None:
    account = SCHEMA.object("Account")
    assert account is not None
    search = parse_search(SCHEMA, "FIND {ac* 50%} IN NAME FIELDS")

    # Each word must occur in a searched field; * and ? are wildcards, % and _ literal.
    assert _match_condition(account, search) == (
        r"(Name LIKE '%ac%%') AND (Name LIKE '%50\%%')")
    assert _like_literal("it's_") == r"'%it\'s\_%'"
