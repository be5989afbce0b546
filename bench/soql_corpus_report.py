"""How much of the public SOQL corpus the local org's SOQL engine parses and prepares.

Run: ``python -m bench.soql_corpus_report`` (needs ``../shared`` beside the repo).
The contract test ``tests/contract/test_soql_corpus.py`` asserts on the same outcomes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import default_schema
from sfrenew.localorg.soql import QueryEngine, parse

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "salesforce-corpus" / "soql" \
    / "ALL_SOQL.validated.json"

# Corpus feature tags inside DESIGN.md's SOQL subset.
SUBSET_FEATURES = frozenset({
    "like", "not", "or", "in_list", "relationship_field", "custom_relationship",
    "child_subquery", "semi_join", "anti_join", "date_literal", "date_literal_n",
    "datetime_literal", "order_by", "nulls_first_last", "limit", "offset", "aggregate",
    "group_by", "having", "with_security", "for_clause",
})

# Statements whose tags say "subset" but which use something else, with the reason.
OUTSIDE_DESPITE_TAGS = {
    "SELECT Id, Amount FROM Opportunity WHERE Amount IN (usd500.01, usd600)":
        "currency literals (untagged)",
    "SELECT LeadSourceCOUNT(Name) FROM Lead GROUP BY LeadSource":
        "a function call named LeadSourceCOUNT",
    "SELECT Contact..FirstName, Contact.Account.Name FROM Contact": "an empty path segment",
    "SELECT Name FROM Account OFFSET": "an object alias spelled OFFSET",
    "SELECT Name, Id FROM Merchandise__c ORDER BY Name LIMIT 100 OFFSET -10":
        "a negative OFFSET",
    "SELECT Name, Id FROM Merchandise__c ORDER BY Name LIMIT -10 OFFSET 10": "a negative LIMIT",
    "SELECT Name myAlias FROM Account":
        "an alias outside an aggregate query (Salesforce rejects it as well)",
}


@dataclass(frozen=True)
class Outcome:
    """What the engine did with one corpus statement."""

    soql: str
    in_subset: bool  # Salesforce's parser accepts it and it uses only the subset
    parsed: bool
    prepared: bool
    error_code: str | None  # of the SalesforceApiError, when not prepared
    crash: str | None  # any other exception: always a bug


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The corpus entries."""
    entries: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return entries


def evaluate(entry: dict[str, Any], engine: QueryEngine) -> Outcome:
    """Parse and prepare one statement against the default schema."""
    soql = entry["soql"]
    in_subset = (entry.get("sf_parser_rest") is True and not entry.get("templated")
                 and set(entry["features"]) <= SUBSET_FEATURES
                 and soql not in OUTSIDE_DESPITE_TAGS)
    parsed = prepared = False
    code = crash = None
    try:
        parse(soql)
        parsed = True
        engine.prepare(soql, include_deleted=False, now=datetime(2024, 5, 15, tzinfo=UTC),
                       api_version="59.0")
        prepared = True
    except SalesforceApiError as exc:
        code = exc.errors[0].error_code
    except Exception as exc:  # the report counts crashes (always bugs) instead of stopping
        crash = f"{type(exc).__name__}: {exc}"
    return Outcome(soql, in_subset, parsed, prepared, code, crash)


def main() -> None:
    """Print the summary."""
    engine = QueryEngine(default_schema())
    outcomes = [evaluate(e, engine) for e in load_corpus()]
    subset = [o for o in outcomes if o.in_subset]
    codes = Counter(o.error_code for o in outcomes if o.error_code)
    print(f"statements:                          {len(outcomes)}")
    print(f"parsed:                              {sum(o.parsed for o in outcomes)}")
    print(f"in the DESIGN.md subset:             {len(subset)}")
    print(f"  of which parsed:                   {sum(o.parsed for o in subset)}")
    print(f"prepared against the default schema: {sum(o.prepared for o in outcomes)}")
    print("rejected with a Salesforce error:    "
          + ", ".join(f"{code} {n}" for code, n in codes.most_common()))
    print(f"other exceptions (bugs):             {sum(o.crash is not None for o in outcomes)}")


if __name__ == "__main__":
    main()
