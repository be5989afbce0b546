"""Issue 15 item 7 over HTTPS, both presets: Amount is the org's rollup of the renewal's
lines; a client's write to it while lines exist succeeds and is ignored (as in
Salesforce), and sfrenew does not fight it on the next run.

Issue 13 covers the rollup in the org's store (tests/unit/localorg/test_rollup.py) and
through a run (tests/integration/test_run_figures.py); this adds the API path a person
or another integration would take (sObject Collections over HTTPS).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_run_support import Book, open_book

pytestmark = pytest.mark.integration


@pytest.fixture(params=("mappings/standard.yaml", "mappings/cpq.yaml"), ids=("standard", "cpq"))
def small_book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Book]:
    opened = open_book(tmp_path, contracts=30, mapping=request.param)
    try:
        yield opened
    finally:
        opened.org.stop()


def test_an_api_write_to_amount_is_ignored_and_sfrenew_does_not_fight_it(
        small_book: Book) -> None:
    first = small_book.run()
    assert first.status == "succeeded", first.message
    gw = small_book.gateway()
    opps = list(gw.read("Opportunity", ["Id", "Amount"], "Sfrenew_Key__c != null"))
    assert opps
    assert all(o["Amount"] is not None for o in opps)  # the original code: null everywhere
    opp = opps[0]
    totals = [r["TotalPrice"] for r in gw.read("OpportunityLineItem", ["Id", "TotalPrice"],
                                              f"OpportunityId = '{opp['Id']}'")]
    assert round(sum(totals), 2) == opp["Amount"]
    (result,) = gw.write("update", "Opportunity", [{"Id": opp["Id"], "Amount": 1.23}])
    assert result.success, result.message  # not rejected...
    (after,) = gw.read("Opportunity", ["Amount"], f"Id = '{opp['Id']}'")
    assert after["Amount"] == opp["Amount"]  # ...but ignored: still the lines' sum
    again = small_book.run()
    assert again.status == "succeeded", again.message
    assert again.stats["written"] == {}  # nothing to put back, nothing read as an edit
