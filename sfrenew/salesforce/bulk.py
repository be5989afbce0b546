"""Bulk API 2.0: ingest jobs with per-row results in input order, and query jobs.

Jobs are started, then waited for as a group (:class:`~sfrenew.salesforce.bulk_group.JobGroup`),
so independent jobs run at the same time in Salesforce and the client sleeps once for
all of them. :meth:`BulkApi.ingest_many` starts every job of a set of writes before
waiting; :meth:`BulkApi.start_query` and :meth:`BulkApi.query_rows` let a reader start
several query jobs and read them in its own order.

Uploads are streamed: each job's CSV is written row by row to a temporary file and
sent from there, so a 20,000-row write is not held as rows, text and bytes at once;
:meth:`BulkApi.ingest_streamed` also reads the rows from the caller's own file and
yields results as they are read, so neither is held; :meth:`BulkApi.start_streamed`
does the same with the jobs started before it returns, so the caller can prepare the
next job while Salesforce processes this one. Ingest results come back as up
to three CSV files (successful, failed, unprocessed), read row by row as they arrive,
that echo the uploaded columns but not the row order; each result row is matched to
its input row by a digest of those echoed values (identical input rows are
interchangeable, so they are matched first come, first served). A results file is
only downloaded when the job info says it has rows, so a clean job costs create,
upload, close, polls and one download.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
import time
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

import requests
import urllib3

from sfrenew.salesforce.budget import CallKind
from sfrenew.salesforce.bulk_group import JobGroup
from sfrenew.salesforce.errors import BulkJobFailed, TransientError, UnexpectedResponse
from sfrenew.salesforce.polling import PollPolicy
from sfrenew.salesforce.port import StreamedWrite, WriteRequest
from sfrenew.salesforce.results import NOT_PROCESSED, Operation, RowResult, parse_bulk_error
from sfrenew.salesforce.retry import Sleep
from sfrenew.salesforce.transport import Transport
from sfrenew.salesforce.values import to_csv_text

MAX_UPLOAD_BYTES = 100_000_000  # Salesforce allows 150 MB base64-encoded per job
# Calls a write reserves before starting an ingest job: create, upload, close, two
# results files, and a few status polls. A job the budget cannot finish is not started.
BULK_INGEST_CALLS = 10
# Jobs of one group running at once. Salesforce documents no cap on concurrent Bulk
# API 2.0 jobs, only daily ones (DailyBulkV2QueryJobs, 15,000 ingest batches); the
# cap keeps one run from crowding the org's other integrations.
MAX_CONCURRENT_JOBS = 5
_BUCKET_SHIFT = 64 - 14  # row digests in 2**14 buckets by their top 14 bits
_UNCLAIMED = 1 << 63  # set on a stored digest until a result row claims it


class _RowDigests:
    """Which uploaded row a result row echoes: an 8-byte digest of the uploaded cells
    per row, kept with the row's index as two unsigned 64-bit numbers in one of 16,384
    arrays chosen by the digest's top bits, ~16 bytes a row (a whole-plan job of 200,000
    rows holds 3 MB, not its rows nor a dict entry per row). Identical rows are
    interchangeable: they are claimed first come, first served."""

    def __init__(self) -> None:
        self._buckets: dict[int, array[int]] = {}

    def add(self, values: Iterable[str], index: int) -> None:
        digest = _digest(values)
        bucket = self._buckets.get(digest >> _BUCKET_SHIFT)
        if bucket is None:
            bucket = self._buckets[digest >> _BUCKET_SHIFT] = array("Q")
        bucket.append(digest | _UNCLAIMED)
        bucket.append(index)

    def claim(self, values: Iterable[str]) -> int:
        digest = _digest(values)
        bucket = self._buckets.get(digest >> _BUCKET_SHIFT)
        if bucket is not None:
            try:  # a scan in C of a dozen pairs; indexes never have the top bit set
                at = bucket.index(digest | _UNCLAIMED)
            except ValueError:
                pass
            else:
                bucket[at] = 0
                return bucket[at + 1]
        raise UnexpectedResponse("a Bulk API 2.0 result row matches no uploaded row")


@dataclass(frozen=True)
class _Source:
    """The rows of one write, as an iterator: held (``ingest_many``) or read from the
    caller's file (``ingest_streamed``)."""

    operation: Operation
    sobject: str
    external_id_field: str | None
    columns: list[str]
    rows: Iterator[Mapping[str, Any]]


