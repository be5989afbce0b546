"""The values the state store takes and returns: closed sets as StrEnum, rows as
frozen dataclasses. Nothing here touches a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunKind(StrEnum):
    """What a run does."""

    PULL = "pull"
    PLAN = "plan"
    APPLY = "apply"
    ROLLBACK = "rollback"
    BACKFILL = "backfill"
    RUN = "run"  # a scheduled job's run: pull, plan and apply together


class RunStatus(StrEnum):
    """Where a run is. ``running`` and ``interrupted`` are unfinished (resumable)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"  # stopped on purpose (budget spent, operator asked)
    INTERRUPTED = "interrupted"  # found running after a crash; may be resumed


class Operation(StrEnum):
    """What one ledger write does to one Salesforce record."""

    CREATE = "create"
    UPDATE = "update"
    CLOSE = "close"
    DELETE = "delete"
    RESTORE = "restore"  # a rollback putting earlier values back


class WriteStatus(StrEnum):
    """A ledger write: recorded before sending (intent), then its result."""

    INTENT = "intent"  # sent or about to be sent; outcome unknown
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Owner(StrEnum):
    """Who a written field belongs to."""

    SFRENEW = "sfrenew"
    PERSON = "person"


# --- mirror -------------------------------------------------------------------------


@dataclass(frozen=True)
class MirrorRow:
    """A pulled record to store: its Id, the account it belongs to, and its fields."""

    sf_id: str
    data: Mapping[str, Any]
    group_key: str | None = None  # the Account Id, for streaming account by account
    system_modstamp: str | None = None  # as Salesforce sent it
    is_deleted: bool = False


@dataclass(frozen=True)
class MirrorRecord:
    """A record as the mirror holds it."""

    object: str
    sf_id: str
    data: Mapping[str, Any]
    group_key: str | None
    system_modstamp: str | None
    is_deleted: bool


@dataclass(frozen=True)
class PlanState:
    """What the last plan made of one account (see ``schema.plan_state``).

    ``marker`` is the mirror version the plan saw; ``replan_on`` the ISO day its plan may
    change with the date alone (None: never); ``entry`` its output, replayed as is.
    """

    group_key: str
    marker: int
    replan_on: str | None
    entry: Mapping[str, Any]


@dataclass(frozen=True)
class PlanMeta:
    """The last complete plan's fingerprint (config, mapping, rules), the mirror version
    it saw and its day (ISO)."""

    fingerprint: str
    marker: int
    today: str


@dataclass(frozen=True)
class MirrorGroup:
    """All mirrored records of one account, by object (objects with none are absent)."""

    group_key: str
    records: Mapping[str, tuple[MirrorRecord, ...]]

    def of(self, object_name: str) -> tuple[MirrorRecord, ...]:
        """The group's records of one object (empty when there are none)."""
        return self.records.get(object_name, ())

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.records.values())


@dataclass(frozen=True)
class MirrorCount:
    """How many records of one object the mirror holds."""

    live: int
    deleted: int


# --- runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteCounts:
    """Records written to one object by one run."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    deleted: int = 0  # sfrenew's own analytics rows past their retention

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(created=self.created + other.created,
                           updated=self.updated + other.updated,
                           skipped=self.skipped + other.skipped,
                           rejected=self.rejected + other.rejected,
                           deleted=self.deleted + other.deleted)


# A write recorded as failed because recovery found it never reached Salesforce: not a
# rejection, and not a write (the next plan plans it again).
NOT_SENT = "NOT_SENT"


@dataclass(frozen=True)
class LedgerCounts:
    """What the ledger holds for one object of one run, over every attempt of it.

    Succeeded writes by what they did (``updated`` counts closes too), rows Salesforce
    rejected, and ``unknown``: intents with no answer yet (the process died after
    recording them; the next run looks them up in the org).
    """

    created: int = 0
    updated: int = 0
    deleted: int = 0
    rejected: int = 0
    unknown: int = 0

    @property
    def written(self) -> int:
        """Records this object's writes changed in Salesforce."""
        return self.created + self.updated + self.deleted

    def to_json(self) -> dict[str, int]:
        """A JSON-ready dict."""
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted,
                "rejected": self.rejected, "unknown": self.unknown}


