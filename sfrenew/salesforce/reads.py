"""Reading several objects in one go: counts and first pages batched, Bulk jobs concurrent.

:meth:`Gateway.read_many <sfrenew.salesforce.gateway.Gateway.read_many>` gives each
read's records in order, like :meth:`~sfrenew.salesforce.gateway.Gateway.read` one
after the other, for fewer calls and less waiting: the ``COUNT()`` of every read
whose size is unknown go five to a ``/composite`` call; every read at or above the
Bulk threshold gets its query job started before the first record is read (at most
``max_concurrent_jobs`` at once, the next one started as one is read), the jobs
polled as a group; the first REST page of every other read goes five to a
``/composite`` call too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sfrenew.salesforce.bulk import BulkApi
from sfrenew.salesforce.composite import QueryPageRequest
from sfrenew.salesforce.port import ReadSpec
from sfrenew.salesforce.soql import count_query, select
from sfrenew.salesforce.values import lookup, reader

Pages = Callable[[dict[str, Any]], Iterator[dict[str, Any]]]  # first page -> records


def read_many(specs: Sequence[ReadSpec], *, bulk: BulkApi, transport_pages: Callable[
        [Sequence[QueryPageRequest]], list[dict[str, Any]]], rest_records: Pages,
        field_types: Callable[[str, Sequence[str]], dict[str, str]],
        bulk_rows: int) -> Iterator[Iterator[dict[str, Any]]]:
    """Per spec, in order, an iterator of its typed records (consume each in turn)."""
    types = [field_types(s.sobject, s.fields) for s in specs]
    sizes = [s.expected_rows for s in specs]
    unknown = [i for i, n in enumerate(sizes) if n is None]
    counted = transport_pages([QueryPageRequest(count_query(specs[i].sobject, specs[i].where),
                                                specs[i].include_deleted) for i in unknown])
    for i, page in zip(unknown, counted, strict=True):
        sizes[i] = int(page["totalSize"])
    by_bulk = [i for i, n in enumerate(sizes) if (n or 0) >= bulk_rows]
    group = bulk.group()
    waiting = deque(by_bulk)
    jobs: dict[int, str] = {}

    def start_jobs() -> None:
        while waiting and group.running < bulk.max_concurrent_jobs:
            i = waiting.popleft()
            spec = specs[i]
            jobs[i] = bulk.start_query(select(spec.sobject, spec.fields, spec.where),
                                       include_deleted=spec.include_deleted)
            group.add(f"jobs/query/{jobs[i]}", expected_rows=sizes[i])

    start_jobs()  # Salesforce works on them while the REST reads go on
    rest = [i for i in range(len(specs)) if i not in jobs and i not in waiting]
    firsts = dict(zip(rest, transport_pages([QueryPageRequest(
        select(specs[i].sobject, specs[i].fields, specs[i].where), specs[i].include_deleted)
        for i in rest]), strict=True))
    for i, spec in enumerate(specs):
        if i in firsts:
            page = firsts.pop(i)
            yield _typed(rest_records(page), spec.fields, types[i], nested=True)
        else:
            if i not in jobs:
                start_jobs()
            rows = bulk.query_rows(jobs.pop(i), group)
            yield _then(_typed(rows, spec.fields, types[i], nested=False), start_jobs)


def _typed(records: Iterable[dict[str, Any]], fields: Sequence[str], types: dict[str, str],
           *, nested: bool) -> Iterator[dict[str, Any]]:
    readers = [(f, reader(types[f])) for f in fields]  # once per read, not per value
    if nested:
        for record in records:
            yield {f: read(lookup(record, f)) for f, read in readers}
    else:
        for record in records:
            yield {f: read(record.get(f)) for f, read in readers}


def _then(rows: Iterator[dict[str, Any]], after: Callable[[], None]
          ) -> Iterator[dict[str, Any]]:
    """``rows``, then ``after()`` (the next waiting job starts once a group slot frees)."""
    yield from rows
    after()

