"""A pass's Bulk API 2.0 rows, spooled to disk as the plan is read, sent as jobs.

The apply reads the plan a small batch at a time. The changes of an object written
through Bulk API 2.0 are not sent per batch: each batch's rows get their ledger intents
(before anything is sent, as for every write) and are appended to a temporary file per
object and operation. A file that reaches ``JOB_ROWS`` rows (one Bulk internal batch)
is sent at once as its own job, and Salesforce processes it while the apply reads the
plan on and spools the next rows. An object's first job is smaller
(``FIRST_JOB_ROWS``), so the org starts on it soon after the pass does, and an object a
later pass waits for goes in smaller jobs (``Spools._awaited_rows``), so that pass
waits for one small job (ADR 0026's second and third amendments). At the end of a pass
the rest is sent (jobs of different objects run at the same time) and every job's
results are recorded, oldest job first, as its result files are read, a few hundred
rows at a time, while the org still works on the later jobs; when another pass
follows, only the jobs it looks up are waited for, the others are answered during it.
So a plan of any size holds a batch of changes, a file offset per spooled row and the
jobs' row digests (:mod:`sfrenew.salesforce.bulk`), and pays one job per object per
10,000 rows, plus its first small one (an awaited object: about four jobs, of at least
2,000 rows), instead of one per batch of the plan.

A run killed before the results are recorded leaves intents without results: the
next run settles them in the org first (:mod:`sfrenew.apply.recover`), as for any
chunk killed in flight.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile
from array import array
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

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
# A spool this full is sent as its own job while the pass goes on: Salesforce processes
# Bulk API 2.0 ingest in internal batches of 10,000 records, each counted against the
# org's 15,000 a day, so a smaller job would spend batches and calls for no gain,
# unless a later pass waits for it or it is the object's first (below).
JOB_ROWS = 10_000
# An object a later pass waits for (renewal opportunities: their lines and tasks look
# them up) goes in smaller jobs: the org starts on the first while the plan is still
# read, and the next pass waits for one small job, not for every row of the object (a
# job of at most 10,000 rows is one internal batch, processed 200 records at a time;
# batches of different jobs run in parallel). Its rows in the plan are split in
# IN_FLIGHT - 1 jobs, so the pass never stops to answer one, of at least this many
# rows: where Salesforce starts recommending Bulk API 2.0 over synchronous calls.
AWAITED_JOB_ROWS = 2_000
# The first job of any other object is no bigger either: the org (Salesforce too) starts
# on a job only once it is closed, and with 10,000-row jobs it stood idle at the start
# of a pass while the first 10,000 rows were spooled (7.5 s of the second pass at 20,000
# contracts), and the end of the run then waited for it. One more job an object: about
# six calls and one of the org's 15,000 internal batches a day.
FIRST_JOB_ROWS = 2_000
# Jobs sent and not yet answered. The gateway's own cap (MAX_CONCURRENT_JOBS) keeps one
# run from crowding the org's other integrations: the same figure.
IN_FLIGHT = 5


class RowSpool:
    """The rows of one object and operation, in a temporary file: one pickled
    :class:`SentRow` each, found again by its offset (8 bytes a row in memory). A row's
    recorded intent goes to a second file: it is read only when the row's result is
    recorded, not when the row is uploaded."""

    def __init__(self, target: Target, operation: Operation) -> None:
        self.target, self.operation = target, operation
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._offsets = array("q", [0])  # row i is at offsets[i]:offsets[i + 1]
        self._intents = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._intent_offsets = array("q", [0])
        self._columns: dict[str, None] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def add(self, sent: SentRow) -> None:
        """Append one row."""
        _append(self._file, self._offsets, dataclasses.replace(sent, intent=None))
        _append(self._intents, self._intent_offsets, sent.intent)
        for name in sent.row:
            self._columns.setdefault(name, None)

    def at(self, index: int) -> SentRow:
        """Row ``index`` without its intent (read with pread: the file position is not
        moved)."""
        return _read(self._file, self._offsets, index)  # type: ignore[no-any-return]

    def answered(self, index: int) -> SentRow:
        """Row ``index`` with its recorded intent, to record its result."""
        intent = _read(self._intents, self._intent_offsets, index)
        return dataclasses.replace(self.at(index), intent=intent)

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
        """Delete the files."""
        self._file.close()
        self._intents.close()


def _append(file: IO[bytes], offsets: array[int], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    file.write(data)
    offsets.append(offsets[-1] + len(data))


def _read(file: IO[bytes], offsets: array[int], index: int) -> Any:
    start, stop = offsets[index], offsets[index + 1]
    file.flush()  # no-op unless rows were added since the last read
    # Written by this process to its own unnamed temporary file moments ago.
    return pickle.loads(os.pread(file.fileno(), stop - start, start))  # noqa: S301


@dataclass
class _Sent:
    """Spools whose jobs are started: their answers, and the apply's number of the first
    (each spool counts as one chunk, for the crash tests' seam)."""

    spools: list[RowSpool]
    answers: Iterator[tuple[int, RowResult]]
    first: int

    def close(self) -> None:
        for spool in self.spools:
            spool.close()


class Spools:
    """The spooled Bulk rows of the apply's passes, by target (its place in the targets)
    and operation.

    A spool that reaches ``job_rows`` rows (``first_job_rows`` for an object's first
    job, ``awaited_job_rows`` for an object in :attr:`awaited`: :meth:`_job_rows`) is
    sent at once as its own job (the org processes it while the plan is read on), and
    a new spool takes the object's next rows; at most ``IN_FLIGHT`` sends wait for
    their answers, the oldest answered first. :meth:`send` sends the rest and records
    the results (at a pass's end, those the next pass looks up).
    """

    def __init__(self, *, gateway: GatewayPort, store: StorePort, run_id: str,
                 clock: Callable[[], datetime], totals: ApplyTotals) -> None:
        self.gateway, self.store, self.run_id, self.clock = gateway, store, run_id, clock
        self.totals = totals
        # Looked up when built: the tests set the module's value to see several jobs.
        self.job_rows = JOB_ROWS
        self.awaited_job_rows = AWAITED_JOB_ROWS
        self.first_job_rows = FIRST_JOB_ROWS
        # Objects a later pass waits for (the apply adds them as it finds such changes),
        # and the rows each object has in the plan (its header's counts).
        self.awaited: set[str] = set()
        self.planned: Mapping[str, int] = {}
        self._spools: dict[tuple[int, Operation], RowSpool] = {}
        self._sent: deque[_Sent] = deque()
        self._begun: set[str] = set()  # objects with a job started

    def add(self, n: int, target: Target, changes: Sequence[RecordChange],
            refs: Sequence[Mapping[str, str]]) -> None:
        """Record the changes' intents in the ledger and spool their rows (a spool that
        is full is sent)."""
        # Answered when the job ends: each row keeps its recorded intent until then.
        full: list[RowSpool] = []
        limit = self._job_rows(target.sobject)
        for sent in record_intents(store=self.store, run_id=self.run_id, target=target,
                                   changes=changes, refs=refs, clock=self.clock,
                                   answered_soon=False):
            key = (n, sf_operation(target, sent.kind))
            spool = self._spools.get(key)
            if spool is None:
                spool = self._spools[key] = RowSpool(target, key[1])
            spool.add(sent)
            if len(spool) >= limit:  # the object's next rows go to a new spool
                full.append(self._spools.pop(key))
                self._begun.add(target.sobject)
                limit = self._job_rows(target.sobject)
        if full:
            self._start(full)

    def _job_rows(self, sobject: str) -> int:
        """The rows of ``sobject``'s next job: smaller for its first job and for an object
        a later pass waits for."""
        if sobject in self.awaited:
            return min(self.job_rows, self._awaited_rows(sobject))
        if sobject not in self._begun:  # its first job: the org starts on it sooner
            return min(self.job_rows, self._small(self.first_job_rows))
        return self.job_rows

    def _awaited_rows(self, sobject: str) -> int:
        """Rows per job of an object a later pass waits for: its planned rows in
        ``IN_FLIGHT - 1`` jobs, at least ``awaited_job_rows``, and never so few that the
        gateway would send them through sObject Collections (a call per 200 rows)."""
        share = -(-self.planned.get(sobject, 0) // max(IN_FLIGHT - 1, 1))
        return self._small(max(share, self.awaited_job_rows))

    def _small(self, rows: int) -> int:
        """``rows``, or more where the gateway would send fewer through sObject
        Collections (a call per 200 rows) instead of a Bulk job."""
        return max(rows, self.gateway.thresholds.write_bulk_rows)

    def send(self, *, waited: Collection[str] | None = None) -> None:
        """Send every spooled row (one Bulk job per object and operation, run at the same
        time), wait for every job sent, recording results as they are read; the spools
        are emptied.

        ``waited`` (at the end of a pass another pass follows): wait only for the jobs
        holding these objects' rows, the ones the next pass looks up, sent first in jobs
        of their own; the other jobs stay in flight, the org working on them while the
        next pass reads the plan, and are answered when ``IN_FLIGHT`` sends wait or by
        the last pass's :meth:`send`.
        """
        rest = [s for _k, s in sorted(self._spools.items(), key=lambda kv: kv[0])]
        self._spools = {}
        groups = [rest] if waited is None else [
            [s for s in rest if s.target.sobject in waited],
            [s for s in rest if s.target.sobject not in waited]]
        try:
            for group in groups:
                if group:
                    self._start(group)
            while (sent := next((x for x in self._sent if waited is None or any(
                    s.target.sobject in waited for s in x.spools)), None)) is not None:
                self._answer(sent)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Delete every spool, sent or not (after a failure: the rows' intents are in
        the ledger, and the next run settles them in the org)."""
        for spool in self._spools.values():
            spool.close()
        self._spools = {}
        while self._sent:
            self._sent.popleft().close()

    def _start(self, spools: list[RowSpool]) -> None:
        """Send ``spools`` (their jobs started now), after answering the oldest sends
        while ``IN_FLIGHT`` wait."""
        try:
            while len(self._sent) >= IN_FLIGHT:
                self._answer(self._sent[0])
            answers = self.gateway.start_streamed([s.request() for s in spools])
        except BaseException:
            for spool in spools:
                spool.close()
            self.close()
            raise
        self._begun.update(s.target.sobject for s in spools)
        self._sent.append(_Sent(spools, answers, self.totals.chunks + 1))
        self.totals.chunks += len(spools)  # a job each, for the crash tests' seam

    def _answer(self, sent: _Sent) -> None:
        """Record every answer of ``sent`` (the rows they answer are read back from its
        spools only when recorded, a batch at a time), then delete its spools."""
        # Per spool, the answers not recorded yet.
        pending: list[list[RowResult]] = [[] for _ in sent.spools]
        started = False
        for number, result in sent.answers:
            if not started:  # sent, nothing recorded yet: the worst moment to die
                # The module's seam, looked up when called (the crash tests patch it).
                writer.chunk_checkpoint(sent.first, "before_results")
                started = True
            pending[number].append(result)
            if len(pending[number]) >= RECORD_ROWS:
                self._record(sent.spools[number], pending[number])
                pending[number] = []
        for spool, results in zip(sent.spools, pending, strict=True):
            self._record(spool, results)
        writer.chunk_checkpoint(sent.first + len(sent.spools) - 1, "after_results")
        # Removed by identity (the oldest but for a pass's end, which skips the sends
        # no later pass waits for).
        del self._sent[next(i for i, x in enumerate(self._sent) if x is sent)]
        sent.close()

    def _record(self, spool: RowSpool, results: list[RowResult]) -> None:
        if results:
            record_results(store=self.store, run_id=self.run_id, target=spool.target,
                           sent=[spool.answered(r.index) for r in results], results=results,
                           clock=self.clock, totals=self.totals)
            # The Ids learnt are in the ledger, where the next pass's lookups find them:
            # not kept here, or they would grow with the plan.
            self.totals.ids.clear()
