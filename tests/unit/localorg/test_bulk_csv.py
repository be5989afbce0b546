"""Bulk CSV: result rows, error text, line endings and record-wise reading of quoted CSV."""

from __future__ import annotations

import io

import pytest

from sfrenew.localorg.bulk_csv import (
    ColumnDelimiter,
    CsvFormat,
    LineEnding,
    line_ending_problem,
    read_records,
    row_error_text,
)
from sfrenew.localorg.errors import SalesforceApiError

LF = CsvFormat(delimiter=ColumnDelimiter.COMMA, line_ending=LineEnding.LF)


def test_result_rows_quote_sf_cells_and_echo_the_upload() -> None:
    assert LF.result_row(["001", "true"], ["Acme, Inc", "7"]) == '"001","true","Acme, Inc",7\n'
    assert LF.result_row(["sf__Id", "sf__Error"], []) == '"sf__Id","sf__Error"\n'
    pipe = CsvFormat(delimiter=ColumnDelimiter.PIPE, line_ending=LineEnding.CRLF)
    assert pipe.quoted(['a"b', ""]) == '"a""b"|""\r\n'


@pytest.mark.parametrize(("error", "text"), [
    (SalesforceApiError.dml("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]",
                            ("Name",)),
     "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"),
    (SalesforceApiError.dml("ENTITY_IS_DELETED", "entity is deleted"),
     "ENTITY_IS_DELETED:entity is deleted:--"),
    (SalesforceApiError.dml("FIELD_X", "two", ("A", "B")), "FIELD_X:two:A,B --"),
])
def test_row_error_text(error: SalesforceApiError, text: str) -> None:
    assert row_error_text(error) == text


@pytest.mark.parametrize(("sample", "declared", "problem"), [
    (b"Name\nx\n", LineEnding.LF, False),
    (b"Name\r\nx\r\n", LineEnding.CRLF, False),
    (b"Name\r\nx\r\n", LineEnding.LF, True),
    (b"Name\nx\n", LineEnding.CRLF, True),
    (b"Name", LineEnding.CRLF, False),
])
def test_line_ending_problem(sample: bytes, declared: LineEnding, problem: bool) -> None:
    assert (line_ending_problem(sample, declared) is not None) == problem


def test_read_records_keeps_line_breaks_inside_values() -> None:
    data = b'"1","a\nb"\n"2","say ""hi"""\n"3",""\n'
    stream = io.BytesIO(data)
    page, count = read_records(stream, limit=2, max_bytes=1 << 20)
    assert count == 2
    assert page == b'"1","a\nb"\n"2","say ""hi"""\n'
    rest, more = read_records(stream, limit=10, max_bytes=1 << 20)
    assert (rest, more) == (b'"3",""\n', 1)


def test_read_records_stops_at_the_byte_cap_after_a_whole_record() -> None:
    stream = io.BytesIO(b'"aaaa"\n"bbbb"\n"cccc"\n')
    page, count = read_records(stream, limit=10, max_bytes=8)
    assert (page, count) == (b'"aaaa"\n"bbbb"\n', 2)


def test_result_rows_of_a_batch_equal_row_by_row() -> None:
    rows = [(["001", "true"], ["Acme, Inc", "7"]), (["", "X:y:--"], []), (["2", "false"], ["q"])]
    assert LF.result_rows(rows) == "".join(LF.result_row(s, o) for s, o in rows)
