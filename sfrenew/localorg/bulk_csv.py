"""CSV as Bulk API 2.0 speaks it: uploaded job data in, result files and query pages out.

* Uploads are read with the job's ``columnDelimiter``; the ``lineEnding`` the job
  declared must match the data (Salesforce fails the job otherwise).
* Ingest results echo the uploaded columns after ``"sf__Id","sf__Created"`` (or
  ``"sf__Id","sf__Error"``); the ``sf__`` headers and values are always quoted, the
  echoed values are written as a CSV writer would (quoted only when needed).
* Query results quote every header and value, nulls included (``""``).
* A row error is ``CODE:message:field1,field2 --`` (``CODE:message:--`` without fields).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from enum import StrEnum
from typing import IO

from sfrenew.localorg.errors import ErrorDetail, SalesforceApiError


class ColumnDelimiter(StrEnum):
    """The delimiters a Bulk API 2.0 job may declare."""

    BACKQUOTE = "BACKQUOTE"
    CARET = "CARET"
    COMMA = "COMMA"
    PIPE = "PIPE"
    SEMICOLON = "SEMICOLON"
    TAB = "TAB"

    @property
    def char(self) -> str:
        """The delimiter character."""
        return _DELIMITER_CHARS[self]


_DELIMITER_CHARS = {
    ColumnDelimiter.BACKQUOTE: "`", ColumnDelimiter.CARET: "^", ColumnDelimiter.COMMA: ",",
    ColumnDelimiter.PIPE: "|", ColumnDelimiter.SEMICOLON: ";", ColumnDelimiter.TAB: "\t",
}


class LineEnding(StrEnum):
    """The line endings a Bulk API 2.0 job may declare."""

    LF = "LF"
    CRLF = "CRLF"

    @property
    def chars(self) -> str:
        """The terminator written after each row."""
        return "\n" if self is LineEnding.LF else "\r\n"


class CsvFormat:
    """Delimiter and line ending of one job, with readers and writers for them."""

    def __init__(self, *, delimiter: ColumnDelimiter, line_ending: LineEnding) -> None:
        self.delimiter = delimiter
        self.line_ending = line_ending

    def reader(self, stream: IO[str]) -> Iterator[list[str]]:
        """Rows of an uploaded file (opened with ``newline=""``)."""
        return csv.reader(stream, delimiter=self.delimiter.char, strict=True)

    def minimal(self, cells: list[str]) -> str:
        """One row quoted only where needed (echoed upload values), with terminator."""
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.delimiter.char, lineterminator=self.line_ending.chars,
                   quoting=csv.QUOTE_MINIMAL).writerow(cells)
        return buffer.getvalue()

    def quoted(self, cells: list[str]) -> str:
        """One row with every cell quoted (query results, ``sf__`` columns)."""
        delimiter = self.delimiter.char
        return delimiter.join(_quote(cell) for cell in cells) + self.line_ending.chars

    def result_row(self, sf_cells: list[str], original: list[str]) -> str:
        """An ingest result row: quoted ``sf__`` cells, then the uploaded cells."""
        head = self.delimiter.char.join(_quote(cell) for cell in sf_cells)
        if not original:
            return head + self.line_ending.chars
        return head + self.delimiter.char + self.minimal(original)


    def result_rows(self, rows: list[tuple[list[str], list[str]]]) -> str:
        """Many result rows at once (one CSV writer for a whole batch)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter.char,
                            lineterminator=self.line_ending.chars, quoting=csv.QUOTE_MINIMAL)
        delimiter = self.delimiter.char
        for sf_cells, original in rows:
            buffer.write(delimiter.join(_quote(cell) for cell in sf_cells))
            if original:
                buffer.write(delimiter)
                writer.writerow(original)
            else:
                buffer.write(self.line_ending.chars)
        return buffer.getvalue()


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def line_ending_problem(sample: bytes, declared: LineEnding) -> str | None:
    """Salesforce's failure text when the data's first line ending differs from the job's."""
    newline = sample.find(b"\n")
    if newline < 0:
        return None
    crlf = newline > 0 and sample[newline - 1:newline] == b"\r"
    if crlf == (declared is LineEnding.CRLF):
        return None
    return (f"ClientInputError : LineEnding is invalid on user data. Current LineEnding "
            f"setting is {declared.value}")


def row_error_text(error: SalesforceApiError) -> str:
    """``sf__Error`` for a failed row: ``CODE:message:fields --``."""
    detail = error.errors[0] if error.errors else ErrorDetail("UNKNOWN_EXCEPTION",
                                                              "An unexpected error occurred.")
    fields = ",".join(detail.fields)
    return f"{detail.error_code}:{detail.message}:{fields + ' ' if fields else ''}--"


def read_records(stream: IO[bytes], *, limit: int, max_bytes: int,
                 prefix: bytes = b"") -> tuple[bytes, int]:
    """Up to ``limit`` whole records of a fully quoted CSV from ``stream``'s position.

    Every field of a query result is quoted and inner quotes are doubled, so a record
    ends at the first line break where the count of quote characters read so far is
    even; values may contain line breaks. Stops early (after at least one record) once
    ``max_bytes`` are read. Returns ``prefix`` (a page's header, joined here to save
    a copy of the page) with the bytes, and the number of records.
    """
    chunks: list[bytes] = [prefix]
    size = 0
    records = 0
    quotes = 0
    while records < limit:
        line = stream.readline()
        if not line:
            break
        chunks.append(line)
        size += len(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            records += 1
            quotes = 0
            if size >= max_bytes:
                break
    return b"".join(chunks), records
