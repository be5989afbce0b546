"""Bulk API 2.0 ingest jobs over REST: ``/services/data/vNN.0/jobs/ingest[/...]``.

create (``POST``, 200 with the job), upload (``PUT .../batches``, 201, once per
job), close or abort (``PATCH`` state), job info, the job list, ``DELETE`` (204),
and the three result files (``successfulResults``, ``failedResults``,
``unprocessedrecords``). Processing is :class:`~sfrenew.localorg.bulk_ingest_worker.IngestWorker`.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from sfrenew.localorg.bulk_csv import ColumnDelimiter, CsvFormat, LineEnding
from sfrenew.localorg.bulk_ingest_worker import (
    FAILED_FILE,
    SUCCESS_FILE,
    UPLOAD_FILE,
    IngestWorker,
)
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
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import OrgSchema
from sfrenew.localorg.wire import Response

log = logging.getLogger(__name__)

CSV_TYPE = "text/csv"
OPERATIONS = ("insert", "update", "upsert", "delete")


def csv_format(body: dict[str, Any]) -> CsvFormat:
    """The job's CSV format from a create request (defaults COMMA and LF)."""
    delimiter = body.get("columnDelimiter") or ColumnDelimiter.COMMA.value
    line_ending = body.get("lineEnding") or LineEnding.LF.value
    try:
        return CsvFormat(delimiter=ColumnDelimiter(delimiter),
                         line_ending=LineEnding(line_ending))
    except ValueError:
        raise SalesforceApiError.single(
            400, "INVALIDJOB",
            f"Invalid columnDelimiter or lineEnding: {delimiter!s}, {line_ending!s}") from None


def request_object(call: Call) -> dict[str, Any]:
    """The JSON object body of a job request."""
    body = call.request.json()
    if not isinstance(body, dict):
        raise SalesforceApiError.single(400, "JSON_PARSER_ERROR",
                                        "Expected a JSON object for the job request")
    return body


def job_list(call: Call, jobs: list[BulkJob]) -> Response:
    """``GET jobs/{ingest|query}``: every job, brief, in one page."""
    del call  # same answer for every version
    return Response.json(200, {"done": True, "records": [j.info(brief=True) for j in jobs],
                               "nextRecordsUrl": None})


def delete_job(jobs: BulkJobs, job: BulkJob) -> Response:
    """``DELETE`` a job that is no longer open or running (204)."""
    with job.lock:
        state = job.state
        if state not in (JobState.OPEN, JobState.IN_PROGRESS):
            job.stop_requested = True  # a worker that picks it up now leaves it alone
    if state in (JobState.OPEN, JobState.IN_PROGRESS):
        raise invalid_job_state(f"Deleting a job in state {state.value} is not allowed; "
                                "close or abort it first")
    jobs.delete(job)
    return Response.empty(204)


