"""The SOQL engine against the public corpus (``../shared/salesforce-corpus/soql``):
every statement is answered or rejected with a Salesforce error, and every statement in
the DESIGN.md subset parses (and prepares unless its objects or fields are unknown)."""

from __future__ import annotations

import pytest

from bench.soql_corpus_report import CORPUS, Outcome, evaluate, load_corpus
from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.soql import QueryEngine

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="../shared corpus not present")


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    engine = QueryEngine(default_schema())
    return [evaluate(entry, engine) for entry in load_corpus()]


def test_corpus_is_the_expected_one(outcomes: list[Outcome]) -> None:
    assert len(outcomes) == 580


def test_no_statement_raises_anything_but_a_salesforce_error(outcomes: list[Outcome]) -> None:
    assert [(o.soql, o.crash) for o in outcomes if o.crash] == []


def test_every_subset_statement_parses(outcomes: list[Outcome]) -> None:
    subset = [o for o in outcomes if o.in_subset]
    assert len(subset) >= 340
    assert [o.soql for o in subset if not o.parsed] == []


def test_subset_statements_fail_only_on_unknown_objects_fields_or_values(
        outcomes: list[Outcome]) -> None:
    allowed = {None, "INVALID_TYPE", "INVALID_FIELD", "INVALID_QUERY_FILTER_OPERATOR"}
    assert [(o.soql, o.error_code) for o in outcomes
            if o.in_subset and o.error_code not in allowed] == []
