"""Errors: codes, HTTP status and Salesforce's message layout."""

from __future__ import annotations

import pytest

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import build_schema
from sfrenew.localorg.soql import QueryEngine, parse
from tests.unit.localorg.soql.conftest import API, NOW, error_of


def test_invalid_field_message_matches_salesforce_recording() -> None:
    # shapes/03_error_list_examples.json: INVALID_FIELD_query_400_with_row_col
    engine = QueryEngine(build_schema({"objects": {"Account": {"key_prefix": "001"}}}))
    err = error_of(engine, "SELECT Bacon__c FROM Account LIMIT 2")
    assert err.status == 400
    assert err.rest_json() == [{
        "message": "\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\n"
                   "No such column 'Bacon__c' on entity 'Account'. If you are attempting to use "
                   "a custom field, be sure to append the '__c' after the custom field name. "
                   "Please reference your WSDL or the describe call for the appropriate names.",
        "errorCode": "INVALID_FIELD"}]


def test_invalid_type_message_matches_salesforce_recording(engine: QueryEngine) -> None:
    err = error_of(engine, "select count() from XYZZY")
    assert err.rest_json()[0] == {
        "message": "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\n"
                   "sObject type 'XYZZY' is not supported. If you are attempting to use a custom "
                   "object, be sure to append the '__c' after the entity name. Please reference "
                   "your WSDL or the describe call for the appropriate names.",
        "errorCode": "INVALID_TYPE"}


def test_statement_not_starting_with_select() -> None:
    with pytest.raises(SalesforceApiError) as info:
        parse("SELEKT Name FROM Account")
    assert info.value.rest_json() == [{"message": "unexpected token: SELEKT",
                                       "errorCode": "MALFORMED_QUERY"}]


def test_unexpected_token_layout() -> None:
    with pytest.raises(SalesforceApiError) as info:
        parse("SELECT Foo Bar FROM Account WHERE")
    assert info.value.errors[0].message == (
        "\nSELECT Foo Bar FROM Account WHERE\n" + " " * 33 + "^\nERROR at Row:1:Column:34\n"
        "unexpected token: <EOF>")


def test_alias_outside_aggregate_points_at_item_and_token(engine: QueryEngine) -> None:
    err = error_of(engine, "SELECT Name Bar FROM Account")
    assert err.errors[0].message == (
        "\nSELECT Name Bar FROM Account\n       ^\nERROR at Row:1:Column:13\nunexpected token: Bar")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    soql = "SELECT Id FROM Account WHERE " + "(" * 3000 + "Name = 'a'" + ")" * 3000
    with pytest.raises(SalesforceApiError) as info:
        parse(soql)
    assert info.value.errors[0].error_code == "MALFORMED_QUERY"


def test_row_and_column_on_later_lines() -> None:
    with pytest.raises(SalesforceApiError) as info:
        parse("SELECT Id\nFROM Account\nWHERE Name = = 'x'")
    assert info.value.errors[0].message.startswith(
        "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\n")


MALFORMED = [
    "SELECT Name FROM Account WHERE Name = 'a' OR Name = 'b' AND Name = 'c'",
    "SELECT Name FROM Account WHERE (NOT Name = 'a' AND Id = '1')",
    "SELECT Name FROM Account WHERE Id = :accountId",
    "SELECT Name FROM Account LIMIT :n",
    "SELECT Name FROM Account FOR UPDATE",
    "SELECT Name FROM Account HAVING COUNT(Id) > 1",
    "SELECT Name FROM Account WHERE Name = 'unterminated",
    "SELECT Name FROM Account WHERE Name = 'bad \\q escape'",
    "SELECT TYPEOF What WHEN Account THEN Name FROM Task",
    "SELECT TYPEOF What ELSE Name END FROM Task",
    "SELECT FORMAT(CreatedDate) FROM Account",
    "SELECT Name FROM Account GROUP BY ROLLUP(Name)",
    "SELECT Id FROM Opportunity WHERE Amount > USD5000",
    "SELECT COUNT(), Name FROM Account",
    "SELECT Name FROM Account WHERE Name = foo",
    "SELECT Name FROM Account UPDATE TRACKING",
    "SELECT Name FROM Account WITH DATA CATEGORY Geography__c AT usa__c",
    "SELECT Name, FROM Account",
    "SELECT Name FROM Account LIMIT 5 extra",
    "SELECT Name FROM Account WHERE Name = 'a' /* comment */",
]


@pytest.mark.parametrize("soql", MALFORMED)
def test_syntax_outside_the_subset_is_malformed(soql: str) -> None:
    with pytest.raises(SalesforceApiError) as info:
        parse(soql)
    assert info.value.status == 400
    assert info.value.errors[0].error_code == "MALFORMED_QUERY"