@dataclass
class _IngestJob:
    request: int  # index of its WriteRequest
    job_id: str
    start: int  # index of its first row in the request's records
    stop: int
    columns: list[str]
    digests: _RowDigests  # row indexes relative to start


class BulkApi:
    """Bulk API 2.0 through the gateway's transport (counted, budgeted, refreshed)."""

    def __init__(self, transport: Transport, *, poll: PollPolicy,
                 max_wait_seconds: float = 3600.0, sleep: Sleep = time.sleep,
                 max_concurrent_jobs: int = MAX_CONCURRENT_JOBS) -> None:
        self._t = transport
        self._poll = poll
        self._max_wait = max_wait_seconds
        self._sleep = sleep
        self.max_concurrent_jobs = max(1, max_concurrent_jobs)

    def group(self) -> JobGroup:
        """A new group of jobs to wait for together."""
        return JobGroup(self._t, self._poll, max_wait_seconds=self._max_wait,
                        sleep=self._sleep)

    # --- ingest -------------------------------------------------------------------

    def ingest(self, operation: Operation, sobject: str, records: Sequence[Mapping[str, Any]],
               *, external_id_field: str | None = None) -> list[RowResult]:
        """Write ``records``; one RowResult per record, in input order."""
        return self.ingest_many([WriteRequest(operation, sobject, records,
                                               external_id_field)])[0]

    def ingest_many(self, requests: Sequence[WriteRequest]) -> list[list[RowResult]]:
        """Write each request's records, the jobs running at the same time; per request,
        one RowResult per record in input order."""
        results: list[list[RowResult | None]] = [[None] * len(r.records) for r in requests]
        sources = [_Source(r.operation, r.sobject, r.external_id_field,
                           _columns(r.operation, r.records), iter(r.records))
                   for r in requests]
        for number, result in self._ingest(sources):
            results[number][result.index] = result
        return [[r for r in rows if r is not None] for rows in results]

    def ingest_streamed(self, requests: Sequence[StreamedWrite]
                        ) -> Iterator[tuple[int, RowResult]]:
        """Write each request's rows as they are read from the caller's file, the jobs
        running at the same time; yields (request number, RowResult) as result files are
        read, each row once, in no particular order. Neither rows nor results are held."""
        return self._ingest(_streamed_sources(requests))

    def start_streamed(self, requests: Sequence[StreamedWrite]
                       ) -> Iterator[tuple[int, RowResult]]:
        """Like :meth:`ingest_streamed`, but every job is created, uploaded and closed
        now, before this returns: Salesforce works on them while the caller goes on.
        The results are read (waiting for the jobs) as the returned iterator is."""
        sources = _streamed_sources(requests)
        group = self.group()
        jobs = []
        for job in self._started_jobs(sources):
            group.add(f"jobs/ingest/{job.job_id}", expected_rows=job.stop - job.start)
            jobs.append(job)
        return (answer for job in jobs for answer in self._finish(job, group))

    def _ingest(self, sources: Sequence[_Source]) -> Iterator[tuple[int, RowResult]]:
        group = self.group()
        running: deque[_IngestJob] = deque()
        for job in self._started_jobs(sources):
            group.add(f"jobs/ingest/{job.job_id}", expected_rows=job.stop - job.start)
            running.append(job)
            if len(running) >= self.max_concurrent_jobs:
                yield from self._finish(running.popleft(), group)
        while running:
            yield from self._finish(running.popleft(), group)

    def _started_jobs(self, sources: Sequence[_Source]) -> Iterator[_IngestJob]:
        for number, source in enumerate(sources):
            columns = source.columns
            # Bulk ignores an empty cell on update; "#N/A" is how a field is set to null.
            null = "" if source.operation is Operation.INSERT else "#N/A"
            rows = ([to_csv_text(r.get(c), null=null) for c in columns]
                    for r in source.rows)
            for start, stop, upload, digests in _spooled_uploads(columns, rows):
                with upload:
                    job_id = self._create_and_upload(source, upload)
                yield _IngestJob(number, job_id, start, stop, columns, digests)

    def _create_and_upload(self, request: _Source, upload: IO[bytes]) -> str:
        spec: dict[str, Any] = {"object": request.sobject,
                                "operation": request.operation.value, "contentType": "CSV",
                                "lineEnding": "LF", "columnDelimiter": "COMMA"}
        if request.operation is Operation.UPSERT:
            spec["externalIdFieldName"] = request.external_id_field
        job = self._t.json(CallKind.BULK_JOB, "POST", "jobs/ingest", json_body=spec)
        job_id = str(job["id"])
        self._t.request(CallKind.BULK_UPLOAD, "PUT", f"jobs/ingest/{job_id}/batches",
                        data=upload, headers={"Content-Type": "text/csv"})
        self._t.json(CallKind.BULK_JOB, "PATCH", f"jobs/ingest/{job_id}",
                     json_body={"state": "UploadComplete"})
        return job_id

    def _finish(self, job: _IngestJob, group: JobGroup) -> Iterator[tuple[int, RowResult]]:
        info = group.wait_for(f"jobs/ingest/{job.job_id}")
        processed = int(info.get("numberRecordsProcessed") or 0)
        failed = int(info.get("numberRecordsFailed") or 0)
        if info["state"] != "JobComplete" and processed == 0:
            raise BulkJobFailed(f"Bulk API 2.0 job {job.job_id} {info['state']}: "
                                f"{info.get('errorMessage', '')}", job_id=job.job_id,
                                state=str(info["state"]))
        answered = bytearray(job.stop - job.start)  # a byte a row: which were in a file
        if processed - failed > 0:
            for rec in self._result_rows(job.job_id, "successfulResults"):
                n = job.digests.claim(rec.get(c, "") for c in job.columns)
                answered[n] = 1
                yield job.request, RowResult(
                    index=job.start + n, id=rec.get("sf__Id") or None, success=True,
                    created=rec.get("sf__Created", "").lower() == "true")
        if failed > 0:
            for rec in self._result_rows(job.job_id, "failedResults"):
                n = job.digests.claim(rec.get(c, "") for c in job.columns)
                answered[n] = 1
                code, message, fields = parse_bulk_error(rec.get("sf__Error", ""))
                yield job.request, RowResult(
                    index=job.start + n, id=rec.get("sf__Id") or None, created=False,
                    success=False, error_code=code, message=message, fields=fields)
        for n, seen in enumerate(answered):
            if not seen:  # unprocessed: the job failed or was aborted before this row
                yield job.request, RowResult(
                    index=job.start + n, id=None, created=False, success=False,
                    error_code=NOT_PROCESSED,
                    message=f"job {job.job_id} {info['state']} before this row")

    def _result_rows(self, job_id: str, name: str) -> Iterator[dict[str, str]]:
        """The rows of a results file, downloaded to a temporary file first (retried
        whole if cut off): the caller records results between rows, and a connection
        held open that long is closed by the server (and holds its file open)."""
        for attempt in self._t.retry.retrying():
            with attempt:
                download = self._download(f"jobs/ingest/{job_id}/{name}", job_id)
        with download, io.TextIOWrapper(download, encoding="utf-8", newline="") as text:
            yield from _csv_records(text)

    def _download(self, path: str, job_id: str) -> IO[bytes]:
        response = self._t.request(CallKind.BULK_RESULTS, "GET", path,
                                   headers={"Accept": "text/csv"}, stream=True)
        download = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller
        try:
            with response:
                for block in response.iter_content(chunk_size=1 << 16):
                    download.write(block)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            download.close()
            raise TransientError(f"the results of Bulk API 2.0 job {job_id} were cut "
                                 f"off: {type(exc).__name__}") from None
        download.seek(0)
        return download

    # --- query --------------------------------------------------------------------

    def start_query(self, soql: str, *, include_deleted: bool = False) -> str:
        """Create a query job (one call); its id."""
        job = self._t.json(CallKind.BULK_JOB, "POST", "jobs/query", json_body={
            "operation": "queryAll" if include_deleted else "query", "query": soql,
            "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"})
        return str(job["id"])

    def query_rows(self, job_id: str, group: JobGroup) -> Iterator[dict[str, str]]:
        """Rows of a started query job as CSV strings keyed by column (``Account.Name``
        dotted), once ``group`` (where it was added) has seen it complete."""
        info = group.wait_for(f"jobs/query/{job_id}")
        if info["state"] != "JobComplete":
            raise BulkJobFailed(f"Bulk API 2.0 query job {job_id} {info['state']}: "
                                f"{info.get('errorMessage', '')}", job_id=job_id,
                                state=str(info["state"]))
        locator: str | None = None
        while True:
            params = {"locator": locator} if locator else None
            response = self._t.request(CallKind.BULK_RESULTS, "GET",
                                       f"jobs/query/{job_id}/results", params=params,
                                       headers={"Accept": "text/csv"}, stream=True)
            locator = response.headers.get("Sforce-Locator")
            yield from _streamed_rows(response, job_id)
            if not locator or locator == "null":
                return


