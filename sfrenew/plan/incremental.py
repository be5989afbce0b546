"""Planning only what changed: each account's output as a value, and the plan's fingerprint.

A plan is saved per account in the state store (:class:`AccountOutcome`: the plan file's
line and the account's share of the totals) with the mirror version it saw and the day
its plan may change with the date alone (``sfrenew.core.replan``). The next plan replays
an account as it was unless its records changed since or its day has come; the plan is
then the same, line for line, as a full re-plan. A full pass (``--full-plan``, or
automatically) plans every account again and saves them all:

* when the fingerprint differs: the mapping, the effective rules policy, the org's field
  shapes or sfrenew's own planning code (:func:`plan_fingerprint`);
* when records mirrored without an account changed (users, price book entries: any
  account may read them);
* when the last plan reported a problem in such a record (it is reported with the
  first account that reads it, so which account says it depends on the whole pass);
* after a rollback, or when a saved plan is applied (the ledger moved under the plans).

See ``docs/rules.md`` ("When an account is re-planned") and ADR 0019.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import takewhile
from pathlib import Path
from typing import Any

from sfrenew.core.policy import RulesPolicy
from sfrenew.mapping import MappingFile
from sfrenew.mapping.coerce import FieldShapes
from sfrenew.plan.model import PLAN_VERSION
from sfrenew.store.port import StorePort
from sfrenew.store.values import MirrorGroup, PlanState

# sfrenew's code that decides what a plan holds: the core (rules, planner, diff), the
# mapping's translation and the plan step. A new version of any of it is a new ruleset.
_PLANNING_CODE = ("core", "mapping", "plan")


def _code_digest() -> str:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in _PLANNING_CODE:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


_CODE: list[str] = []  # read once per process


def plan_fingerprint(*, mapping: MappingFile, policy: RulesPolicy, shapes: FieldShapes) -> str:
    """What a plan is made with besides the records and the date: the mapping, the rules
    policy in effect, the org's field shapes and the planning code."""
    if not _CODE:
        _CODE.append(_code_digest())
    digest = hashlib.sha256()
    for part in (f"plan v{PLAN_VERSION}", _CODE[0], mapping.model_dump_json(),
                 repr(_canonical(policy)), repr(sorted(shapes.items()))):
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """``value`` with sets and mappings in a fixed order: a set's ``repr`` follows the
    process's string hashing, which differs from one run to the next."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, _canonical(getattr(value, f.name)))
                      for f in dataclasses.fields(value)))
    if isinstance(value, Mapping):
        return tuple(sorted((repr(_canonical(k)), _canonical(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return tuple(sorted(repr(_canonical(v)) for v in value))
    if isinstance(value, list | tuple):
        return tuple(_canonical(v) for v in value)
    return value


@dataclass
class AccountOutcome:
    """One account's part of a plan: its line in the plan file (None: none written) and
    its share of the totals, kept whole so a replay adds exactly what planning added."""

    account_id: str | None = None  # None: not counted (nothing to plan)
    line: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    kept_edits: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    problems: int = 0
    routing: int = 0
    lapsed: list[dict[str, Any]] = field(default_factory=list)
    dirty: list[dict[str, Any]] = field(default_factory=list)
    writes: bool = False  # some change writes: plan it again next time (the ledger moves)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready values (the store keeps them through its codec)."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountOutcome:
        """The outcome :meth:`to_json` gave."""
        return cls(**data)


Step = tuple[str, MirrorGroup | None, PlanState | None]
"""An account's key with its records to plan, or (None) with its saved state to replay;
both None: the account has no records left."""


@dataclass(frozen=True)
class Span:
    """The accounts after ``after`` up to ``last`` included, in ``group_key`` order (None:
    from the first, to the last): one process's share of a plan."""

    after: str | None = None
    last: str | None = None

    def holds(self, key: str) -> bool:
        """Whether the account ``key`` is in the span."""
        return (self.after is None or key > self.after) and (self.last is None
                                                             or key <= self.last)


EVERY_ACCOUNT = Span()


def planning(groups: Iterable[MirrorGroup], span: Span = EVERY_ACCOUNT) -> Iterator[Step]:
    """Every account (of ``span``, ``groups`` starting after ``span.after``), to plan."""
    for group in groups:
        if span.last is not None and group.group_key > span.last:
            return
        yield group.group_key, group, None


def replaying(store: StorePort, objects: Sequence[str], today: date,
              span: Span = EVERY_ACCOUNT) -> Iterator[Step]:
    """Every account of ``span`` in order: those to plan again with their records (None:
    they have none left), the others with the state to replay."""
    again = [key for key in store.replan_groups(today.isoformat()) if span.holds(key)]
    groups = store.iter_groups_of(objects, again)
    waiting = next(groups, None)
    states = takewhile(lambda s: span.last is None or s.group_key <= span.last,
                       store.iter_plan_states(after_group=span.after))
    state = next(states, None)
    at = 0
    while at < len(again) or state is not None:
        key = again[at] if at < len(again) else None
        if key is not None and (state is None or key <= state.group_key):
            if state is not None and state.group_key == key:
                state = next(states, None)
            at += 1
            if waiting is not None and waiting.group_key == key:
                yield key, waiting, None
                waiting = next(groups, None)
            else:
                yield key, None, None
        else:
            assert state is not None
            yield state.group_key, None, state
            state = next(states, None)