SEMANTIC = [
    ("SELECT Nope FROM Account", "INVALID_FIELD", "No such column 'Nope' on entity 'Account'"),
    ("SELECT Owner.Nope FROM Account", "INVALID_FIELD", "No such column 'Nope' on entity 'User'"),
    ("SELECT Foo.Name FROM Account", "INVALID_FIELD", "Didn't understand relationship 'Foo'"),
    ("SELECT Name FROM Account WHERE Nope = 1", "INVALID_FIELD", "No such column 'Nope'"),
    ("SELECT Id, (SELECT Id FROM Nopes) FROM Account", "INVALID_TYPE",
     "Didn't understand relationship 'Nopes' in FROM part of query call"),
    ("SELECT Id FROM Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported"),
    ("SELECT Name FROM Account WHERE Name = 5", "INVALID_QUERY_FILTER_OPERATOR",
     "value of filter criterion for field 'Name' must be of type string"),
    ("SELECT Name FROM Account WHERE AnnualRevenue = '5'", "INVALID_QUERY_FILTER_OPERATOR",
     "must be of type double"),
    ("SELECT Name FROM Account WHERE CreatedDate > 2024-01-01", "INVALID_QUERY_FILTER_OPERATOR",
     "must be of type dateTime"),
    ("SELECT Name FROM Contact WHERE Birthdate > 2024-01-01T00:00:00Z",
     "INVALID_QUERY_FILTER_OPERATOR", "must be of type date"),
    ("SELECT Name FROM Account WHERE IsKey__c = 'true'", "INVALID_QUERY_FILTER_OPERATOR",
     "must be of type boolean"),
    ("SELECT Name FROM Account WHERE Id = 'foo'", "INVALID_QUERY_FILTER_OPERATOR",
     "invalid ID field: foo"),
    ("SELECT Name FROM Account WHERE AnnualRevenue LIKE '1%'", "INVALID_QUERY_FILTER_OPERATOR",
     "invalid operator"),
    ("SELECT Name FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE",
     "Maximum SOQL offset allowed is 2000"),
    ("SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY",
     "Field must be grouped or aggregated: Name"),
    ("SELECT Industry FROM Account GROUP BY Industry ORDER BY Name", "MALFORMED_QUERY",
     "Ordered field must be grouped or aggregated: Name"),
    ("SELECT Industry FROM Account GROUP BY Industry HAVING Name = 'x'", "MALFORMED_QUERY",
     "Field must be grouped or aggregated: Name"),
    ("SELECT SUM(Name) FROM Account", "MALFORMED_QUERY",
     "field Name does not support aggregate operator SUM"),
    ("SELECT Name, Name FROM Account", "MALFORMED_QUERY", "duplicate field selected: Name"),
    ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY", "LIMIT of at most 200"),
    ("SELECT Id FROM Account USING SCOPE Mine", "MALFORMED_QUERY", "USING SCOPE Mine"),
    ("SELECT TYPEOF Owner WHEN User THEN Name END FROM Task", "MALFORMED_QUERY",
     "TYPEOF can only be used on a polymorphic relationship"),
    ("SELECT TYPEOF What WHEN Contact THEN Name END FROM Task", "INVALID_TYPE",
     "sObject type 'Contact' is not a type of relationship 'What'"),
    ("SELECT TYPEOF What WHEN Account THEN Nope END FROM Task", "INVALID_FIELD",
     "No such column 'Nope' on entity 'Account'"),
    ("SELECT What.Owner.Name FROM Task", "INVALID_FIELD", "Didn't understand relationship"),
    ("SELECT What.Industry FROM Task", "INVALID_FIELD", "No such column 'Industry' on entity "
                                                      "'Name'"),
    ("SELECT Id FROM Account WHERE Name IN (SELECT Name FROM Contact)",
     "INVALID_QUERY_FILTER_OPERATOR", "only allowed on Id fields"),
]


@pytest.mark.parametrize(("soql", "code", "text"), SEMANTIC)
def test_semantic_errors(engine: QueryEngine, soql: str, code: str, text: str) -> None:
    err = error_of(engine, soql)
    assert err.status == 400
    assert err.errors[0].error_code == code
    assert text in err.errors[0].message
    assert "ERROR at Row:1:Column:" in err.errors[0].message


ACCEPTED_NO_OPS = [
    "SELECT Id FROM Account WITH SECURITY_ENFORCED",
    "SELECT Id FROM Account WITH USER_MODE",
    "SELECT Id FROM Account USING SCOPE Everything",
    "SELECT Id FROM Account FOR VIEW",
    "SELECT Id FROM Account FOR REFERENCE",
    "SELECT a.Id, a.Name FROM Account a WHERE a.Name != null",
]


@pytest.mark.parametrize("soql", ACCEPTED_NO_OPS)
def test_clauses_without_effect_are_accepted(engine: QueryEngine, soql: str) -> None:
    engine.prepare(soql, include_deleted=False, now=NOW, api_version=API)


BULK_REJECTED = [
    "SELECT COUNT() FROM Account",
    "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
    "SELECT Id FROM Account OFFSET 10",
    "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
    "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
]


@pytest.mark.parametrize("soql", BULK_REJECTED)
def test_bulk_restrictions(engine: QueryEngine, soql: str) -> None:
    err = error_of(engine, soql, bulk=True)
    assert err.status == 400
    assert err.errors[0].error_code == "API_ERROR"
