"""Several queries in one API call: ``POST /composite`` with up to five query subrequests.

Salesforce counts a whole ``/composite`` request as one call toward the API limits, and
allows up to 25 subrequests of which at most five are queries (Query, QueryAll, or
the next page of either). ``/composite/batch`` is no use here: each of its
subrequests counts as a call. So the incremental queries of a run (and the
``COUNT()`` of a first pull) go five to a call; further pages of a result follow
``nextRecordsUrl`` as ordinary query calls. See docs/gateway.md for the pages cited.

A subrequest that failed is classified like any answer (status and ``errorCode``,
:func:`sfrenew.salesforce.errors.classify`); a transient one makes the whole request
go again under the one retry policy (queries are safe to repeat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from sfrenew.salesforce.budget import CallKind
from sfrenew.salesforce.errors import TransientError, UnexpectedResponse, classify
from sfrenew.salesforce.transport import Transport

MAX_QUERIES = 5  # query subrequests Salesforce allows in one /composite request


@dataclass(frozen=True)
class QueryPageRequest:
    """The first page of one SOQL query (``queryAll`` with deleted records)."""

    soql: str
    include_deleted: bool = False


def first_pages(transport: Transport, requests: Sequence[QueryPageRequest]
                ) -> list[dict[str, Any]]:
    """The first result page of each query, in order, ``MAX_QUERIES`` per API call.

    A single query is sent as a plain query call (same cost, simpler answer).
    """
    pages: list[dict[str, Any]] = []
    for start in range(0, len(requests), MAX_QUERIES):
        group = requests[start:start + MAX_QUERIES]
        if len(group) == 1:
            only = group[0]
            pages.append(transport.json(CallKind.QUERY_PAGE, "GET",
                                        "queryAll" if only.include_deleted else "query",
                                        params={"q": only.soql}))
            continue
        pages.extend(_composite(transport, group))
    return pages


def _composite(transport: Transport, group: Sequence[QueryPageRequest]
               ) -> list[dict[str, Any]]:
    base = urlsplit(transport.url("query")).path.rsplit("/", 1)[0]
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "GET", "referenceId": f"q{i}",
         "url": f"{base}/{'queryAll' if r.include_deleted else 'query'}?"
                f"{urlencode({'q': r.soql})}"}
        for i, r in enumerate(group)]}
    policy = transport.retry
    attempt = 1
    while True:
        # The call itself is retried by the transport; a transient subrequest (inside a
        # 200 answer) makes the whole request go again, with the same backoff.
        answer = transport.json(CallKind.COMPOSITE, "POST", "composite", json_body=body)
        try:
            return _pages(answer, len(group))
        except TransientError:
            if attempt >= policy.attempts:
                raise
            policy.pause_before_round(attempt)
            attempt += 1


def _pages(answer: Any, expected: int) -> list[dict[str, Any]]:
    entries = answer.get("compositeResponse") if isinstance(answer, dict) else None
    if not isinstance(entries, list) or len(entries) != expected:
        raise UnexpectedResponse(f"composite answered no list of {expected} subresponses")
    by_ref = {str(e.get("referenceId")): e for e in entries if isinstance(e, dict)}
    pages: list[dict[str, Any]] = []
    for i in range(expected):
        entry = by_ref.get(f"q{i}")
        if entry is None:
            raise UnexpectedResponse(f"composite answered no subresponse q{i}")
        status = int(entry.get("httpStatusCode") or 0)
        if status >= 300:
            raise classify(status=status, body=entry.get("body"), usage=None)
        page = entry.get("body")
        if not isinstance(page, dict):
            raise UnexpectedResponse(f"composite subresponse q{i} holds no query result")
        pages.append(page)
    return pages
