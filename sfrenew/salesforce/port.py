"""The gateway's interface, declared once: what the runner and the steps call.

:class:`sfrenew.salesforce.Gateway` (simple-salesforce's session over REST and Bulk
API 2.0) implements it; the steps (pull, apply, recovery, rollback) take a
:class:`GatewayPort`, so a step depends on this contract and its values
(:mod:`sfrenew.salesforce.results`, :mod:`sfrenew.salesforce.errors`,
:func:`sfrenew.salesforce.soql.format_soql`), never on HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sfrenew.salesforce.budget import BudgetGuard, CallCounter
from sfrenew.salesforce.errors import ApiUsage
from sfrenew.salesforce.results import Operation, RowResult


@dataclass(frozen=True)
class Thresholds:
    """Row counts from which the Bulk API 2.0 is used (at or above)."""

    read_bulk_rows: int = 10_000
    write_bulk_rows: int = 2_000


@dataclass(frozen=True)
class ReadSpec:
    """One read of :meth:`GatewayPort.read_many`: like the arguments of ``read``."""

    sobject: str
    fields: tuple[str, ...]
    where: str | None = None
    include_deleted: bool = False
    expected_rows: int | None = None  # None: a COUNT() decides REST or Bulk


@dataclass(frozen=True)
class WriteRequest:
    """One write of :meth:`GatewayPort.write_many`: like the arguments of ``write``."""

    operation: Operation
    sobject: str
    records: Sequence[Mapping[str, Any]]
    external_id_field: str | None = None


@dataclass(frozen=True)
class StreamedWrite:
    """One write of :meth:`GatewayPort.write_streamed`: its rows are read from the
    caller's store (a file) as they are sent, never held; ``columns`` is every field of
    any row; ``rows_at`` reads some rows again, by index (rows refused with a lock
    error are sent again)."""

    operation: Operation
    sobject: str
    columns: tuple[str, ...]
    count: int
    rows: Callable[[], Iterator[Mapping[str, Any]]]
    rows_at: Callable[[Sequence[int]], list[Mapping[str, Any]]]
    external_id_field: str | None = None


class GatewayPort(Protocol):
    """Queries, reads, counts, writes and metadata for one org."""

    @property
    def thresholds(self) -> Thresholds:
        """From which row counts reads and writes go through Bulk API 2.0."""

    @property
    def calls(self) -> CallCounter:
        """Calls made through this gateway, by kind."""

    @property
    def budget(self) -> BudgetGuard:
        """The run's API budget guard."""

    @property
    def api_usage(self) -> ApiUsage | None:
        """The org's daily API usage as Salesforce last reported it."""

    def close(self) -> None:
        """Close the gateway's connections."""

    def query(self, soql: str, *, include_deleted: bool = False,
              batch_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Stream a SOQL query's records over REST pages (``queryAll`` with deletes)."""

    def count(self, sobject: str, where: str | None = None, *,
              include_deleted: bool = False) -> int:
        """``SELECT COUNT() FROM sobject [WHERE where]`` (one call)."""

    def read(self, sobject: str, fields: Sequence[str], where: str | None = None, *,
             include_deleted: bool = False,
             expected_rows: int | None = None) -> Iterator[dict[str, Any]]:
        """Records of ``sobject`` with exactly ``fields`` as keys, typed by describe;
        REST or Bulk by volume."""

    def read_by_ids(self, sobject: str, fields: Sequence[str], ids: Sequence[str]
                    ) -> Iterator[dict[str, Any]]:
        """The records of ``sobject`` with these Ids, typed like :meth:`read`, in as many
        REST queries as it takes for each URL to fit (Salesforce answers 414 beyond)."""

    def in_chunks(self, template: str, values: Sequence[Any], **params: Any) -> list[str]:
        """``template`` (``format_soql``, with ``{values}``) split so each query URL fits."""

    def write(self, operation: Operation | str, sobject: str,
              records: Sequence[Mapping[str, Any]], *,
              external_id_field: str | None = None) -> list[RowResult]:
        """Insert, update, upsert or delete ``records``; one RowResult each, in input order."""

    def write_many(self, requests: Sequence[WriteRequest]) -> list[list[RowResult]]:
        """Independent writes, their Bulk jobs running at the same time; per request one
        RowResult per record, in input order."""

    def write_streamed(self, requests: Sequence[StreamedWrite]
                       ) -> Iterator[tuple[int, RowResult]]:
        """Independent writes whose rows are read as they are sent; (request number,
        RowResult) for each row once, in no particular order."""

    def start_streamed(self, requests: Sequence[StreamedWrite]
                       ) -> Iterator[tuple[int, RowResult]]:
        """:meth:`write_streamed` with its Bulk jobs started before it returns: the org
        works on them while the caller goes on; the iterator waits and yields results."""

    def read_many(self, specs: Sequence[ReadSpec]) -> Iterator[Iterator[dict[str, Any]]]:
        """Per spec, in order, its records as ``read`` gives them (read each in turn);
        counts and first pages batched, Bulk query jobs concurrent."""

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe (cached: one call per object)."""

    def describe_global(self) -> dict[str, Any]:
        """The global describe (every object's name and flags)."""

    def limits(self) -> dict[str, Any]:
        """``/limits``; the daily allocation it reports feeds the budget guard."""
