"""The plan as a value, and its file: a header line, then one line per account.

The plan file is JSON Lines so it can be written and applied account by account with
flat memory however large the book: line 1 is the header (format, version, run id,
created at, config/mapping fingerprint, counts), every further line one account
(its renewal opportunities with their explanation, the field-level changes with
their reasons, kept rep edits, skipped contracts and bad records). Decimal, date and
datetime values are tagged (``{"$decimal": "12.30"}``) so they round-trip exactly.
An unknown format version is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sfrenew.core.changeset import ChangeKind, FieldChange, KeptEdit, RecordChange, RecordRef
from sfrenew.store.codec import dumps, loads

PLAN_FORMAT = "sfrenew-plan"
PLAN_VERSION = 1


class PlanFileError(Exception):
    """The plan file is not one this version of sfrenew can apply."""


@dataclass(frozen=True)
class RenewalSummary:
    """One planned renewal opportunity, as people read it in the preview."""

    key: str
    name: str
    start_date: str
    end_date: str
    amount: str
    currency: str
    risk: str
    forecast: str
    contracts: tuple[str, ...]
    lines: int
    tasks: int
    explanation: str  # the rep's talk track
    derivation: str = ""  # the full derivation, for admins
    days_overdue: int = 0  # lapsed: days since the contract ended, unsigned
    # A renewal a person made that sfrenew adopted: that opportunity's Id, and on the run
    # that adopts it, how it was chosen (close date, other candidates).
    adopted_opportunity: str = ""
    adoption: str = ""


@dataclass(frozen=True)
class AccountPlan:
    """What the plan does for one account."""

    account_id: str
    account_name: str
    renewals: tuple[RenewalSummary, ...]
    changes: tuple[RecordChange, ...]
    skipped: tuple[Mapping[str, str], ...] = ()  # contract_id, reason, detail
    problems: tuple[Mapping[str, str], ...] = ()  # object, record_id, field, message
    # Assignee roles that fell back to the account owner or stayed unassigned:
    # renewal, role, object, record_id, field, message (see core.rules.owners).
    routing: tuple[Mapping[str, str], ...] = ()

    @property
    def writes(self) -> int:
        """How many records this account's changes write."""
        return sum(1 for c in self.changes if c.writes)


@dataclass
class PlanHeader:
    """The plan file's first line."""

    run_id: str
    created_at: str
    fingerprint: str
    today: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # object -> kind -> n
    accounts: int = 0
    kept_edits: int = 0
    skipped_contracts: int = 0
    problems: int = 0
    routing: int = 0
    format: str = PLAN_FORMAT
    version: int = PLAN_VERSION


def change_to_json(change: RecordChange) -> dict[str, Any]:
    """A RecordChange as plain JSON-ready values."""
    return {"kind": change.kind.value, "object": change.object, "key": change.key,
            "reason": change.reason, "sf_id": change.sf_id,
            "changes": [[c.field, c.before, c.after] for c in change.changes],
            "refs": [[name, ref.object, ref.key] for name, ref in change.refs],
            "kept_edits": [[k.field, k.person_value, k.sfrenew_value]
                           for k in change.kept_edits],
            "expected_modstamp": change.expected_modstamp, "account_id": change.account_id}


def change_from_json(data: Mapping[str, Any]) -> RecordChange:
    """The RecordChange :func:`change_to_json` wrote."""
    return RecordChange(
        kind=ChangeKind(data["kind"]), object=data["object"], key=data["key"],
        reason=data["reason"], sf_id=data.get("sf_id"),
        changes=tuple(FieldChange(f, b, a) for f, b, a in data.get("changes", ())),
        refs=tuple((n, RecordRef(o, k)) for n, o, k in data.get("refs", ())),
        kept_edits=tuple(KeptEdit(f, p, s) for f, p, s in data.get("kept_edits", ())),
        expected_modstamp=data.get("expected_modstamp"), account_id=data.get("account_id"))


def account_to_json(plan: AccountPlan) -> dict[str, Any]:
    """An AccountPlan as plain JSON-ready values."""
    return {"account_id": plan.account_id, "account_name": plan.account_name,
            "renewals": [r.__dict__ | {"contracts": list(r.contracts)} for r in plan.renewals],
            "changes": [change_to_json(c) for c in plan.changes],
            "skipped": [dict(s) for s in plan.skipped],
            "problems": [dict(p) for p in plan.problems],
            "routing": [dict(r) for r in plan.routing]}


def account_from_json(data: Mapping[str, Any]) -> AccountPlan:
    """The AccountPlan :func:`account_to_json` wrote."""
    return AccountPlan(
        account_id=data["account_id"], account_name=data["account_name"],
        renewals=tuple(RenewalSummary(**{**r, "contracts": tuple(r["contracts"])})
                       for r in data.get("renewals", ())),
        changes=tuple(change_from_json(c) for c in data.get("changes", ())),
        skipped=tuple(data.get("skipped", ())), problems=tuple(data.get("problems", ())),
        routing=tuple(data.get("routing", ())))


def write_header(out: IO[str], header: PlanHeader) -> None:
    """Write the header line."""
    out.write(dumps(header.__dict__) + "\n")


def write_account(out: IO[str], plan: AccountPlan) -> None:
    """Write one account line."""
    out.write(dumps(account_to_json(plan)) + "\n")


def read_header(path: Path) -> PlanHeader:
    """The header of a plan file (refuses unknown formats and versions)."""
    with path.open(encoding="utf-8") as f:
        first = f.readline()
    try:
        data = loads(first)
    except ValueError as exc:
        raise PlanFileError(f"{path}: not a plan file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanFileError(f"{path}: not an sfrenew plan file")
    if data.get("version") != PLAN_VERSION:
        raise PlanFileError(f"{path}: plan format version {data.get('version')} is not "
                            f"supported (this sfrenew reads version {PLAN_VERSION})")
    return PlanHeader(**data)


def iter_accounts(path: Path) -> Iterator[AccountPlan]:
    """Stream the account lines of a plan file."""
    read_header(path)
    with path.open(encoding="utf-8") as f:
        f.readline()
        for line in f:
            if line.strip():
                yield account_from_json(loads(line))
