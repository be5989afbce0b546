"""A pass's Bulk API 2.0 rows, spooled to disk as the plan is read, sent as one job each.

The apply reads the plan a small batch at a time. The changes of an object written
through Bulk API 2.0 are not sent per batch: each batch's rows get their ledger intents
(before anything is sent, as for every write) and are appended to a temporary file per
object and operation. At the end of a pass over the plan every file is sent as one
Bulk job (jobs of different objects run at the same time), and the results are
recorded as the result files are read, a few thousand rows at a time. So a plan of any
size holds a batch of changes, a file offset per spooled row and the job's row digests
(:mod:`sfrenew.salesforce.bulk`), and pays one job per object instead of one per batch.

A run killed before the results are recorded leaves intents without results: the
next run settles them in the org first (:mod:`sfrenew.apply.recover`), as for any
chunk killed in flight.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sfrenew.apply import writer
from sfrenew.apply.writer import (
    ApplyTotals,
    SentRow,
    Target,
    record_intents,
    record_results,
    sf_operation,
)
from sfrenew.core.changeset import RecordChange
from sfrenew.salesforce.port import GatewayPort, StreamedWrite
from sfrenew.salesforce.results import Operation, RowResult
from sfrenew.store.port import StorePort

RECORD_ROWS = 500  # results recorded in the ledger this many rows at a time


class RowSpool:
    """The rows of one object and operation, in a temporary file: one pickled
    :class:`SentRow` each, found again by its offset (8 bytes a row in memory)."""

    def __init__(self, target: Target, operation: Operation) -> None:
        self.target, self.operation = target, operation
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._offsets = array("q", [0])  # row i is at offsets[i]:offsets[i + 1]
        self._columns: dict[str, None] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def add(self, sent: SentRow) -> None:
        """Append one row."""
        data = pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.write(data)
        self._offsets.append(self._offsets[-1] + len(data))
        for name in sent.row:
            self._columns.setdefault(name, None)

    def at(self, index: int) -> SentRow:
        """Row ``index`` (read with pread: the file position is not moved)."""
        start, stop = self._offsets[index], self._offsets[index + 1]
        # Written by this process to its own unnamed temporary file moments ago.
        return pickle.loads(os.pread(self._file.fileno(), stop - start, start))  # type: ignore[no-any-return] # noqa: S301

    def request(self) -> StreamedWrite:
        """The write of every spooled row, read from the file as it is sent."""
        self._file.flush()
        target = self.target

        def rows() -> Iterator[Mapping[str, Any]]:
            return (self.at(i).row for i in range(len(self)))

        def rows_at(indexes: Sequence[int]) -> list[Mapping[str, Any]]:
            return [self.at(i).row for i in indexes]

        return StreamedWrite(
            self.operation, target.sobject, tuple(self._columns), len(self), rows, rows_at,
            target.key_field if self.operation is Operation.UPSERT else None)

    def close(self) -> None:
        """Delete the file."""
        self._file.close()


class Spools:
    """The spooled Bulk rows of one pass, by target (its place in the apply's targets)
    and operation; :meth:`send` sends them all and records every result."""

    def __init__(self, *, gateway: GatewayPort, store: StorePort, run_id: str,
                 clock: Callable[[], datetime], totals: ApplyTotals) -> None:
        self.gateway, self.store, self.run_id, self.clock = gateway, store, run_id, clock
        self.totals = totals
        self._spools: dict[tuple[int, Operation], RowSpool] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._spools.values())

    def add(self, n: int, target: Target, changes: Sequence[RecordChange],
            refs: Sequence[Mapping[str, str]]) -> None:
        """Record the changes' intents in the ledger and spool their rows."""
        # Answered when the pass's Bulk job ends: the intents are read back then.
        for sent in record_intents(store=self.store, run_id=self.run_id, target=target,
                                   changes=changes, refs=refs, clock=self.clock,
                                   answered_soon=False):
            op = sf_operation(target, sent.kind)
            spool = self._spools.get((n, op))
            if spool is None:
                spool = self._spools[(n, op)] = RowSpool(target, op)
            spool.add(sent)

    def send(self) -> None:
        """Send every spooled row (one Bulk job per object and operation, run at the same
        time), recording results as they are read; the spools are emptied."""
        spools = [s for _k, s in sorted(self._spools.items(), key=lambda kv: kv[0])]
        self._spools = {}
        if not spools:
            return
        try:
            # Per spool, the answers not recorded yet; the rows they answer are read
            # back from the spool only when recorded, one spool's batch at a time.
            pending: list[list[RowResult]] = [[] for _ in spools]
            answers = self.gateway.write_streamed([s.request() for s in spools])
            first = self.totals.chunks + 1
            self.totals.chunks += len(spools)  # a job each, for the crash tests' seam
            started = False
            for number, result in answers:
                if not started:  # sent, nothing recorded yet: the worst moment to die
                    # The module's seam, looked up when called (the crash tests patch it).
                    writer.chunk_checkpoint(first, "before_results")
                    started = True
                pending[number].append(result)
                if len(pending[number]) >= RECORD_ROWS:
                    self._record(spools[number], pending[number])
                    pending[number] = []
            for spool, results in zip(spools, pending, strict=True):
                self._record(spool, results)
            writer.chunk_checkpoint(self.totals.chunks, "after_results")
        finally:
            for spool in spools:
                spool.close()

    def _record(self, spool: RowSpool, results: list[RowResult]) -> None:
        if results:
            record_results(store=self.store, run_id=self.run_id, target=spool.target,
                           sent=[spool.at(r.index) for r in results], results=results,
                           clock=self.clock, totals=self.totals)
            # The Ids learnt are in the ledger, where the next pass's lookups find them:
            # not kept here, or they would grow with the plan.
            self.totals.ids.clear()