class IngestResource:
    """Handlers for ``jobs/ingest``."""

    def __init__(self, *, jobs: BulkJobs, schema: OrgSchema, worker: IngestWorker) -> None:
        self._jobs = jobs
        self._schema = schema
        self._worker = worker

    def create(self, call: Call) -> Response:
        """``POST jobs/ingest``: a new Open job (200, as Salesforce answers)."""
        body = request_object(call)
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise invalid_job(f"InvalidJob : Invalid operation: {operation}")
        object_name = body.get("object")
        obj = self._schema.object(str(object_name)) if isinstance(object_name, str) else None
        if obj is None:
            raise invalid_job(f"InvalidJob : Unable to find object: {object_name}")
        content_type = body.get("contentType") or "CSV"
        if content_type != "CSV":
            raise invalid_job(f"InvalidJob : Invalid content type: {content_type}")
        ext_name = body.get("externalIdFieldName")
        external_id: str | None = None
        if operation == "upsert":
            field = obj.field(str(ext_name)) if isinstance(ext_name, str) else None
            if field is None or not (field.external_id or field.name == "Id"):
                raise invalid_job(
                    f"InvalidJob : External ID field {ext_name} is not an external ID "
                    f"field of {obj.name}")
            external_id = field.name
        job = self._jobs.new(kind=JobKind.INGEST, operation=str(operation),
                             object_name=obj.name, created_by=call.session.user_id,
                             api_version=call.version, csv_format=csv_format(body),
                             state=JobState.OPEN, external_id_field=external_id)
        return Response.json(200, job.info(brief=True))

    def upload(self, call: Call) -> Response:
        """``PUT jobs/ingest/{id}/batches``: the job's CSV, once (201, empty body)."""
        job = self._jobs.get(call.args["job_id"], JobKind.INGEST)
        with job.lock:
            state, uploaded = job.state, job.uploaded
            if state is JobState.OPEN and not uploaded:
                job.uploaded = True  # claimed: a concurrent second PUT is refused
        if state is not JobState.OPEN:
            raise invalid_job_state(f"Job {job.id} is not Open (state {state.value}); "
                                    "data can only be uploaded to an Open job")
        if uploaded:
            raise SalesforceApiError.single(
                400, "BULK_API_ERROR",
                f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure you only do "
                "'PUT' once on a given Job.")
        job.file(UPLOAD_FILE).write_bytes(call.request.body)
        return Response.empty(201)

    def job(self, call: Call) -> Response:
        """``GET``, ``PATCH`` or ``DELETE`` ``jobs/ingest/{id}``."""
        job = self._jobs.get(call.args["job_id"], JobKind.INGEST)
        if call.request.method == "DELETE":
            return delete_job(self._jobs, job)
        if call.request.method == "PATCH":
            return self._change_state(job, request_object(call).get("state"))
        return Response.json(200, job.info())

    def list_jobs(self, call: Call) -> Response:
        """``GET jobs/ingest``."""
        return job_list(call, self._jobs.all(JobKind.INGEST))

    def _change_state(self, job: BulkJob, wanted: Any) -> Response:
        with job.lock:
            state = job.state
        if wanted == JobState.UPLOAD_COMPLETE.value:
            if not self._jobs.advance(job, expected=JobState.OPEN,
                                      state=JobState.UPLOAD_COMPLETE):
                raise refused_transition("Closing", state)
            self._jobs.submit(job, self._worker)
        elif wanted == JobState.ABORTED.value:
            if state.terminal:
                raise refused_transition("Aborting", state)
            with job.lock:
                job.stop_requested = True
            self._jobs.set_state(job, JobState.ABORTED)
        else:
            raise invalid_job_state(f"Invalid state: {wanted}")
        return Response.json(200, job.info(brief=True))

    def successful(self, call: Call) -> Response:
        """``GET .../successfulResults``: ``"sf__Id","sf__Created",<uploaded columns>``."""
        job = self._jobs.get(call.args["job_id"], JobKind.INGEST)
        return self._result_file(job, SUCCESS_FILE, "ok", ["sf__Id", "sf__Created"])

    def failed(self, call: Call) -> Response:
        """``GET .../failedResults``: ``"sf__Id","sf__Error",<uploaded columns>``."""
        job = self._jobs.get(call.args["job_id"], JobKind.INGEST)
        return self._result_file(job, FAILED_FILE, "bad", ["sf__Id", "sf__Error"])

    def unprocessed(self, call: Call) -> Response:
        """``GET .../unprocessedrecords``: uploaded rows no batch got to (abort, failure)."""
        job = self._jobs.get(call.args["job_id"], JobKind.INGEST)
        with job.lock:
            skip, state = job.processed, job.state
        upload = job.file(UPLOAD_FILE)
        if not upload.exists():
            return _csv(b"")
        if state is JobState.JOB_COMPLETE:
            skip = -1  # everything was processed: the header alone
        return _csv(_unprocessed(upload, job.csv_format, skip=skip))

    @staticmethod
    def _result_file(job: BulkJob, name: str, which: str, sf_columns: list[str]) -> Response:
        with job.lock:
            size = int(job.extra.get(f"{which}_size", 0))
        path = job.file(name)
        if size == 0 or not path.exists():
            header = _upload_header(job)
            return _csv(job.csv_format.result_row(sf_columns, header).encode())
        with path.open("rb") as stream:
            return _csv(stream.read(size))


def _csv(body: bytes) -> Response:
    return Response(status=200, body=body, content_type=CSV_TYPE)


def _upload_header(job: BulkJob) -> list[str]:
    upload = job.file(UPLOAD_FILE)
    if not upload.exists():
        return []
    with upload.open(newline="", encoding="utf-8-sig") as source:
        try:
            return next(job.csv_format.reader(source), [])
        except csv.Error:  # a header the worker will reject; results then have none
            return []


def _unprocessed(upload: Path, fmt: CsvFormat, *, skip: int) -> bytes:
    """The header and every row after the first ``skip`` (``-1``: header only)."""
    parts: list[str] = []
    with upload.open(newline="", encoding="utf-8-sig") as source:
        reader = fmt.reader(source)
        try:
            header = next(reader, None)
            if header is None:
                return b""
            parts.append(fmt.minimal(header))
            if skip >= 0:
                for index, row in enumerate(reader):
                    if index >= skip:
                        parts.append(fmt.minimal(row))
        except csv.Error:  # unreadable rows are reported by the job's errorMessage
            log.debug("unprocessed records of %s stop at an unreadable row", upload)
    return "".join(parts).encode()
