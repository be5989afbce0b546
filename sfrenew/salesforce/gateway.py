"""The gateway: the only object the rest of sfrenew uses to talk to Salesforce.

REST below a volume threshold, Bulk API 2.0 above it, chosen in one place for reads
(:meth:`Gateway.read`, by a ``COUNT()``) and writes (:meth:`Gateway.write`, by row
count); both paths return the same values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
import structlog

from sfrenew.salesforce.auth import login_for
from sfrenew.salesforce.budget import BudgetGuard, CallCounter, CallKind
from sfrenew.salesforce.bulk import BULK_INGEST_CALLS, MAX_CONCURRENT_JOBS, BulkApi
from sfrenew.salesforce.collections_api import MAX_RECORDS, CollectionsApi
from sfrenew.salesforce.composite import first_pages
from sfrenew.salesforce.config import SalesforceConfig
from sfrenew.salesforce.describes import DescribeCache
from sfrenew.salesforce.errors import ApiUsage, BudgetExhausted, ConfigurationError, TransientError
from sfrenew.salesforce.polling import PollPolicy
from sfrenew.salesforce.port import ReadSpec, StreamedWrite, Thresholds, WriteRequest
from sfrenew.salesforce.reads import read_many
from sfrenew.salesforce.results import Operation, RowResult
from sfrenew.salesforce.retry import RetryPolicy
from sfrenew.salesforce.soql import check_name, count_query, in_chunks
from sfrenew.salesforce.transport import Transport
from sfrenew.salesforce.values import lookup, reader, strip_attributes

log = structlog.get_logger(__name__)

_BATCH_SIZES = range(200, 2001)  # what Sforce-Query-Options batchSize accepts
EVENT_LOCK_RETRY_STOPPED = "salesforce.write.lock_retry_stopped"
DEFAULT_THRESHOLDS = Thresholds()


class Gateway:
    """Queries, reads, counts, writes and metadata for one org (see ``connect``)."""

    def __init__(self, transport: Transport, *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 bulk_poll_seconds: float = PollPolicy().min_seconds,
                 max_concurrent_jobs: int = MAX_CONCURRENT_JOBS,
                 describe_cache: DescribeCache | None = None) -> None:
        self._t = transport
        self._saved_describes = describe_cache
        self.thresholds = thresholds
        # 0 polls without sleeping (tests); otherwise the shortest interval of an
        # adaptive one (sfrenew.salesforce.polling).
        poll = PollPolicy(min_seconds=0.0, max_seconds=0.0) if bulk_poll_seconds == 0 \
            else PollPolicy(min_seconds=bulk_poll_seconds,
                            max_seconds=max(bulk_poll_seconds, PollPolicy().max_seconds))
        self._bulk = BulkApi(transport, poll=poll, max_concurrent_jobs=max_concurrent_jobs)
        self._collections = CollectionsApi(transport)
        self._describes: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        """Close the gateway's HTTP connections."""
        self._t.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- accounting ---------------------------------------------------------------

    @property
    def calls(self) -> CallCounter:
        """Calls made through this gateway, by kind."""
        return self._t.counter

    @property
    def budget(self) -> BudgetGuard:
        """The run's API budget guard."""
        return self._t.budget

    @property
    def api_usage(self) -> ApiUsage | None:
        """The org's daily API usage as Salesforce last reported it."""
        return self._t.usage

    # --- reads --------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False,
              batch_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Stream a SOQL query's records over REST pages (``queryAll`` with deletes).

        Records come as Salesforce answers them, minus ``attributes``; numbers with a
        fraction are ``Decimal``. ``batch_size`` (200-2,000) asks for smaller pages.
        """
        headers = None
        if batch_size is not None:
            if batch_size not in _BATCH_SIZES:
                raise ConfigurationError("batch_size must be between 200 and 2,000")
            headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        page = self._t.json(CallKind.QUERY_PAGE, "GET",
                            "queryAll" if include_deleted else "query",
                            params={"q": soql}, headers=headers)
        while True:
            for record in page.get("records") or ():
                yield strip_attributes(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._t.json(CallKind.QUERY_PAGE, "GET", str(next_url), headers=headers)

    def count(self, sobject: str, where: str | None = None, *,
              include_deleted: bool = False) -> int:
        """``SELECT COUNT() FROM sobject [WHERE where]`` (one call)."""
        soql = count_query(sobject, where)
        page = self._t.json(CallKind.QUERY_PAGE, "GET",
                            "queryAll" if include_deleted else "query", params={"q": soql})
        return int(page["totalSize"])

    def read(self, sobject: str, fields: Sequence[str], where: str | None = None, *,
             include_deleted: bool = False,
             expected_rows: int | None = None) -> Iterator[dict[str, Any]]:
        """Records of ``sobject`` with exactly ``fields`` as keys, typed by describe.

        REST paging below ``thresholds.read_bulk_rows``, a Bulk API 2.0 query job at or
        above it; both yield equal records. The volume is ``expected_rows`` when the
        caller knows it (the mirror's size), else a ``COUNT()`` (one call). Dotted
        relationship fields (``Account.Name``) are flat keys. Describes are cached, so
        typing costs one call per object per gateway.
        """
        spec = ReadSpec(sobject, tuple(fields), where, include_deleted=include_deleted,
                        expected_rows=expected_rows)
        for rows in self.read_many([spec]):  # one read: the same path as several
            yield from rows

    def read_many(self, specs: Sequence[ReadSpec]) -> Iterator[Iterator[dict[str, Any]]]:
        """Per spec, in order, its records as :meth:`read` gives them; read each in turn.

        The same records as one ``read`` after another, for fewer calls and no idle
        waits: unknown sizes are counted five to a ``/composite`` call, Bulk query jobs
        are all started (up to the concurrency cap) before the first record is read and
        polled as a group, and the first REST page of the other reads goes five to a
        ``/composite`` call (see :mod:`sfrenew.salesforce.reads`).
        """
        return read_many(specs, bulk=self._bulk,
                         transport_pages=lambda requests: first_pages(self._t, requests),
                         rest_records=self._records_from, field_types=self._field_types,
                         bulk_rows=self.thresholds.read_bulk_rows)

    def _records_from(self, page: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The records of a first page and of the pages after it."""
        while True:
            for record in page.get("records") or ():
                yield strip_attributes(record)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._t.json(CallKind.QUERY_PAGE, "GET", str(next_url))

    def read_by_ids(self, sobject: str, fields: Sequence[str], ids: Sequence[str]
                    ) -> Iterator[dict[str, Any]]:
        """The records of ``sobject`` with these Ids, typed like :meth:`read`.

        A long ``Id IN (...)`` list is split so that every query URL fits Salesforce's
        16,384-byte limit (beyond it the org answers 414 URI_TOO_LONG).
        """
        if not ids:
            return
        names = list(fields)
        for name in names:
            check_name(name)
        types = self._field_types(sobject, names)
        readers = [(f, reader(types[f])) for f in names]
        template = "SELECT {fields:literal} FROM {sobject:literal} WHERE Id IN {values}"
        for soql in self.in_chunks(template, list(ids), fields=", ".join(names),
                                   sobject=check_name(sobject)):
            for record in self.query(soql):
                yield {f: read(lookup(record, f)) for f, read in readers}

    def in_chunks(self, template: str, values: Sequence[Any], **params: Any) -> list[str]:
        """``template`` (``format_soql``, with ``{values}``) split so each query URL fits."""
        return in_chunks(template, values, url_prefix=self._t.url("queryAll"), **params)

    # --- writes -------------------------------------------------------------------

    def write(self, operation: Operation | str, sobject: str,
              records: Sequence[Mapping[str, Any]], *,
              external_id_field: str | None = None) -> list[RowResult]:
        """Insert, update, upsert or delete ``records``; one RowResult each, in input order.

        sObject Collections below ``thresholds.write_bulk_rows``, a Bulk API 2.0 ingest
        job at or above. Rows refused with a lock error are sent again, only those, in
        batches half as large each round, at most ``lock_retry_rounds`` times.
        """
        return self.write_many([WriteRequest(Operation(operation), sobject, records,
                                             external_id_field)])[0]

    def write_many(self, requests: Sequence[WriteRequest]) -> list[list[RowResult]]:
        """Independent writes (no row of one looks up a row of another), as :meth:`write`
        does each; their Bulk API 2.0 jobs run at the same time, waited for as a group.
        The budget is asked for every call of every request first: all or nothing."""
        for request in requests:
            check_name(request.sobject)
            if request.operation is Operation.UPSERT and request.external_id_field is None:
                raise ConfigurationError(
                    f"upsert into {request.sobject} needs an external_id_field")
        # All or nothing: a write the budget cannot finish is not started, so no rows
        # are saved whose results the caller would never see.
        self._t.budget.check(calls=sum(self._calls_needed(len(r.records)) for r in requests
                                       if r.records))
        bulk = [i for i, r in enumerate(requests)
                if len(r.records) >= self.thresholds.write_bulk_rows]
        results: list[list[RowResult]] = [[] for _ in requests]
        if bulk:
            for i, answers in zip(bulk, self._bulk.ingest_many([requests[i] for i in bulk]),
                                  strict=True):
                results[i] = answers
        for i, r in enumerate(requests):
            if r.records and i not in bulk:
                results[i] = self._collections.write(
                    r.operation, r.sobject, r.records, external_id_field=r.external_id_field,
                    batch_size=MAX_RECORDS)
        for request, answers in zip(requests, results, strict=True):
            self._retry_locked(request, answers)
        return results

    def write_streamed(self, requests: Sequence[StreamedWrite]
                       ) -> Iterator[tuple[int, RowResult]]:
        """Independent writes whose rows are read from the caller's file as they are sent
        (a whole plan's rows of one object in one Bulk API 2.0 job, not held); (request
        number, RowResult) for each row once, in no particular order, as result files
        are read. A request below ``thresholds.write_bulk_rows`` has fewer rows than that
        and is read into memory and sent as :meth:`write_many` sends it. Rows refused
        with a lock error are sent again as :meth:`write` does, then yielded. The budget
        is asked for every call first: all or nothing."""
        bulk = self._streamed_bulk(requests)
        answers = self._bulk.ingest_streamed([requests[i] for i in bulk]) if bulk else iter(())
        yield from self._streamed_results(requests, bulk, answers)

    def start_streamed(self, requests: Sequence[StreamedWrite]
                       ) -> Iterator[tuple[int, RowResult]]:
        """:meth:`write_streamed` with its Bulk API 2.0 jobs created, uploaded and closed
        before this returns (Salesforce processes them while the caller prepares the
        next); the returned iterator waits for them and yields the results as
        :meth:`write_streamed` does. Requests sent through sObject Collections are sent
        as it is read."""
        bulk = self._streamed_bulk(requests)
        answers = self._bulk.start_streamed([requests[i] for i in bulk]) if bulk else iter(())
        return self._streamed_results(requests, bulk, answers)

    def _streamed_bulk(self, requests: Sequence[StreamedWrite]) -> list[int]:
        """Checks the requests and the budget (every call of every request); the numbers
        of those sent through Bulk API 2.0."""
        for request in requests:
            check_name(request.sobject)
            if request.operation is Operation.UPSERT and request.external_id_field is None:
                raise ConfigurationError(
                    f"upsert into {request.sobject} needs an external_id_field")
        self._t.budget.check(calls=sum(self._calls_needed(r.count) for r in requests
                                       if r.count))
        return [i for i, r in enumerate(requests) if r.count >= self.thresholds.write_bulk_rows]

    def _streamed_results(self, requests: Sequence[StreamedWrite], bulk: list[int],
                          answers: Iterator[tuple[int, RowResult]]
                          ) -> Iterator[tuple[int, RowResult]]:
        locked: dict[int, list[RowResult]] = {}
        for n, result in answers:
            if result.retriable:  # held back (few) and sent again below
                locked.setdefault(bulk[n], []).append(result)
            else:
                yield bulk[n], result
        for number, request in enumerate(requests):
            if number in bulk or not request.count:
                continue
            records = list(request.rows())
            answers_now = self._collections.write(
                request.operation, request.sobject, records,
                external_id_field=request.external_id_field, batch_size=MAX_RECORDS)
            self._retry_locked(WriteRequest(request.operation, request.sobject, records,
                                            request.external_id_field), answers_now)
            for answer in answers_now:
                yield number, answer
        for number, refused in locked.items():
            request = requests[number]
            indexes = [r.index for r in refused]
            again = [_at(r, n) for n, r in enumerate(refused)]
            self._retry_locked(WriteRequest(request.operation, request.sobject,
                                            request.rows_at(indexes),
                                            request.external_id_field), again)
            for index, answer in zip(indexes, again, strict=True):
                yield number, _at(answer, index)

    def _retry_locked(self, request: WriteRequest, results: list[RowResult]) -> None:
        """Rows refused with a lock error, sent again in halving batches (in place)."""
        op, sobject, records = request.operation, request.sobject, request.records
        policy = self._t.retry
        try:
            for round_number in range(1, policy.lock_retry_rounds + 1):
                again = [r.index for r in results if r.retriable]
                if not again:
                    break
                policy.pause_before_round(round_number)
                size = max(1, MAX_RECORDS >> round_number)
                for chunk in self._retry_chunks(again, size):
                    # One call (or one Bulk job) at a time, results kept as they come,
                    # so a stop half-way never loses a row that was saved.
                    self._t.budget.check(calls=self._calls_needed(len(chunk), size))
                    retried = self._write_once(op, sobject, [records[i] for i in chunk],
                                               external_id_field=request.external_id_field,
                                               batch_size=size)
                    for i, result in zip(chunk, retried, strict=True):
                        results[i] = _at(result, i)
        except (BudgetExhausted, TransientError) as exc:
            # The first pass is done and its results are the caller's; rows still
            # locked stay as retriable failures rather than losing every result.
            log.warning(EVENT_LOCK_RETRY_STOPPED, sobject=sobject,
                        rows=sum(r.retriable for r in results), reason=type(exc).__name__)

    def _retry_chunks(self, indexes: list[int], size: int) -> list[list[int]]:
        if len(indexes) >= self.thresholds.write_bulk_rows:
            return [indexes]  # one Bulk job
        return [indexes[i:i + size] for i in range(0, len(indexes), size)]

    def _calls_needed(self, rows: int, batch_size: int = MAX_RECORDS) -> int:
        if rows >= self.thresholds.write_bulk_rows:
            return BULK_INGEST_CALLS
        return -(-rows // batch_size)

    def _write_once(self, op: Operation, sobject: str, records: Sequence[Mapping[str, Any]], *,
                    external_id_field: str | None, batch_size: int) -> list[RowResult]:
        if len(records) >= self.thresholds.write_bulk_rows:
            return self._bulk.ingest(op, sobject, records, external_id_field=external_id_field)
        return self._collections.write(op, sobject, records, external_id_field=external_id_field,
                                       batch_size=batch_size)

    # --- metadata -----------------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe: cached for the gateway's lifetime, and across runs in
        the ``describe_cache`` when there is one (at most one call per object)."""
        key = check_name(sobject).lower()
        if key not in self._describes:
            saved = self._saved_describes.get(sobject) if self._saved_describes else None
            if saved is None:
                saved = self._t.json(CallKind.DESCRIBE, "GET", f"sobjects/{sobject}/describe")
                if self._saved_describes is not None:
                    self._saved_describes.put(sobject, saved)
            self._describes[key] = saved
        return self._describes[key]

    def describe_global(self) -> dict[str, Any]:
        """The global describe (every object's name and flags)."""
        result: dict[str, Any] = self._t.json(CallKind.DESCRIBE, "GET", "sobjects")
        return result

    def limits(self) -> dict[str, Any]:
        """``/limits``; the daily allocation it reports feeds the budget guard."""
        result: dict[str, Any] = self._t.json(CallKind.LIMITS, "GET", "limits")
        daily = result.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            usage = ApiUsage(used=int(daily["Max"]) - int(daily["Remaining"]),
                             max=int(daily["Max"]))
            self._t.usage = usage
            self._t.budget.observe(usage)
        return result

    def _field_types(self, sobject: str, fields: Sequence[str]) -> dict[str, str]:
        types: dict[str, str] = {}
        for name in fields:
            *hops, leaf = check_name(name).split(".")
            target = sobject
            for hop in hops:  # follow the relationship to the object it points at
                target = self._related(target, hop)
            types[name] = self._field(target, leaf)["type"]
        return types

    def _field(self, sobject: str, name: str) -> dict[str, Any]:
        for field in self.describe(sobject)["fields"]:
            if field["name"].lower() == name.lower():
                return dict(field)
        raise ConfigurationError(f"{sobject} has no field {name}")

    def _related(self, sobject: str, relationship: str) -> str:
        for field in self.describe(sobject)["fields"]:
            rel = field.get("relationshipName")
            if rel and rel.lower() == relationship.lower() and field.get("referenceTo"):
                return str(field["referenceTo"][0])
        raise ConfigurationError(f"{sobject} has no relationship {relationship}")


def _at(result: RowResult, index: int) -> RowResult:
    return RowResult(index=index, id=result.id, created=result.created, success=result.success,
                     error_code=result.error_code, message=result.message, fields=result.fields)


def connect(config: SalesforceConfig, *, retry: RetryPolicy | None = None,
            budget: BudgetGuard | None = None, counter: CallCounter | None = None,
            session: requests.Session | None = None, base_dir: Path | None = None,
            check_limits: bool = True, describe_cache: DescribeCache | None = None) -> Gateway:
    """Log in as ``config`` says and return a Gateway.

    ``retry``, ``budget`` and ``counter`` default to what the config says; pass them to
    share a counter across gateways or to run tests without waiting. ``base_dir``
    resolves relative paths in the config (the config file's folder). With
    ``check_limits`` the org's ``/limits`` is read first, so the budget guard knows
    the daily allocation before the first real call. ``describe_cache`` keeps
    describes across runs (:mod:`sfrenew.salesforce.describes`).
    """
    login, ca_file = login_for(config, base_dir=base_dir)
    http = session or requests.Session()
    # TLS is always verified: against the local org's own CA, or the system's.
    http.verify = str(ca_file) if ca_file is not None else True
    if ca_file is not None:
        # REQUESTS_CA_BUNDLE in the environment would override ``verify``; the local
        # org's CA must win (and 127.0.0.1 needs no proxy from the environment).
        http.trust_env = False
    settings = config.retry
    policy = retry or RetryPolicy(attempts=settings.attempts, max_seconds=settings.max_seconds,
                                  initial_wait=settings.initial_wait_seconds,
                                  max_wait=settings.max_wait_seconds,
                                  lock_retry_rounds=settings.lock_retry_rounds)
    guard = budget or BudgetGuard(max_calls_per_run=config.budget.max_calls_per_run,
                                  reserve_calls=config.budget.reserve_calls,
                                  reserve_percent=config.budget.reserve_percent)
    transport = Transport(login=login, session=http, api_version=config.api_version,
                          retry=policy, budget=guard, counter=counter or CallCounter(),
                          timeout=config.timeout_seconds)
    transport.authenticate()
    gateway = Gateway(transport, thresholds=Thresholds(
        read_bulk_rows=config.thresholds.read_bulk_rows,
        write_bulk_rows=config.thresholds.write_bulk_rows),
        bulk_poll_seconds=config.bulk_poll_seconds, describe_cache=describe_cache)
    if check_limits:
        gateway.limits()
    return gateway