def _csv_records(text: IO[str]) -> Iterator[dict[str, str]]:
    """The rows of a Bulk CSV file keyed by its header, as ``csv.DictReader`` gives them
    (blank lines skipped) without its per-row Python overhead: a first pull reads
    hundreds of thousands of rows."""
    rows = csv.reader(text)
    header = next(rows, None)
    if header is None:
        return
    for row in rows:
        if row:
            yield dict(zip(header, row, strict=False))  # a short row: what it has


def _streamed_rows(response: requests.Response, job_id: str) -> Iterator[dict[str, str]]:
    """The rows of a results page as they arrive (a page of 50,000 rows is never held
    whole). A connection lost half-way is transient: the reader reads the job again."""
    response.raw.decode_content = True  # gzip, if the server compressed it
    response.raw.auto_close = False  # else urllib3 closes it under the text reader at EOF
    try:
        raw = cast(IO[bytes], response.raw)
        with response, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            yield from _csv_records(text)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransientError(f"the results of Bulk API 2.0 query job {job_id} were cut "
                             f"off: {type(exc).__name__}") from None


def _columns(operation: Operation, records: Sequence[Mapping[str, Any]]) -> list[str]:
    if operation is Operation.DELETE:
        return ["Id"]
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            if key != "attributes":
                seen.setdefault(key, None)
    return list(seen)


