"""Org-level REST resources: the resource directory of a version, and ``/limits``."""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.accounting import Accounting
from sfrenew.localorg.routes import Call
from sfrenew.localorg.wire import Response

# Limits a client may read besides the live ones (DailyApiRequests and the Bulk
# counters, from the accounting's allocation), at a typical Enterprise org's maximum.
_STATIC_LIMITS: dict[str, int] = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250_000,
    "DailyBulkApiBatches": 15_000,
    "DailyBulkV2QueryFileStorageMB": 976_562,
    "DailyBulkV2QueryJobs": 10_000,
    "DailyStreamingApiEvents": 1_000_000,
    "DataStorageMB": 1_024,
    "FileStorageMB": 1_024,
    "HourlyTimeBasedWorkflow": 1_000,
    "MassEmail": 5_000,
    "SingleEmail": 5_000,
    "StreamingApiConcurrentClients": 2_000,
}


class OrgResource:
    """Handlers for ``/services/data/vNN.0/`` and ``/limits``."""

    def __init__(self, *, accounting: Accounting, org_id: str = "") -> None:
        self._accounting = accounting
        self._org_id = org_id

    def directory(self, call: Call) -> Response:
        """``GET /services/data/vNN.0/``: the resources of this version that the org serves.

        As in Salesforce ("Resources by Version", REST API Developer Guide), each is a
        path except ``identity``, the absolute URL of the session user's identity
        (jsforce's ``identity()`` reads it on a connection made from a bare token).
        """
        names = ("sobjects", "query", "queryAll", "search", "recent", "composite", "limits")
        body = {name: f"{call.base}/{name}" for name in names}
        host = call.request.header("host")
        body["identity"] = (f"https://{host}" if host else "") + (
            f"/id/{self._org_id}/{call.session.user_id}")
        return Response.json(200, dict(sorted(body.items())))

    def limits(self, _call: Call) -> Response:
        """``GET /limits``: ``{"Name": {"Max": n, "Remaining": m}}`` for each limit."""
        body: dict[str, Any] = {
            "DailyApiRequests": {"Max": self._accounting.api_max,
                                 "Remaining": self._accounting.remaining()},
        }
        for name, maximum in _STATIC_LIMITS.items():
            body[name] = {"Max": maximum, "Remaining": maximum}
        body.update(self._accounting.allocation.limits())
        return Response.json(200, dict(sorted(body.items())))
