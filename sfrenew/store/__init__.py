"""sfrenew.store: the state store (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

Open it with :func:`open_store`; everything else is a method of :class:`StateStore`
taking and returning the frozen values re-exported here. Every method is its own
short transaction; times are passed in, never read.

How a run uses it::

    store = open_store(config.store.url)          # creates / migrates / refuses newer
    run = store.start_run(run_id=make_run_id(now, rng), job="main",
                          kind=RunKind.APPLY, now=now, params={...})
    # pull, per object: upsert pages, then move the watermark once all committed
    store.upsert_mirror("Contract", rows)          # MirrorRow(sf_id, data, group_key=…)
    store.set_watermark("Contract", upper_bound, run_id=run.run_id)
    # plan, account by account (resume with after_group=checkpoint["account"])
    for group in store.iter_groups(["Account", "Contract", "Opportunity", "Task"]):
        written = store.last_written("Opportunity", keys)     # {(key, field): value}
        owners = store.get_owners("Opportunity", keys)
        ...
    # apply, per chunk: intents committed BEFORE sending, results after
    seqs = store.record_intents(run.run_id, intents, now=now)
    ...send the chunk...
    store.record_results(run.run_id, [WriteResult(seq, WriteStatus.SUCCEEDED, sf_id=…)],
                         now=now)
    store.add_dead_letters(run.run_id, rejections, now=now)
    store.update_checkpoint(run.run_id, {"account": group.group_key}, stats=stats)
    store.finish_run(run.run_id, status=RunStatus.SUCCEEDED, now=now, stats=stats)

After a crash: ``unfinished_runs()`` → ``finish_run(…, status=INTERRUPTED)`` →
``resume_run(id)``; ``pending_intents(id)`` are the writes to look up in the org
(``find_by_key`` / the key field) before sending again. Rollback:
``writes_of_run(id)``.
"""

from sfrenew.store.engine import make_state_dir, normalise_url
from sfrenew.store.errors import (
    MigrationError,
    RunStateError,
    SchemaTooNew,
    StoreConfigurationError,
    StoreError,
    StoreMissing,
    StoreUnavailable,
    UnknownIntent,
    UnknownRun,
)
from sfrenew.store.port import StorePort
from sfrenew.store.runs import make_run_id
from sfrenew.store.schema import SCHEMA_VERSION
from sfrenew.store.store import DEFAULT_URL, StateStore, open_store
from sfrenew.store.values import (
    NOT_SENT,
    DeadLetter,
    FieldOwnership,
    FieldWrite,
    LedgerCounts,
    LedgerEntry,
    MirrorCount,
    MirrorGroup,
    MirrorRecord,
    MirrorRow,
    Operation,
    Owner,
    PlanMeta,
    PlanState,
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
    "NOT_SENT",
    "SCHEMA_VERSION",
    "DeadLetter",
    "FieldOwnership",
    "FieldWrite",
    "LedgerCounts",
    "LedgerEntry",
    "MigrationError",
    "MirrorCount",
    "MirrorGroup",
    "MirrorRecord",
    "MirrorRow",
    "Operation",
    "Owner",
    "PlanMeta",
    "PlanState",
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
    "StorePort",
    "StoreUnavailable",
    "UnknownIntent",
    "UnknownRun",
    "WriteCounts",
    "WriteIntent",
    "WriteResult",
    "WriteStatus",
    "make_run_id",
    "make_state_dir",
    "normalise_url",
    "open_store",
]
