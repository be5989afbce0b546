"""Bulk API 2.0 query jobs: ``/services/data/vNN.0/jobs/query[/...]``.

The statement is checked when the job is created (Bulk's own restrictions answered
with Salesforce's error, via the SOQL engine's ``bulk=True``). A worker then streams
the records from the database into a CSV file in the job's directory, every header
and value quoted. ``results?locator=&maxRecords=`` serves that file page by page,
each page a complete CSV with the header, by byte offset: neither the job nor a page
request ever holds the whole result in memory. A page also stops at
``MAX_PAGE_BYTES`` (Salesforce likewise returns fewer records than ``maxRecords``
when a page would be too large), which bounds the server's memory per request.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sfrenew.localorg.bulk_csv import read_records
from sfrenew.localorg.bulk_ingest import csv_format, delete_job, job_list, request_object
from sfrenew.localorg.bulk_jobs import (
    BulkJob,
    BulkJobs,
    JobKind,
    JobState,
    invalid_job,
    invalid_job_state,
    refused_transition,
)
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import PreparedQueryPort, ReadConnections
from sfrenew.localorg.rest_query import check_soql_length
from sfrenew.localorg.routes import Call
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.wire import Response

RESULT_FILE = "result.csv"
DEFAULT_MAX_RECORDS = 50_000  # simple-salesforce's page size; Salesforce has no fixed one
MAX_PAGE_BYTES = 8 * 1024 * 1024
_SPOOL_BATCH = 1_000  # records formatted per write


class BulkPreparedQuery(PreparedQueryPort, Protocol):
    """A prepared statement that can also render its records as CSV cells."""

    object_name: str

    def flat_columns(self) -> list[str]:
        """CSV headers (``Account.Name`` for parent fields)."""

    def flat_row(self, record: dict[str, Any]) -> list[str]:
        """CSV cells of one record ("" for null)."""


class BulkQueryEngine(Protocol):
    """The SOQL engine as query jobs use it."""

    def prepare(self, soql: str, *, include_deleted: bool, now: datetime, api_version: str,
                bulk: bool = False) -> BulkPreparedQuery:
        """Parse and compile one statement (``bulk``: Bulk API 2.0's restrictions)."""


class QueryUsage(Protocol):
    """Where the daily Bulk query counters (``/limits``) are kept."""

    def record_query_job(self) -> None:
        """Count ``DailyBulkV2QueryJobs``."""

    def record_query_storage(self, size_bytes: int) -> None:
        """Count ``DailyBulkV2QueryFileStorageMB``."""


def invalid_locator() -> SalesforceApiError:
    """400 for a locator this job never handed out."""
    return SalesforceApiError.single(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def _encode_locator(row: int, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{row}:{offset}".encode()).decode().rstrip("=")


def _decode_locator(text: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        row, offset = raw.split(":")
        return int(row), int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_locator() from None


class QueryJobResource:
    """Handlers for ``jobs/query`` and the worker that spools results."""

    def __init__(self, *, jobs: BulkJobs, engine: BulkQueryEngine, store: ReadConnections,
                 clock: Clock, usage: QueryUsage,
                 processing_delay: Callable[[], float]) -> None:
        self._jobs = jobs
        self._engine = engine
        self._store = store
        self._clock = clock
        self._usage = usage
        self._delay = processing_delay

    def create(self, call: Call) -> Response:
        """``POST jobs/query``: check the SOQL, start spooling; 200 with the job."""
        body = request_object(call)
        operation = body.get("operation") or "query"
        if operation not in ("query", "queryAll"):
            raise invalid_job(f"InvalidJob : Invalid operation: {operation}")
        soql = body.get("query")
        if not isinstance(soql, str) or not soql.strip():
            raise invalid_job("InvalidJob : A query is required for a query job")
        fmt = csv_format(body)
        check_soql_length(soql)
        prepared = self._engine.prepare(soql, include_deleted=operation == "queryAll",
                                        now=self._clock(), api_version=call.version, bulk=True)
        job = self._jobs.new(kind=JobKind.QUERY, operation=operation,
                             object_name=prepared.object_name,
                             created_by=call.session.user_id, api_version=call.version,
                             csv_format=fmt, state=JobState.UPLOAD_COMPLETE, query=soql)
        self._usage.record_query_job()
        self._jobs.submit(job, self._spool)
        return Response.json(200, job.info(brief=True))

    def job(self, call: Call) -> Response:
        """``GET``, ``PATCH`` (abort) or ``DELETE`` ``jobs/query/{id}``."""
        job = self._jobs.get(call.args["job_id"], JobKind.QUERY)
        if call.request.method == "DELETE":
            return delete_job(self._jobs, job)
        if call.request.method == "PATCH":
            wanted = request_object(call).get("state")
            if wanted != JobState.ABORTED.value:
                raise invalid_job_state(f"Invalid state: {wanted}")
            with job.lock:
                state = job.state
                if not state.terminal:
                    job.stop_requested = True
            if state.terminal:
                raise refused_transition("Aborting", state)
            self._jobs.set_state(job, JobState.ABORTED)
            return Response.json(200, job.info(brief=True))
        return Response.json(200, job.info())

    def list_jobs(self, call: Call) -> Response:
        """``GET jobs/query``."""
        return job_list(call, self._jobs.all(JobKind.QUERY))

    def results(self, call: Call) -> Response:
        """``GET jobs/query/{id}/results?locator=&maxRecords=``: one CSV page."""
        job = self._jobs.get(call.args["job_id"], JobKind.QUERY)
        with job.lock:
            state = job.state
            header_size = int(job.extra.get("header_size", 0))
            total = job.processed
            issued: set[str] = job.extra.setdefault("locators", set())
        if state is not JobState.JOB_COMPLETE:
            raise invalid_job_state(f"Results are available once the job is JobComplete; "
                                    f"it is {state.value}")
        max_records = _max_records(call.request.param("maxRecords"))
        locator = call.request.param("locator") or ""
        if locator in ("", "null"):
            row, offset = 0, header_size
        else:
            with job.lock:
                known = locator in issued
            if not known:
                raise invalid_locator()
            row, offset = _decode_locator(locator)
        with job.file(RESULT_FILE).open("rb") as stream:
            header = stream.read(header_size)
            stream.seek(offset)
            page, count = read_records(stream, limit=max_records, max_bytes=MAX_PAGE_BYTES,
                                       prefix=header)
            next_offset = stream.tell()
        next_row = row + count
        if next_row >= total:
            next_locator = "null"
        else:
            next_locator = _encode_locator(next_row, next_offset)
            with job.lock:
                issued.add(next_locator)
        return Response(status=200, body=page, content_type="text/csv",
                        headers=[("Sforce-Locator", next_locator),
                                 ("Sforce-NumberOfRecords", str(count))])

    # --- the worker ------------------------------------------------------------------

    def _spool(self, job: BulkJob) -> None:
        started = time.monotonic()
        if not self._jobs.advance(job, expected=JobState.UPLOAD_COMPLETE,
                                  state=JobState.IN_PROGRESS):
            return  # aborted while it waited for a worker
        self._jobs.pause(job, self._delay())
        assert job.query is not None  # a query job always has one
        try:
            prepared = self._engine.prepare(job.query, include_deleted=job.operation == "queryAll",
                                            now=job.created, api_version=job.api_version,
                                            bulk=True)
        except SalesforceApiError as exc:
            self._jobs.advance(job, expected=JobState.IN_PROGRESS, state=JobState.FAILED,
                               error=str(exc))
            return
        fmt = job.csv_format
        conn = self._store.read_connection()
        try:
            rows = prepared.records(conn)
            try:
                with job.file(RESULT_FILE).open("wb") as out:
                    header = fmt.quoted(prepared.flat_columns()).encode()
                    out.write(header)
                    with job.lock:
                        job.extra["header_size"] = len(header)
                    batch: list[str] = []
                    written = 0
                    for record in rows:
                        batch.append(fmt.quoted(prepared.flat_row(record)))
                        if len(batch) >= _SPOOL_BATCH:
                            self._jobs.check_running(job)
                            out.write("".join(batch).encode())
                            written += len(batch)
                            batch.clear()
                            with job.lock:
                                job.processing_ms = int((time.monotonic() - started) * 1000)
                    out.write("".join(batch).encode())
                    written += len(batch)
                    size = out.tell()
            finally:
                close = getattr(rows, "close", None)
                if callable(close):
                    close()  # the record stream uses the connection: close it first
        finally:
            conn.close()
        self._usage.record_query_storage(size)
        with job.lock:
            job.processed = written
            job.processing_ms = int((time.monotonic() - started) * 1000)
        self._jobs.advance(job, expected=JobState.IN_PROGRESS, state=JobState.JOB_COMPLETE)


def _max_records(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_MAX_RECORDS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise SalesforceApiError.single(400, "INVALIDJOB",
                                        f"maxRecords must be a positive integer: {text}")
    return value
