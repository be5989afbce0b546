"""Typing one read value by its describe type: REST JSON and Bulk CSV read the same."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfrenew.salesforce.errors import UnexpectedResponse
from sfrenew.salesforce.values import reader, to_csv_text, typed

AT = datetime(2024, 1, 17, 14, 20, 3, tzinfo=UTC)


@pytest.mark.parametrize(("rest", "bulk", "field_type", "value"), [
    ("Acme", "Acme", "string", "Acme"),
    ("0015g00000ABCDEAA1", "0015g00000ABCDEAA1", "reference", "0015g00000ABCDEAA1"),
    (12, "12", "string", "12"),  # a text field answered as a number: its text
    (True, "true", "boolean", True),
    (False, "false", "boolean", False),
    (False, "FALSE", "boolean", False),  # the CSV's case does not matter
    (36, "36", "int", 36),
    (36.0, "36.0", "int", 36),
    (1200.5, "1200.5", "currency", Decimal("1200.5")),
    (5, "5", "percent", Decimal("5")),
    (0.1, "0.1", "double", Decimal("0.1")),  # the decimal text, not the binary float
    ("2026-12-07", "2026-12-07", "date", date(2026, 12, 7)),
    ("2024-01-17T14:20:03.000+0000", "2024-01-17T14:20:03.000Z", "datetime", AT),
    ("2024-01-17T16:20:03.000+0200", "2024-01-17T14:20:03Z", "datetime", AT),
    (None, "", "currency", None),  # empty is null for every type
    ("", "", "string", None),
])
def test_rest_and_bulk_values_read_the_same(rest: Any, bulk: str, field_type: str,
                                            value: Any) -> None:
    for answer in (rest, bulk):
        got = typed(answer, field_type)
        assert got == value
        assert type(got) is type(value)


@pytest.mark.parametrize(("text", "field_type"), [
    ("abc", "currency"), ("1.5.2", "int"), ("x", "long"), ("2026-13-01", "date"),
    ("yesterday", "datetime"), ("n/a", "percent")])
def test_an_unreadable_value_names_itself_and_its_type(text: str, field_type: str) -> None:
    with pytest.raises(UnexpectedResponse) as caught:
        typed(text, field_type)
    assert str(caught.value) == f"cannot read {text!r} as {field_type}"
    assert caught.value.__cause__ is not None


def test_an_unknown_type_reads_as_text() -> None:
    assert typed("x", "anyType") == "x"
    assert reader("anyType") is reader("textarea")


# Salesforce's dates and datetimes lie from 1700-01-01 to 4000-12-31.
_DATES = {"min_value": date(1700, 1, 1), "max_value": date(4000, 12, 31)}
_VALUES = [
    (st.text(min_size=1, max_size=20).filter(lambda t: t.strip() == t), "string"),
    (st.booleans(), "boolean"),
    (st.integers(min_value=-10**12, max_value=10**12), "int"),
    (st.decimals(allow_nan=False, allow_infinity=False, places=4,
                 min_value=-10**9, max_value=10**9), "currency"),
    (st.dates(**_DATES), "date"),
    (st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(4000, 12, 31),
                  timezones=st.just(UTC)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)), "datetime"),
]


@given(data=st.data(), which=st.integers(min_value=0, max_value=len(_VALUES) - 1))
def test_a_value_written_as_bulk_csv_reads_back_the_same(data: st.DataObject,
                                                         which: int) -> None:
    values, field_type = _VALUES[which]
    value = data.draw(values)
    read = reader(field_type)
    assert read(to_csv_text(value, null="")) == value
    assert read(value) == value  # a REST answer already of the type is kept