@dataclass(frozen=True)
class RunStats:
    """What a run did, as ``sfrenew runs show`` reports it."""

    pulled: Mapping[str, int] = field(default_factory=dict)  # rows per object
    written: Mapping[str, WriteCounts] = field(default_factory=dict)  # per object
    api_calls: Mapping[str, int] = field(default_factory=dict)  # per kind (query, bulk…)

    def merged(self, other: RunStats) -> RunStats:
        """Both stats added up, for a run that reports progress chunk by chunk."""
        return RunStats(pulled=_add_ints(self.pulled, other.pulled),
                        written=_add_counts(self.written, other.written),
                        api_calls=_add_ints(self.api_calls, other.api_calls))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the shape kept in the ``runs`` table)."""
        return {"pulled": dict(sorted(self.pulled.items())),
                "written": {obj: {"created": c.created, "updated": c.updated,
                                  "skipped": c.skipped, "rejected": c.rejected,
                                  **({"deleted": c.deleted} if c.deleted else {})}
                            for obj, c in sorted(self.written.items())},
                "api_calls": dict(sorted(self.api_calls.items()))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RunStats:
        """The stats :meth:`to_json` wrote (missing keys count as empty)."""
        data = data or {}
        return cls(pulled={str(k): int(v) for k, v in data.get("pulled", {}).items()},
                   written={str(k): WriteCounts(**v)
                            for k, v in data.get("written", {}).items()},
                   api_calls={str(k): int(v) for k, v in data.get("api_calls", {}).items()})


def _add_ints(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def _add_counts(a: Mapping[str, WriteCounts],
                b: Mapping[str, WriteCounts]) -> dict[str, WriteCounts]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, WriteCounts()) + v
    return out


@dataclass(frozen=True)
class Run:
    """One execution of a job, with what it needs to resume and what it did."""

    run_id: str
    job: str
    kind: RunKind
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    params: Mapping[str, Any]
    checkpoint: Mapping[str, Any] | None
    stats: RunStats
    error: str | None

    @property
    def unfinished(self) -> bool:
        """True while the run is running or was interrupted by a crash."""
        return self.status in (RunStatus.RUNNING, RunStatus.INTERRUPTED)


# --- ledger -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldWrite:
    """One field of one write: the org's value before and the value sfrenew sends."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class WriteIntent:
    """A write about to be sent: recorded before the chunk goes to Salesforce."""

    object: str
    key: str  # sfrenew's deterministic key of the record
    operation: Operation
    fields: tuple[FieldWrite, ...] = ()
    sf_id: str | None = None  # known for everything but a create


@dataclass(frozen=True)
class RecordedIntent:
    """An intent as the ledger recorded it: what settling its result needs of it (the
    values as the stored JSON text). Kept by a caller whose answers come much later
    (a Bulk job) and handed back to ``record_results``, so the results need not read
    the intents back from the ledger."""

    run_id: str
    seq: int
    write_id: int  # ledger_intents.id: the global write order
    object: str
    key: str
    operation: Operation
    sf_id: str | None
    fields: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class WriteResult:
    """What Salesforce answered for one intent (``seq`` from ``record_intents``)."""

    seq: int
    status: WriteStatus  # SUCCEEDED or FAILED
    sf_id: str | None = None  # the new Id of a created record
    error_code: str | None = None
    error_message: str | None = None
    error_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger write with its outcome (``INTENT`` while none is recorded)."""

    run_id: str
    seq: int
    object: str
    key: str
    operation: Operation
    sf_id: str | None  # the result's Id if any, else the intent's
    fields: tuple[FieldWrite, ...]
    status: WriteStatus
    intent_at: datetime
    result_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordWrites:
    """What one run successfully did to one record, folded for rollback.

    ``fields`` maps each field to its value before the run's first write of it and
    after its last write, so undoing means writing ``before`` back.
    """

    object: str
    key: str
    sf_id: str | None
    created: bool
    deleted: bool
    fields: Mapping[str, FieldWrite]


# --- ownership and dead letters -----------------------------------------------------


@dataclass(frozen=True)
class FieldOwnership:
    """Who owns one field of one sfrenew record, since which run, last value seen."""

    object: str
    key: str
    field: str
    owner: Owner
    since_run_id: str | None = None
    last_seen: Any = None


@dataclass(frozen=True)
class Rejection:
    """A row Salesforce rejected (or sfrenew could not build): kept for the next run."""

    object: str
    key: str
    operation: Operation
    error_code: str
    message: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    """A rejected row as the store keeps it, with how often and when it was seen."""

    id: int
    object: str
    key: str
    operation: Operation
    error_code: str
    message: str
    payload: Mapping[str, Any]
    fields: tuple[str, ...]
    attempts: int
    first_run_id: str | None
    last_run_id: str | None
    first_seen: datetime
    last_seen: datetime
    resolved: bool
    resolved_at: datetime | None
