"""Bulk API 2.0 jobs of the local org: their state, their files and the worker that runs them.

A job is kept in memory (like query cursors, jobs do not survive a restart; their
files are removed when the org starts). Each job has a directory under
``<data dir>/bulk/<job id>/`` for its uploaded data, its result files and, for a
query job, the spooled CSV result, so no job holds its rows in memory.

Processing runs on a small thread pool owned by :class:`BulkJobs`; ``close()``
asks running jobs to stop between internal batches and joins the threads.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sfrenew.localorg.bulk_csv import CsvFormat
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import make_id
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.values import format_datetime

log = logging.getLogger(__name__)

JOB_KEY_PREFIX = "750"
BULK_DIR = "bulk"
DEFAULT_WORKERS = 2
_PAUSE_SLICE = 0.05  # how often a paused job looks for an abort


class JobState(StrEnum):
    """The states of a Bulk API 2.0 job."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def terminal(self) -> bool:
        """True once nothing more happens to the job."""
        return self in (JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED)


class JobKind(StrEnum):
    """Ingest or query; also the URL segment (``jobs/ingest``, ``jobs/query``)."""

    INGEST = "ingest"
    QUERY = "query"


class JobStopped(Exception):
    """Raised inside a worker when its job was aborted or the org is stopping."""


@dataclass
class BulkJob:
    """One job: what was asked, where it is, and its counters. Guarded by ``lock``."""

    id: str
    kind: JobKind
    operation: str
    object_name: str
    created_by: str
    created: datetime
    api_version: str
    csv_format: CsvFormat
    directory: Path
    state: JobState
    modstamp: datetime
    external_id_field: str | None = None
    query: str | None = None
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    processing_ms: int = 0
    uploaded: bool = False
    stop_requested: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def file(self, name: str) -> Path:
        """A file of this job (``upload.csv``, ``success.csv``...)."""
        return self.directory / name

    def info(self, *, brief: bool = False) -> dict[str, Any]:
        """The job info JSON (``brief``: as create and the job list show it)."""
        with self.lock:
            body: dict[str, Any] = {
                "id": self.id,
                "operation": self.operation,
                "object": self.object_name,
                "createdById": self.created_by,
                "createdDate": format_datetime(self.created),
                "systemModstamp": format_datetime(self.modstamp),
                "state": self.state.value,
            }
            if self.external_id_field is not None:
                body["externalIdFieldName"] = self.external_id_field
            body.update({
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": float(self.api_version),
            })
            if self.kind is JobKind.INGEST:
                body["contentUrl"] = (f"services/data/v{self.api_version}/jobs/ingest/"
                                      f"{self.id}/batches")
            body.update({
                "jobType": "V2Ingest" if self.kind is JobKind.INGEST else "V2Query",
                "lineEnding": self.csv_format.line_ending.value,
                "columnDelimiter": self.csv_format.delimiter.value,
            })
            if brief:
                return body
            body["numberRecordsProcessed"] = self.processed
            if self.kind is JobKind.INGEST:
                body["numberRecordsFailed"] = self.failed
            body["retries"] = 0
            body["totalProcessingTime"] = self.processing_ms
            if self.kind is JobKind.INGEST:
                body["apiActiveProcessingTime"] = self.processing_ms
                body["apexProcessingTime"] = 0
            if self.error_message is not None:
                body["errorMessage"] = self.error_message
            return body


