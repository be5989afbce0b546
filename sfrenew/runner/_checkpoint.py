"""The checkpoint: where a run is, saved in its ``runs`` row so it can resume.

A typed, versioned value. ``to_json`` writes it with ``"version": 1``; ``from_json``
reads version 1, migrates the untyped dict earlier sfrenew versions saved (no
``version`` key: the same keys, read into the typed value, so a run interrupted before
the upgrade resumes after it) and refuses any other version with
:class:`CheckpointVersionError` rather than guessing what a newer sfrenew meant.

Fields: ``upper`` (the pull's fixed upper bound), ``pulled_objects`` (objects
already pulled), ``phase`` (pulled, planned, applying, applied), ``plan_progress``
(where a plan stopped), ``plan`` (the plan's counts), ``plan_file`` and ``summary``
(rejected rows, stale writes, the run's message).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sfrenew.plan import PlanTotals

CHECKPOINT_VERSION = 1
# Version 0 is the untyped dict saved before checkpoints were versioned (no "version").
READABLE_VERSIONS = (0, CHECKPOINT_VERSION)


class CheckpointVersionError(Exception):
    """A run's checkpoint was saved by an sfrenew this one does not understand."""


class Phase(StrEnum):
    """The last step a run completed (``applying``: apply started, not finished)."""

    PULLED = "pulled"
    PLANNED = "planned"
    APPLYING = "applying"
    APPLIED = "applied"


@dataclass(frozen=True)
class PlanSummary:
    """The plan's counts, kept for the run's report."""

    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    accounts: int = 0
    kept_edits: int = 0
    skipped_contracts: Mapping[str, int] = field(default_factory=dict)
    problems: int = 0
    routing: int = 0  # assignee roles that fell back (see rules.owners)
    lapsed: int = 0  # renewals past their start, unsigned
    lapsed_renewals: tuple[Mapping[str, Any], ...] = ()  # the first of them, for status
    dirty: int = 0  # records skipped for data a person must fix
    dirty_records: tuple[Mapping[str, Any], ...] = ()  # the first of them, by Id


@dataclass(frozen=True)
class PlanProgress:
    """A plan stopped part-way: the last account planned and the totals so far."""

    after: str | None
    totals: PlanTotals


@dataclass(frozen=True)
class RunSummary:
    """How the run ended: rows rejected (over every attempt), stale writes, message."""

    rejected: int = 0
    stale: tuple[tuple[Any, ...], ...] = ()
    message: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """Where a run is (see the module docstring); ``replace`` it to move on."""

    phase: Phase | None = None
    upper: datetime | None = None
    pulled_objects: tuple[str, ...] = ()
    plan_progress: PlanProgress | None = None
    plan: PlanSummary | None = None
    plan_file: str | None = None
    summary: RunSummary | None = None
    version: int = CHECKPOINT_VERSION

    def to_json(self) -> dict[str, Any]:
        """The JSON object saved in the run's row (keys absent when empty, as before)."""
        out: dict[str, Any] = {"version": self.version}
        if self.phase is not None:
            out["phase"] = self.phase.value
        if self.upper is not None:
            out["upper"] = self.upper.isoformat()
        if self.pulled_objects:
            out["pulled_objects"] = list(self.pulled_objects)
        if self.plan_progress is not None:
            out["plan_progress"] = {"after": self.plan_progress.after,
                                    "totals": dataclasses.asdict(self.plan_progress.totals)}
        if self.plan is not None:
            out["plan"] = {"counts": {k: dict(v) for k, v in self.plan.counts.items()},
                           "accounts": self.plan.accounts, "kept_edits": self.plan.kept_edits,
                           "skipped_contracts": dict(self.plan.skipped_contracts),
                           "problems": self.plan.problems, "routing": self.plan.routing,
                           "lapsed": self.plan.lapsed,
                           "lapsed_renewals": [dict(r) for r in self.plan.lapsed_renewals],
                           "dirty": self.plan.dirty,
                           "dirty_records": [dict(r) for r in self.plan.dirty_records]}
        if self.plan_file is not None:
            out["plan_file"] = self.plan_file
        if self.summary is not None:
            out["summary"] = {"rejected": self.summary.rejected,
                              "stale": [list(s) for s in self.summary.stale],
                              "message": self.summary.message}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, *, run_id: str = "") -> Checkpoint:
        """Read a saved checkpoint (None: a run that saved none yet).

        Raises :class:`CheckpointVersionError` for a version other than 0 (the old
        untyped dict, migrated) or 1.
        """
        if not data:
            return cls()
        version = data.get("version", 0)
        if version not in READABLE_VERSIONS:
            raise CheckpointVersionError(
                f"run {run_id or '?'} was checkpointed by another sfrenew (checkpoint "
                f"version {version!r}; this one reads versions up to {CHECKPOINT_VERSION}): "
                "resume it with the sfrenew that started it, or start a new run")
        # Version 0 saved the same keys without "version": reading them is the migration.
        progress = data.get("plan_progress")
        plan = data.get("plan")
        summary = data.get("summary")
        upper = data.get("upper")
        phase = data.get("phase")
        plan_file = data.get("plan_file")
        return cls(
            phase=Phase(phase) if phase else None,
            upper=datetime.fromisoformat(upper) if upper else None,
            pulled_objects=tuple(data.get("pulled_objects") or ()),
            plan_progress=PlanProgress(after=progress["after"],
                                       totals=PlanTotals(**progress["totals"]))
            if progress else None,
            plan=PlanSummary(counts=plan.get("counts", {}), accounts=plan.get("accounts", 0),
                             kept_edits=plan.get("kept_edits", 0),
                             skipped_contracts=plan.get("skipped_contracts", {}),
                             problems=plan.get("problems", 0),
                             routing=plan.get("routing", 0), lapsed=plan.get("lapsed", 0),
                             lapsed_renewals=tuple(plan.get("lapsed_renewals", ())),
                             dirty=plan.get("dirty", 0),
                             dirty_records=tuple(plan.get("dirty_records", ())),
                             ) if plan is not None else None,
            plan_file=str(plan_file) if plan_file else None,
            summary=RunSummary(rejected=summary.get("rejected", 0),
                               stale=tuple(tuple(s) for s in summary.get("stale", ())),
                               message=summary.get("message", ""))
            if summary is not None else None)
