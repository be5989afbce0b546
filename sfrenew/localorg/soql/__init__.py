"""The local org's SOQL engine: parse, check against the schema, compile to SQLite.

``parse`` gives the syntax tree (syntax errors are MALFORMED_QUERY);
``QueryEngine.prepare`` adds Salesforce's semantic checks (INVALID_TYPE, INVALID_FIELD,
INVALID_QUERY_FILTER_OPERATOR...) and returns a ``PreparedQuery`` that counts and
streams records in Salesforce's JSON shape.
"""

from sfrenew.localorg.soql.ast import Query
from sfrenew.localorg.soql.engine import PreparedQuery, QueryEngine
from sfrenew.localorg.soql.parser import parse

__all__ = ["PreparedQuery", "Query", "QueryEngine", "parse"]
