"""Wiring of issue 3 into a running org: Bulk API 2.0 routes and the admin paths.

* ``add_bulk_routes`` registers ``jobs/ingest`` and ``jobs/query`` on the REST
  router, each endpoint with its own ``CallKind`` so stats count Bulk calls by
  endpoint (create, upload, close/abort, poll, results...).
* ``add_admin_paths`` serves ``GET``/``POST /_localorg/faults`` (the fault settings,
  changed at run time with a JSON object of ``FaultConfig`` fields) and
  ``GET``/``POST /_localorg/allocation`` (``daily_api_requests``, ``licenses``,
  ``used``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sfrenew.localorg.accounting import Accounting, CallKind
from sfrenew.localorg.admin import AdminResource
from sfrenew.localorg.allocation import DailyAllocation
from sfrenew.localorg.bulk_ingest import IngestResource
from sfrenew.localorg.bulk_ingest_worker import IngestWorker
from sfrenew.localorg.bulk_jobs import BulkJobs
from sfrenew.localorg.bulk_query import BulkQueryEngine, QueryJobResource
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.faults import FaultInjector
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.routes import Router
from sfrenew.localorg.schema import OrgSchema
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.wire import Request, Response, parse_json

_INGEST = "jobs/ingest/{job_id}"
_QUERY = "jobs/query/{job_id}"


def add_bulk_routes(router: Router, *, jobs: BulkJobs, store: StorePort, schema: OrgSchema,
                    engine: BulkQueryEngine, accounting: Accounting,
                    allocation: DailyAllocation, faults: FaultInjector, clock: Clock) -> None:
    """Register every Bulk API 2.0 route."""
    worker = IngestWorker(jobs=jobs, store=store, schema=schema, row_errors=accounting,
                          usage=allocation, processing_delay=faults.bulk_job_delay)
    ingest = IngestResource(jobs=jobs, schema=schema, worker=worker)
    query = QueryJobResource(jobs=jobs, engine=engine, store=store, clock=clock,
                             usage=allocation, processing_delay=faults.bulk_job_delay)
    add = router.add
    add("POST", "jobs/ingest", ingest.create, kind=CallKind.BULK_INGEST_CREATE)
    add("GET", "jobs/ingest", ingest.list_jobs, kind=CallKind.BULK_INGEST_LIST)
    add("GET", _INGEST, ingest.job, kind=CallKind.BULK_INGEST_POLL)
    add("PATCH", _INGEST, ingest.job, kind=CallKind.BULK_INGEST_STATE)
    add("DELETE", _INGEST, ingest.job, kind=CallKind.BULK_INGEST_DELETE)
    add("PUT", f"{_INGEST}/batches", ingest.upload, kind=CallKind.BULK_INGEST_UPLOAD)
    add("GET", f"{_INGEST}/successfulResults", ingest.successful,
        kind=CallKind.BULK_INGEST_RESULTS)
    add("GET", f"{_INGEST}/failedResults", ingest.failed, kind=CallKind.BULK_INGEST_RESULTS)
    # Salesforce documents the lower-case form; simple-salesforce asks for the camel case.
    for name in ("unprocessedrecords", "unprocessedRecords"):
        add("GET", f"{_INGEST}/{name}", ingest.unprocessed, kind=CallKind.BULK_INGEST_RESULTS)

    add("POST", "jobs/query", query.create, kind=CallKind.BULK_QUERY_CREATE)
    add("GET", "jobs/query", query.list_jobs, kind=CallKind.BULK_QUERY_LIST)
    add("GET", _QUERY, query.job, kind=CallKind.BULK_QUERY_POLL)
    add("PATCH", _QUERY, query.job, kind=CallKind.BULK_QUERY_STATE)
    add("DELETE", _QUERY, query.job, kind=CallKind.BULK_QUERY_DELETE)
    add("GET", f"{_QUERY}/results", query.results, kind=CallKind.BULK_QUERY_RESULTS)


def add_admin_paths(admin: AdminResource, *, faults: FaultInjector,
                    allocation: DailyAllocation,
                    set_session_lifetime: Callable[[timedelta], None]) -> None:
    """Register ``/_localorg/faults`` and ``/_localorg/allocation``."""

    def show_faults(_request: Request) -> Response:
        return Response.json(200, {"config": faults.config.as_dict(),
                                   "injected": faults.injected()})

    def change_faults(request: Request) -> Response:
        changes = _object_body(request)
        try:
            config = faults.config.with_changes(changes)
        except (TypeError, ValueError) as exc:
            raise _bad_request(str(exc)) from None
        faults.configure(config)
        if config.session_lifetime_s is not None:
            set_session_lifetime(timedelta(seconds=config.session_lifetime_s))
        return show_faults(request)

    def show_allocation(_request: Request) -> Response:
        return Response.json(200, {**allocation.snapshot(), "limits": allocation.limits()})

    def change_allocation(request: Request) -> Response:
        body = _object_body(request)
        unknown = sorted(set(body) - {"daily_api_requests", "licenses", "used"})
        if unknown:
            raise _bad_request(f"unknown allocation settings: {', '.join(unknown)}")
        try:
            allocation.configure(daily_api_requests=_int_or_none(body, "daily_api_requests"),
                                 licenses=_int_or_none(body, "licenses"),
                                 used=_int_or_none(body, "used"))
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
        return show_allocation(request)

    admin.register("GET", "/_localorg/faults", show_faults)
    admin.register("POST", "/_localorg/faults", change_faults)
    admin.register("GET", "/_localorg/allocation", show_allocation)
    admin.register("POST", "/_localorg/allocation", change_allocation)
    admin.register_stats("faults", faults.injected)


def _object_body(request: Request) -> dict[str, Any]:
    body = parse_json(request.body)
    if not isinstance(body, dict):
        raise _bad_request("expected a JSON object")
    return body


def _int_or_none(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad_request(f"{name} must be an integer")
    return value


def _bad_request(message: str) -> SalesforceApiError:
    return SalesforceApiError.single(400, "INVALID_REQUEST", message)
