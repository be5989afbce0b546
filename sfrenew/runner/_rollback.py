"""Undo a run: the rollback wired like any run (locks, store, gateway, its own ``runs`` row)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sfrenew.apply.rollback import RollbackReport, rollback_run
from sfrenew.config import AppConfig
from sfrenew.mapping import Concept
from sfrenew.mapping.translate import written_fields
from sfrenew.runner._wiring import mark_crashed, open_gateway, run_locks
from sfrenew.store import (
    RunKind,
    RunStats,
    RunStatus,
    StorePort,
    make_run_id,
    make_state_dir,
    open_store,
)


@contextmanager
def _crashed_marked(store: StorePort, clock: Callable[[], datetime]) -> Iterator[None]:
    # Under the run locks, before the org is reached (it may not be): a rollback (or any
    # run) killed outright is no longer running, and is marked interrupted.
    mark_crashed(store, now=clock())
    yield


def rollback_session(config: AppConfig, target_run_id: str, *, dry_run: bool,
                     clock: Callable[[], datetime]) -> tuple[str | None, RollbackReport]:
    """Undo ``target_run_id``; recorded as a ``rollback`` run unless ``dry_run``.

    :class:`sfrenew.locks.Busy` when another run holds the state.
    """
    make_state_dir(config.state_dir)
    store = open_store(config.store_url)
    try:
        store.get_run(target_run_id)  # UnknownRun before anything else
        with run_locks(config, store), _crashed_marked(store, clock), \
                open_gateway(config) as gateway:
            m = config.mapping
            # Children first; a contract's link is put back before its renewal goes.
            order = [m.task.object, m.renewal_line.object, m.contract.object,
                     m.renewal_opportunity.object]
            run_id = None
            if not dry_run:
                run_id = make_run_id(clock(), random.Random())  # noqa: S311 (an id)
                store.start_run(run_id=run_id, job="rollback", kind=RunKind.ROLLBACK,
                                now=clock(), params={"target_run_id": target_run_id})
            try:
                stamp = written_fields(m, Concept.RENEWAL_OPPORTUNITY).get("run_id")
                report = rollback_run(gateway=gateway, store=store, target_run_id=target_run_id,
                                      run_id=run_id or "", child_order=order, dry_run=dry_run,
                                      clock=clock,
                                      stamps=frozenset({stamp} if stamp else set()))
            except BaseException as exc:
                if run_id:
                    store.finish_run(run_id, status=RunStatus.FAILED, now=clock(),
                                     error=f"{type(exc).__name__}: {exc}")
                raise
            if run_id:
                # The undo moved the ledger under the saved plan states: plan fully next.
                store.set_plan_meta(None)
                store.finish_run(run_id, status=RunStatus.SUCCEEDED, now=clock(), stats=RunStats(
                    written=report.written, api_calls=gateway.calls.as_dict()))
            return run_id, report
    finally:
        store.close()
