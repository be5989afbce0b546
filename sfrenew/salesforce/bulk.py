"""Bulk API 2.0: ingest jobs with per-row results in input order, and query jobs.

Ingest results come back as up to three CSV files (successful, failed, unprocessed)
that echo the uploaded columns but not the row order; each result row is matched to
its input row by those echoed values (identical input rows are interchangeable, so
they are matched first come, first served). A results file is only downloaded when
the job info says it has rows, so a clean job costs create, upload, close, polls and
one download.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sfrenew.salesforce.budget import CallKind
from sfrenew.salesforce.errors import BulkJobFailed, UnexpectedResponse
from sfrenew.salesforce.results import NOT_PROCESSED, Operation, RowResult, parse_bulk_error
from sfrenew.salesforce.retry import Sleep
from sfrenew.salesforce.transport import Transport, decode_json
from sfrenew.salesforce.values import to_csv_text

MAX_UPLOAD_BYTES = 100_000_000  # Salesforce allows 150 MB base64-encoded per job
# Calls a write reserves before starting an ingest job: create, upload, close, two
# results files, and a few status polls. A job the budget cannot finish is not started.
BULK_INGEST_CALLS = 10
_DONE = frozenset({"JobComplete", "Failed", "Aborted"})


class BulkApi:
    """Bulk API 2.0 through the gateway's transport (counted, budgeted, refreshed)."""

    def __init__(self, transport: Transport, *, poll_seconds: float,
                 max_wait_seconds: float = 3600.0, sleep: Sleep = time.sleep) -> None:
        self._t = transport
        self._poll_seconds = poll_seconds
        self._max_wait = max_wait_seconds
        # Polls wait for Salesforce to work, so they sleep for real even when the
        # retry policy's backoff is switched off (tests set poll_seconds to 0 instead).
        self._sleep = sleep

    # --- ingest -------------------------------------------------------------------

    def ingest(self, operation: Operation, sobject: str, records: Sequence[Mapping[str, Any]],
               *, external_id_field: str | None = None) -> list[RowResult]:
        """Write ``records``; one RowResult per record, in input order."""
        columns = _columns(operation, records)
        # Bulk ignores an empty cell on update; "#N/A" is how a field is set to null.
        null = "" if operation is Operation.INSERT else "#N/A"
        rows = [[to_csv_text(r.get(c), null=null) for c in columns] for r in records]
        results: list[RowResult] = []
        for start, stop in _byte_chunks(columns, rows):
            chunk = self._ingest_job(operation, sobject, columns, rows[start:stop],
                                     external_id_field=external_id_field)
            results.extend(_shift(r, start) for r in chunk)
        return results

    def _ingest_job(self, operation: Operation, sobject: str, columns: list[str],
                    rows: list[list[str]], *, external_id_field: str | None) -> list[RowResult]:
        spec: dict[str, Any] = {"object": sobject, "operation": operation.value,
                                "contentType": "CSV", "lineEnding": "LF",
                                "columnDelimiter": "COMMA"}
        if operation is Operation.UPSERT:
            spec["externalIdFieldName"] = external_id_field
        job = self._t.json(CallKind.BULK_JOB, "POST", "jobs/ingest", json_body=spec)
        job_id = str(job["id"])
        self._t.request(CallKind.BULK_UPLOAD, "PUT", f"jobs/ingest/{job_id}/batches",
                        data=_csv_bytes(columns, rows), headers={"Content-Type": "text/csv"})
        self._t.json(CallKind.BULK_JOB, "PATCH", f"jobs/ingest/{job_id}",
                     json_body={"state": "UploadComplete"})
        info = self._wait(f"jobs/ingest/{job_id}")
        processed = int(info.get("numberRecordsProcessed") or 0)
        failed = int(info.get("numberRecordsFailed") or 0)
        if info["state"] != "JobComplete" and processed == 0:
            raise BulkJobFailed(f"Bulk API 2.0 job {job_id} {info['state']}: "
                                f"{info.get('errorMessage', '')}", job_id=job_id,
                                state=str(info["state"]))
        pending: dict[tuple[str, ...], deque[int]] = defaultdict(deque)
        for i, row in enumerate(rows):
            pending[tuple(row)].append(i)
        out: dict[int, RowResult] = {}
        if processed - failed > 0:
            for rec in self._result_rows(job_id, "successfulResults"):
                i = _claim(pending, columns, rec)
                out[i] = RowResult(index=i, id=rec.get("sf__Id") or None, success=True,
                                   created=rec.get("sf__Created", "").lower() == "true")
        if failed > 0:
            for rec in self._result_rows(job_id, "failedResults"):
                i = _claim(pending, columns, rec)
                code, message, fields = parse_bulk_error(rec.get("sf__Error", ""))
                out[i] = RowResult(index=i, id=rec.get("sf__Id") or None, created=False,
                                   success=False, error_code=code, message=message,
                                   fields=fields)
        for i in range(len(rows)):
            if i not in out:  # unprocessed: the job failed or was aborted before this row
                out[i] = RowResult(index=i, id=None, created=False, success=False,
                                   error_code=NOT_PROCESSED,
                                   message=f"job {job_id} {info['state']} before this row")
        return [out[i] for i in range(len(rows))]

    def _result_rows(self, job_id: str, name: str) -> list[dict[str, str]]:
        response = self._t.request(CallKind.BULK_RESULTS, "GET", f"jobs/ingest/{job_id}/{name}",
                                   headers={"Accept": "text/csv"})
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))

    # --- query --------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, str]]:
        """Rows of a query job as CSV strings keyed by column (``Account.Name`` dotted)."""
        job = self._t.json(CallKind.BULK_JOB, "POST", "jobs/query", json_body={
            "operation": "queryAll" if include_deleted else "query", "query": soql,
            "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"})
        job_id = str(job["id"])
        info = self._wait(f"jobs/query/{job_id}")
        if info["state"] != "JobComplete":
            raise BulkJobFailed(f"Bulk API 2.0 query job {job_id} {info['state']}: "
                                f"{info.get('errorMessage', '')}", job_id=job_id,
                                state=str(info["state"]))
        locator: str | None = None
        while True:
            params = {"locator": locator} if locator else None
            response = self._t.request(CallKind.BULK_RESULTS, "GET",
                                       f"jobs/query/{job_id}/results", params=params,
                                       headers={"Accept": "text/csv"})
            yield from csv.DictReader(io.StringIO(response.content.decode("utf-8")))
            locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return

    # --- shared -------------------------------------------------------------------

    def _wait(self, path: str) -> dict[str, Any]:
        waited = 0.0
        interval = self._poll_seconds
        while True:
            info = decode_json(self._t.request(CallKind.BULK_POLL, "GET", path))
            if not isinstance(info, dict) or "state" not in info:
                raise UnexpectedResponse(f"no job state in the answer to {path}")
            if info["state"] in _DONE:
                return info
            if waited >= self._max_wait:
                raise BulkJobFailed(f"{path} still {info['state']} after {waited:.0f}s",
                                    job_id=path.rsplit("/", 1)[-1], state=str(info["state"]))
            self._sleep(interval)
            waited += interval
            interval = min(interval * 1.5, 30.0) if interval else 0.0


