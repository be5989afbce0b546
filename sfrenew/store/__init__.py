"""sfrenew.store: the state store (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

Open it with :func:`open_store`; everything else is a method of :class:`StateStore`
taking and returning the frozen values re-exported here.
"""

from sfrenew.store.errors import (
    LockBusy,
    MigrationError,
    RunStateError,
    SchemaTooNew,
    StoreConfigurationError,
    StoreError,
    StoreMissing,
    UnknownIntent,
    UnknownRun,
)
from sfrenew.store.runs import make_run_id
from sfrenew.store.schema import SCHEMA_VERSION
from sfrenew.store.store import DEFAULT_URL, StateStore, open_store
from sfrenew.store.values import (
    DeadLetter,
    FieldOwnership,
    FieldWrite,
    LedgerEntry,
    MirrorCount,
    MirrorGroup,
    MirrorRecord,
    MirrorRow,
    Operation,
    Owner,
    RecordWrites,
    Rejection,
    Run,
    RunKind,
    RunStats,
    RunStatus,
    WriteCounts,
    WriteIntent,
    WriteResult,
    WriteStatus,
)

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "DeadLetter",
    "FieldOwnership",
    "FieldWrite",
    "LedgerEntry",
    "LockBusy",
    "MigrationError",
    "MirrorCount",
    "MirrorGroup",
    "MirrorRecord",
    "MirrorRow",
    "Operation",
    "Owner",
    "RecordWrites",
    "Rejection",
    "Run",
    "RunKind",
    "RunStateError",
    "RunStats",
    "RunStatus",
    "SchemaTooNew",
    "StateStore",
    "StoreConfigurationError",
    "StoreError",
    "StoreMissing",
    "UnknownIntent",
    "UnknownRun",
    "WriteCounts",
    "WriteIntent",
    "WriteResult",
    "WriteStatus",
    "make_run_id",
    "open_store",
]
