"""SOQL building: names checked, values through format_soql, IN lists chunked by URL length."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from sfrenew.salesforce import ConfigurationError
from sfrenew.salesforce.soql import count_query, format_soql, in_chunks, select
from sfrenew.salesforce.values import to_csv_text

PREFIX = "https://acme.my.salesforce.com/services/data/v62.0/queryAll"


def test_select_and_count_with_a_formatted_where() -> None:
    where = format_soql("Name = {} AND Amount > {}", "O'Brien", 10)
    assert select("Account", ["Id", "Owner.Name"], where) == (
        "SELECT Id, Owner.Name FROM Account WHERE Name = 'O\\'Brien' AND Amount > 10")
    assert count_query("Account") == "SELECT COUNT() FROM Account"


def test_names_that_are_not_api_names_are_refused() -> None:
    for bad in ("Account; DELETE", "Name FROM User", "", "1Field", "a..b"):
        with pytest.raises(ConfigurationError):
            select("Account", [bad])
        with pytest.raises(ConfigurationError):
            select(bad, ["Id"])


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=300),
       limit=st.integers(min_value=400, max_value=4000))
def test_every_value_once_in_order_and_every_url_fits(values: list[str], limit: int) -> None:
    template = "SELECT Id FROM Contract WHERE Key__c IN {values} AND Status = {status}"
    try:
        chunks = in_chunks(template, values, url_prefix=PREFIX, limit=limit, status="Activated")
    except ValueError:
        return  # one value alone does not fit this small a limit: refused, not truncated
    rebuilt: list[str] = []
    for soql in chunks:
        url = requests.Request("GET", PREFIX, params={"q": soql}).prepare().url
        assert url is not None
        assert len(url.encode()) <= limit
        # The chunk is exactly what format_soql renders for its slice of the values.
        count = len(rebuilt)
        for n in range(1, len(values) - count + 1):
            if format_soql(template, values=values[count:count + n], status="Activated") == soql:
                rebuilt.extend(values[count:count + n])
                break
        else:
            raise AssertionError("a chunk is not a format_soql rendering of consecutive values")
    assert rebuilt == values


def test_csv_text_for_bulk() -> None:
    assert to_csv_text(None, null="#N/A") == "#N/A"
    assert to_csv_text(True, null="") == "true"
    assert to_csv_text(Decimal("1E+3"), null="") == "1000"
    assert to_csv_text(date(2026, 1, 2), null="") == "2026-01-02"
    assert to_csv_text(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), null="") == \
        "2026-01-02T03:04:05.678Z"