def _columns(operation: Operation, records: Sequence[Mapping[str, Any]]) -> list[str]:
    if operation is Operation.DELETE:
        return ["Id"]
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            if key != "attributes":
                seen.setdefault(key, None)
    return list(seen)


def _csv_bytes(columns: list[str], rows: Sequence[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _byte_chunks(columns: list[str], rows: Sequence[list[str]]) -> Iterator[tuple[int, int]]:
    header = len(_csv_bytes(columns, []))
    start, size = 0, header
    for i, row in enumerate(rows):
        row_size = len(_csv_bytes([], [row])) - 1  # minus the empty header line
        if i > start and size + row_size > MAX_UPLOAD_BYTES:
            yield start, i
            start, size = i, header
        size += row_size
    if start < len(rows):
        yield start, len(rows)


def _claim(pending: dict[tuple[str, ...], deque[int]], columns: list[str],
           rec: Mapping[str, str]) -> int:
    key = tuple(rec.get(c, "") for c in columns)
    queue = pending.get(key)
    if not queue:
        raise UnexpectedResponse("a Bulk API 2.0 result row matches no uploaded row")
    return queue.popleft()


def _shift(result: RowResult, offset: int) -> RowResult:
    if offset == 0:
        return result
    return RowResult(index=result.index + offset, id=result.id, created=result.created,
                     success=result.success, error_code=result.error_code,
                     message=result.message, fields=result.fields)