def _streamed_sources(requests: Sequence[StreamedWrite]) -> list[_Source]:
    return [_Source(r.operation, r.sobject, r.external_id_field,
                    ["Id"] if r.operation is Operation.DELETE else list(r.columns), r.rows())
            for r in requests]


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(values)
    return buffer.getvalue().encode("utf-8")


def _digest(values: Iterable[str]) -> int:
    # A result row echoes the uploaded cells; 8 bytes per row instead of the row (two
    # different rows of one job share one with odds of 1 in 10^9 at 200,000 rows).
    return int.from_bytes(hashlib.blake2b("\x1f".join(values).encode("utf-8"),
                                          digest_size=8).digest(), "big")


def _spooled_uploads(columns: list[str], rows: Iterator[list[str]]
                     ) -> Iterator[tuple[int, int, IO[bytes], _RowDigests]]:
    """(start, stop, file, digests) per job: the CSV of rows start..stop written to a
    temporary file (header first), at most MAX_UPLOAD_BYTES each."""
    header = _csv_line(columns)
    index = start = 0
    upload: IO[bytes] | None = None
    digests = _RowDigests()
    size = 0
    for values in rows:
        line = _csv_line(values)
        if upload is not None and index > start and size + len(line) > MAX_UPLOAD_BYTES:
            upload.seek(0)
            yield start, index, upload, digests
            upload, digests = None, _RowDigests()
        if upload is None:
            upload = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
            upload.write(header)
            start, size = index, len(header)
        upload.write(line)
        size += len(line)
        digests.add(values, index - start)
        index += 1
    if upload is not None:
        upload.seek(0)
        yield start, index, upload, digests