def job_not_found() -> SalesforceApiError:
    """404 for an unknown job Id (Salesforce's status; its fixtures' 400 is hand-written)."""
    return SalesforceApiError.single(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_job_state(message: str) -> SalesforceApiError:
    """400 INVALIDJOBSTATE, e.g. ``Aborting already Completed Job not allowed``."""
    return SalesforceApiError.single(400, "INVALIDJOBSTATE", message)


def invalid_job(message: str) -> SalesforceApiError:
    """400 INVALIDJOB for a job request Salesforce refuses to create."""
    return SalesforceApiError.single(400, "INVALIDJOB", message)


_STATE_WORDS = {
    JobState.JOB_COMPLETE: "Completed", JobState.FAILED: "Failed",
    JobState.ABORTED: "Aborted", JobState.UPLOAD_COMPLETE: "Closed",
    JobState.IN_PROGRESS: "Closed",
}


def refused_transition(verb: str, state: JobState) -> SalesforceApiError:
    """``Aborting already Completed Job not allowed`` and its siblings."""
    return invalid_job_state(f"{verb} already {_STATE_WORDS.get(state, state.value)} Job "
                             "not allowed")


Processor = Callable[[BulkJob], None]


class BulkJobs:
    """Every job of the org, by Id, and the pool that processes them. Thread-safe."""

    def __init__(self, *, data_dir: Path, clock: Clock, workers: int = DEFAULT_WORKERS) -> None:
        self._root = data_dir / BULK_DIR
        # Jobs live in memory only, so files left by a previous run belong to nobody.
        shutil.rmtree(self._root, ignore_errors=True)
        self._root.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, BulkJob] = {}
        start = int(clock().timestamp()) % 1_000_000 * 1_000  # Ids differ across restarts
        self._numbers = itertools.count(start + 1)
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="localorg-bulk")
        self._futures: set[Future[None]] = set()

    @property
    def stopping(self) -> threading.Event:
        """Set when the org stops: workers end their job at the next batch."""
        return self._stopping

    def now(self) -> datetime:
        """The org clock."""
        return self._clock()

    def new(self, *, kind: JobKind, operation: str, object_name: str, created_by: str,
            api_version: str, csv_format: CsvFormat, state: JobState,
            external_id_field: str | None = None, query: str | None = None) -> BulkJob:
        """Register a new job with its own directory."""
        now = self._clock()
        with self._lock:
            job_id = make_id(JOB_KEY_PREFIX, next(self._numbers))
        directory = self._root / job_id
        directory.mkdir(parents=True, exist_ok=True)
        job = BulkJob(id=job_id, kind=kind, operation=operation, object_name=object_name,
                      created_by=created_by, created=now, api_version=api_version,
                      csv_format=csv_format, directory=directory, state=state, modstamp=now,
                      external_id_field=external_id_field, query=query)
        with self._lock:
            self._jobs[job_id] = job
        return job

    def get(self, job_id: str, kind: JobKind) -> BulkJob:
        """The job with this Id and kind; 404 NOT_FOUND otherwise."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.kind is not kind:
            raise job_not_found()
        return job

    def all(self, kind: JobKind) -> list[BulkJob]:
        """Jobs of a kind, oldest first."""
        with self._lock:
            return [job for job in self._jobs.values() if job.kind is kind]

    def set_state(self, job: BulkJob, state: JobState, *, error: str | None = None) -> None:
        """Move a job to ``state`` (the caller checked the transition)."""
        with job.lock:
            job.state = state
            job.modstamp = self._clock()
            if error is not None:
                job.error_message = error

    def advance(self, job: BulkJob, *, expected: JobState, state: JobState,
                error: str | None = None) -> bool:
        """Move a job from ``expected`` to ``state`` atomically; False if it was elsewhere.

        Keeps an abort that arrives while a job waits for a worker from being
        overwritten when the worker picks the job up, and two closes from both
        queueing it.
        """
        with job.lock:
            if job.state is not expected:
                return False
            job.state = state
            job.modstamp = self._clock()
            if error is not None:
                job.error_message = error
            return True

    def delete(self, job: BulkJob) -> None:
        """Forget a job and remove its files."""
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.directory, ignore_errors=True)

    def submit(self, job: BulkJob, processor: Processor) -> None:
        """Process a job on the pool; failures become a Failed job, never a dead worker."""
        if self._stopping.is_set():
            return

        def run() -> None:
            try:
                processor(job)
            except JobStopped:
                log.debug("bulk job %s stopped", job.id)
            except Exception:
                log.exception("bulk job %s failed unexpectedly", job.id)
                self.set_state(job, JobState.FAILED,
                               error="UNKNOWN_EXCEPTION : An unexpected error occurred.")

        future = self._pool.submit(run)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def check_running(self, job: BulkJob) -> None:
        """Raise JobStopped when the job was aborted or the org is stopping."""
        if self._stopping.is_set() or job.stop_requested:
            raise JobStopped(job.id)

    def pause(self, job: BulkJob, seconds: float) -> None:
        """Wait ``seconds`` of injected processing time, ending early if the job stops."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check_running(job)
            self._stopping.wait(min(left, _PAUSE_SLICE))
        self.check_running(job)

    def close(self) -> None:
        """Stop workers at their next batch and join them (the org is stopping)."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
