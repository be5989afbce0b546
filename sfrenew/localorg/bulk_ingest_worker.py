"""Processing of a closed Bulk API 2.0 ingest job: rows through the store, in batches.

Rows are read from the uploaded file as a stream and saved ``batch_size`` at a time
(one transaction each) through the same ``OrgStore`` calls the REST API uses, so a
row is validated exactly as a REST save is. A row that fails is written to the
failed results with its error and never fails the job; a bad header (an unknown
field, a delete job with columns other than ``Id``, a line ending that is not the
declared one) fails the whole job with ``errorMessage``, as Salesforce does.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from sfrenew.localorg.bulk_csv import line_ending_problem, row_error_text
from sfrenew.localorg.bulk_jobs import BulkJob, BulkJobs, JobState
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.schema import FieldSchema, OrgSchema, SObjectSchema
from sfrenew.localorg.values import BULK_NULL, to_json, to_stored

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200  # rows per transaction, as Salesforce chunks a job internally
RECORDS_PER_BULK_BATCH = 10_000  # Salesforce counts one DailyBulkApiBatches per 10,000 rows
UPLOAD_FILE = "upload.csv"
SUCCESS_FILE = "success.csv"
FAILED_FILE = "failed.csv"


class BulkUsage(Protocol):
    """Where the daily Bulk counters (``/limits``) are kept."""

    def record_bulk_batches(self, count: int) -> None:
        """Count ``DailyBulkApiBatches``."""


class RowErrors(Protocol):
    """Where per-row failures are counted (the accounting)."""

    def record_row_errors(self, error_codes: list[str]) -> None:
        """Count failed rows by code."""


class JobFailure(Exception):
    """The job as a whole cannot be processed; the text becomes ``errorMessage``."""


@dataclass(frozen=True)
class Column:
    """One uploaded column: a field, or a parent by external Id (``Account.Ext__c``)."""

    header: str
    field: FieldSchema | None
    relationship: tuple[str, str] | None = None


class IngestWorker:
    """Runs ingest jobs (the ``Processor`` handed to ``BulkJobs.submit``)."""

    def __init__(self, *, jobs: BulkJobs, store: StorePort, schema: OrgSchema,
                 row_errors: RowErrors, usage: BulkUsage,
                 processing_delay: Callable[[], float],
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._jobs = jobs
        self._store = store
        self._schema = schema
        self._row_errors = row_errors
        self._usage = usage
        self._delay = processing_delay
        self._batch_size = batch_size

    def __call__(self, job: BulkJob) -> None:
        """Process one job from UploadComplete to JobComplete, Failed or Aborted."""
        started = time.monotonic()
        if not self._jobs.advance(job, expected=JobState.UPLOAD_COMPLETE,
                                  state=JobState.IN_PROGRESS):
            return  # aborted while it waited for a worker
        try:
            self._jobs.pause(job, self._delay())
            self._process(job, started=started)
        except JobFailure as exc:
            self._finish(job, JobState.FAILED, started=started, error=str(exc))
            return
        self._finish(job, JobState.JOB_COMPLETE, started=started)

    def _finish(self, job: BulkJob, state: JobState, *, started: float,
                error: str | None = None) -> None:
        with job.lock:
            job.processing_ms = int((time.monotonic() - started) * 1000)
        # An abort that raced the last batch keeps the job Aborted.
        self._jobs.advance(job, expected=JobState.IN_PROGRESS, state=state, error=error)
        self._usage.record_bulk_batches(max(1, math.ceil(job.processed /
                                                         RECORDS_PER_BULK_BATCH)))

    def _process(self, job: BulkJob, *, started: float) -> None:
        upload = job.file(UPLOAD_FILE)
        if not job.uploaded or not upload.exists():
            raise JobFailure("InvalidBatch : No data was uploaded for this job")
        with upload.open("rb") as raw:
            problem = line_ending_problem(raw.read(65536), job.csv_format.line_ending)
        if problem is not None:
            raise JobFailure(problem)
        obj = self._schema.object(job.object_name)
        if obj is None:  # checked at create; the schema does not change under a job
            raise JobFailure(f"InvalidJob : Unable to find object: {job.object_name}")
        fmt = job.csv_format
        with upload.open(newline="", encoding="utf-8-sig") as source, \
                job.file(SUCCESS_FILE).open("a", newline="", encoding="utf-8") as ok, \
                job.file(FAILED_FILE).open("a", newline="", encoding="utf-8") as bad:
            reader = fmt.reader(source)
            try:
                header = next(reader, None)
            except csv.Error as exc:
                raise JobFailure(f"ClientInputError : {exc}") from exc
            if not header:
                # An empty upload is a job with nothing to do (0 records processed), not
                # a failed one: jsforce's bulk2 load of an empty record list sends one.
                if not any(True for _ in reader):
                    return
                raise JobFailure("InvalidBatch : No header row found in the uploaded data")
            columns = self._columns(job, obj, header)
            self._write(job, ok, fmt.result_row(["sf__Id", "sf__Created"], header), "ok")
            self._write(job, bad, fmt.result_row(["sf__Id", "sf__Error"], header), "bad")
            for chunk in _chunks(reader, self._batch_size):
                self._jobs.check_running(job)
                self._save_chunk(job, obj, columns=columns, rows=chunk, ok=ok, bad=bad)
                with job.lock:
                    job.processing_ms = int((time.monotonic() - started) * 1000)

    def _columns(self, job: BulkJob, obj: SObjectSchema, header: list[str]) -> list[Column]:
        columns: list[Column] = []
        for name in header:
            text = name.strip()
            if "." in text:
                relation, _, ext = text.partition(".")
                reference = obj.relationship_field(relation)
                if reference is None or not ext:
                    raise JobFailure(f"InvalidBatch : Field name not found : {text}")
                columns.append(Column(text, None, (reference.relationship_name or relation,
                                                   ext)))
                continue
            field = obj.field(text)
            if field is None:
                raise JobFailure(f"InvalidBatch : Field name not found : {text}")
            columns.append(Column(text, field))
        names = [c.field.name for c in columns if c.field is not None]
        if job.operation == "delete" and names != ["Id"]:
            raise JobFailure("InvalidBatch : The 'delete' batch must contain only ids")
        key = job.external_id_field
        # An upsert on Id needs no Id column: every row without an Id is created, as a
        # Collections upsert on Id creates a record whose Id is blank.
        if job.operation == "upsert" and key is not None and key.lower() != "id" and (
                key.lower() not in (n.lower() for n in names)):
            raise JobFailure(f"InvalidBatch : Field name not found : {key}")
        return columns

    def _save_chunk(self, job: BulkJob, obj: SObjectSchema, *, columns: list[Column],
                    rows: list[list[str]], ok: IO[str], bad: IO[str]) -> None:
        ok_lines: list[tuple[list[str], list[str]]] = []
        bad_lines: list[tuple[list[str], list[str]]] = []
        codes: list[str] = []
        with self._store.transaction():
            for cells in rows:
                record_id = ""
                try:
                    values = _values(obj, columns, cells)
                    record_id = _given_id(values)
                    record_id, created = self._save(job, obj, values)
                except SalesforceApiError as exc:
                    codes.append(exc.errors[0].error_code if exc.errors else "UNKNOWN_EXCEPTION")
                    bad_lines.append(([record_id, row_error_text(exc)], cells))
                    continue
                except Exception:
                    log.exception("bulk job %s: unexpected error on a row", job.id)
                    codes.append("UNKNOWN_EXCEPTION")
                    bad_lines.append(
                        ([record_id, "UNKNOWN_EXCEPTION:An unexpected error occurred.:--"],
                         cells))
                    continue
                ok_lines.append(([record_id, "true" if created else "false"], cells))
        fmt = job.csv_format
        self._write(job, ok, fmt.result_rows(ok_lines), "ok")
        self._write(job, bad, fmt.result_rows(bad_lines), "bad")
        self._row_errors.record_row_errors(codes)
        with job.lock:
            job.processed += len(rows)
            job.failed += len(bad_lines)
            job.modstamp = self._jobs.now()

    def _save(self, job: BulkJob, obj: SObjectSchema, values: dict[str, Any]
              ) -> tuple[str, bool]:
        user = job.created_by
        operation = job.operation
        if operation == "insert":
            return self._store.create(obj.name, values, user_id=user), True
        if operation == "upsert":
            ext = job.external_id_field or "Id"
            key = next((v for k, v in values.items() if k.lower() == ext.lower()), None)
            return self._store.upsert(obj.name, ext, key, values, user_id=user)
        record_id = values.pop("Id", None)
        if not record_id:
            verb = "an update" if operation == "update" else "a delete"
            raise SalesforceApiError.dml("MISSING_ARGUMENT", f"Id not specified in {verb} call")
        if operation == "update":
            self._store.update(obj.name, record_id, values, user_id=user)
        else:
            self._store.delete(obj.name, record_id, user_id=user)
        return str(record_id), False

    @staticmethod
    def _write(job: BulkJob, stream: IO[str], text: str, which: str) -> None:
        """Append and flush; readers only see what ``*_size`` says is complete."""
        if text:
            stream.write(text)
            stream.flush()
        with job.lock:
            job.extra[f"{which}_size"] = stream.tell()


def _chunks(reader: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    while True:
        try:
            chunk = list(itertools.islice(reader, size))
        except csv.Error as exc:
            raise JobFailure(f"ClientInputError : {exc}") from exc
        if not chunk:
            return
        yield chunk


def _values(obj: SObjectSchema, columns: list[Column], cells: list[str]) -> dict[str, Any]:
    """A row's values as the REST layer would receive them (empty cells left out).

    In Bulk API an empty cell leaves a field as it is and ``#N/A`` clears it; each
    cell goes through the CSV-text coercion (``INVALID_TYPE_ON_FIELD_IN_RECORD``...)
    and then, as a JSON value, through the store's own validation.
    """
    if len(cells) > len(columns):
        raise SalesforceApiError.dml(
            "INVALID_FIELD", f"Row has {len(cells)} values but the header has "
            f"{len(columns)} columns")
    values: dict[str, Any] = {}
    for column, cell in zip(columns, cells, strict=False):
        if cell == "":
            continue
        if column.relationship is not None:
            relation, ext = column.relationship
            values.setdefault(relation, {})[ext] = None if cell == BULK_NULL else cell
            continue
        field = column.field
        assert field is not None  # a column is a field or a relationship
        stored = to_stored(field, cell, object_name=obj.name, from_text=True)
        values[field.name] = to_json(field, stored)
    return values


def _given_id(values: dict[str, Any]) -> str:
    value = values.get("Id")
    return value if isinstance(value, str) else ""
