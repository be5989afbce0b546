"""The incremental pull: every mapped sObject into the mirror, changes only.

Per object: ``SystemModstamp >= watermark - overlap AND SystemModstamp <= upper``
(``upper`` is fixed when the run starts, so a record changed during the run is read by
the next one), through ``queryAll`` so deleted records come back with ``IsDeleted``
and are marked deleted in the mirror. The gateway picks REST or Bulk by volume.
Records stream into the mirror in batches (memory does not grow with the org), and
the watermark moves only once the object's pull has committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from sfrenew.mapping import MappingFile
from sfrenew.mapping.objects import (
    ACCOUNT_KEY_PREFIX,
    IS_DELETED,
    MODSTAMP,
    PulledObject,
    pulled_objects,
)
from sfrenew.salesforce.port import GatewayPort, ReadSpec
from sfrenew.salesforce.soql import format_soql
from sfrenew.store.port import StorePort
from sfrenew.store.values import MirrorCount, MirrorRow

BATCH_ROWS = 2_000  # rows per mirror transaction (one REST page)
PULL_OBJECT_DONE = "pull_object_done"

log = structlog.get_logger()


class PullProgress(Protocol):
    """The part of the runner's ProgressSink the pull uses."""

    def advance(self, phase: str, n: int = 1) -> None:
        """``n`` more rows pulled."""


@dataclass
class PullResult:
    """Rows read per object (live + deleted) and whether the pull was stopped early."""

    pulled: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    stopped: bool = False


def window(*, watermark: datetime | None, upper: datetime, overlap: timedelta) -> str:
    """The WHERE clause of an incremental read (full read up to ``upper`` the first time)."""
    if watermark is None:
        return format_soql(f"{MODSTAMP} <= {{}}", upper)
    return format_soql(f"{MODSTAMP} >= {{}} AND {MODSTAMP} <= {{}}", watermark - overlap, upper)


def _where(obj: PulledObject, window_clause: str) -> str:
    return window_clause if obj.where is None else f"({obj.where}) AND {window_clause}"


def _modstamp(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _resolver(store: StorePort, parents: Iterable[str]) -> Callable[[list[str]], dict[str, str]]:
    """Account Id for polymorphic lookups: itself for an Account, else the mirrored
    parent's group (a Task on a renewal Opportunity belongs to the opp's account)."""
    objects = list(parents)

    def resolve(ids: list[str]) -> dict[str, str]:
        out = {i: i for i in ids if i.startswith(ACCOUNT_KEY_PREFIX)}
        rest = [i for i in ids if i not in out]
        for name in objects:
            if not rest:
                break
            for sf_id, record in store.get_mirror(name, rest).items():
                if record.group_key:
                    out[sf_id] = record.group_key
            rest = [i for i in rest if i not in out]
        return out

    return resolve


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _store_batch(store: StorePort, obj: PulledObject, batch: list[dict[str, Any]],
                 resolve: Callable[[list[str]], dict[str, str]] | None) -> tuple[int, int]:
    by_id: dict[str, dict[str, Any]] = {}
    for row in batch:  # de-duplicated by Id: the last answer for an Id wins
        by_id[str(row["Id"])] = row
    groups: Mapping[str, str] = {}
    if resolve is not None:
        refs = sorted({str(r[obj.group_field]) for r in by_id.values() if r.get(obj.group_field)})
        groups = resolve(refs)
    live: list[MirrorRow] = []
    gone: list[MirrorRow] = []
    for sf_id, row in by_id.items():
        ref = row.get(obj.group_field)
        group = groups.get(str(ref)) if resolve is not None and ref else (
            str(ref) if ref else None)
        # The row is this batch's own (typed afresh from the answer): its fields are the
        # mirrored data as they are, without the deleted flag (not copied: a pull
        # stores hundreds of thousands of rows).
        deleted = bool(row.pop(IS_DELETED, False))
        # A deleted record is kept as a tombstone (flagged, with its last fields), even
        # one never seen alive (created and deleted between two pulls): that is how the
        # plan knows a person deleted a record sfrenew created (it is not made again).
        (gone if deleted else live).append(MirrorRow(
            sf_id=sf_id, data=row, group_key=group,
            system_modstamp=_modstamp(row.get(MODSTAMP)), is_deleted=deleted))
    if live or gone:
        store.upsert_mirror(obj.sobject, [*live, *gone])
    return len(live), len(gone)


def _spec(obj: PulledObject, watermark: datetime | None, *, upper: datetime,
          overlap: timedelta, mirrored: MirrorCount | None) -> ReadSpec:
    """The read of one object. An incremental read goes over REST straight away (a run
    with no change then costs a share of one composite call per object); a first read
    is sized by the mirror when it already holds the object (a re-pull), else by a
    ``COUNT()``, and the gateway picks REST or Bulk by that size."""
    where = _where(obj, window(watermark=watermark, upper=upper, overlap=overlap))
    if watermark is not None:
        return ReadSpec(obj.sobject, (*obj.fields, IS_DELETED), where, include_deleted=True,
                        expected_rows=0)
    size = mirrored.live + mirrored.deleted if mirrored is not None else 0
    return ReadSpec(obj.sobject, tuple(obj.fields), where, expected_rows=size or None)


def pull(*, gateway: GatewayPort, store: StorePort, mapping: MappingFile, upper: datetime,
         overlap: timedelta, run_id: str, stop: threading.Event | None = None,
         progress: PullProgress | None = None, skip: Iterable[str] = ()) -> PullResult:
    """Pull every mapped object changed since its watermark into the mirror.

    ``skip`` names objects already pulled by this run (a resumed run). Stopping is
    checked between objects and between batches; an object stopped half-way keeps
    its old watermark, so the next pull reads it again from there.
    """
    result = PullResult()
    done = set(skip)
    objects = pulled_objects(mapping)
    todo = [obj for obj in objects if obj.sobject not in done]
    known = store.mirror_counts()
    watermarks = {obj.sobject: store.get_watermark(obj.sobject) for obj in todo}
    specs = [_spec(obj, watermarks[obj.sobject], upper=upper, overlap=overlap,
                   mirrored=known.get(obj.sobject)) for obj in todo]
    # One read of every object: counts and first pages go five to a call, and Bulk
    # query jobs run in Salesforce at the same time while the objects are stored in
    # order (a polymorphic object's parents are mirrored before it).
    reads = gateway.read_many(specs)
    parents = [obj.sobject for obj in objects]
    for obj, rows in zip(todo, reads, strict=True):
        if stop is not None and stop.is_set():
            result.stopped = True
            return result
        before = parents[:parents.index(obj.sobject)]
        resolve = _resolver(store, before) if obj.polymorphic else None
        live = gone = 0
        for batch in _batches(rows, BATCH_ROWS):
            n_live, n_gone = _store_batch(store, obj, batch, resolve)
            live, gone = live + n_live, gone + n_gone
            if progress is not None:
                progress.advance("pull", len(batch))
            if stop is not None and stop.is_set():
                result.stopped = True
                result.pulled[obj.sobject] = live + gone
                return result
        store.set_watermark(obj.sobject, upper, run_id=run_id)
        result.pulled[obj.sobject] = live + gone
        result.deleted[obj.sobject] = gone
        log.info(PULL_OBJECT_DONE, object=obj.sobject, rows=live, deleted=gone,
                 incremental=watermarks[obj.sobject] is not None)
    return result
