"""Bulk CSV results read row by row, keyed by the header, as ``csv.DictReader`` reads them."""

from __future__ import annotations

import csv
import io

import pytest

from sfrenew.salesforce.bulk import _csv_records


@pytest.mark.parametrize(("text", "rows"), [
    ('Id,Name\n001A,Acme\n001B,"Smith, Jones & Co"\n',
     [{"Id": "001A", "Name": "Acme"}, {"Id": "001B", "Name": "Smith, Jones & Co"}]),
    ('Id,Description\n001A,"two\nlines"\n', [{"Id": "001A", "Description": "two\nlines"}]),
    ("Id,Name\n001A,\n\n001B,B\n", [{"Id": "001A", "Name": ""}, {"Id": "001B", "Name": "B"}]),
    ("Id,Name\r\n001A,A\r\n", [{"Id": "001A", "Name": "A"}]),
    ("Id,Name\n", []),  # a header only: no rows
    ("", []),  # an empty file
])
def test_rows_are_keyed_by_the_header_as_dictreader_keys_them(
        text: str, rows: list[dict[str, str]]) -> None:
    assert list(_csv_records(io.StringIO(text, newline=""))) == rows
    assert [dict(r) for r in csv.DictReader(io.StringIO(text, newline=""))] == rows
