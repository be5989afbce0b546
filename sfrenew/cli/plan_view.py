"""Showing a plan file to people (rich tables, so it lives with the CLI) or to programs (JSON).

Both stream the plan file account by account; the table shows the counts, then at
most ``limit`` accounts in detail (the JSON shows them all).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfrenew.core.changeset import ChangeKind
from sfrenew.plan.model import account_to_json, iter_accounts, read_header
from sfrenew.store.codec import dumps

_SHOWN_CHANGES = 12


def render_json(path: Path, out: IO[str]) -> None:
    """The plan as one JSON document: the header's fields plus ``accounts``."""
    header = read_header(path)
    out.write(dumps(header.__dict__)[:-1] + ',"accounts":[')
    for i, account in enumerate(iter_accounts(path)):
        out.write(("," if i else "") + dumps(account_to_json(account)))
    out.write("]}\n")


_VALUE_WIDTH = 40


def shorten(text: str, width: int = _VALUE_WIDTH) -> str:
    """``text`` cut to ``width`` characters at a word boundary, ending in "…" when cut (a
    single long word is cut where it must)."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.loads(dumps(value)) if value is not None \
        else "∅"
    return escape(shorten(str(text)))


def render_table(path: Path, console: Console, *, limit: int = 20) -> None:
    """Counts per object and kind, then the first ``limit`` accounts in detail."""
    header = read_header(path)
    console.print(f"[bold]Plan[/bold] {header.run_id} — created {header.created_at}, "
                  f"today {header.today}, config {header.fingerprint}")
    counts = Table(title="Changes by object")
    counts.add_column("object")
    for kind in ChangeKind:
        counts.add_column(kind.value, justify="right")
    for obj, per in sorted(header.counts.items()):
        counts.add_row(obj, *(str(per.get(k.value, 0)) for k in ChangeKind))
    console.print(counts)
    console.print(f"{header.accounts} accounts planned; {header.kept_edits} rep edits kept; "
                  f"{header.skipped_contracts} contracts skipped for bad or blocking data; "
                  f"{header.problems} unreadable values; {header.routing} assignee roles "
                  f"fell back (unresolved or inactive users)")
    for shown, account in enumerate(iter_accounts(path)):
        if shown >= limit:
            console.print(f"… more accounts in {escape(str(path))} (use --format json for all)")
            break
        # Names, values and reasons are org data: escaped, so "[/x]" in a name neither
        # crashes the table (MarkupError) nor vanishes as a style tag.
        console.rule(escape(f"{account.account_name} ({account.account_id})"))
        for renewal in account.renewals:
            console.print(f"[bold]{escape(renewal.name)}[/bold]: {renewal.amount} "
                          f"{renewal.currency}, {renewal.start_date} → {renewal.end_date}, "
                          f"risk {renewal.risk}, forecast {renewal.forecast}, "
                          f"{renewal.lines} lines, {renewal.tasks} tasks"
                          + (f", [bold red]lapsed: {renewal.days_overdue} days overdue[/]"
                             if renewal.days_overdue else ""))
            if renewal.adopted_opportunity:  # a person's renewal: only sfrenew's own fields
                console.print(escape(
                    f"  on {renewal.adopted_opportunity}, a renewal a person made (adopted): "
                    f"sfrenew writes only its own fields and tasks there"
                    + (f"; {renewal.adoption}" if renewal.adoption else "")))
            # The talk track is short by design (at most 1,500 characters): shown whole.
            console.print(f"  [dim]{escape(renewal.explanation)}[/dim]")
        table = Table(show_header=True, box=None)
        for col in ("change", "object", "field", "now", "planned", "reason"):
            table.add_column(col)
        for change in account.changes[:_SHOWN_CHANGES]:
            first = True
            for fc in change.changes or ():
                table.add_row(change.kind.value if first else "", change.object if first else "",
                              fc.field,
                              "" if change.kind is ChangeKind.CREATE else _value(fc.before),
                              _value(fc.after),
                              escape(change.reason) if first else "")
                first = False
            for kept in change.kept_edits:
                table.add_row("kept rep edit", change.object, kept.field,
                              _value(kept.person_value), _value(kept.sfrenew_value),
                              "a person changed it; left alone")
            if first and not change.kept_edits:
                table.add_row(change.kind.value, change.object, "", "", "",
                              escape(change.reason))
        if len(account.changes) > _SHOWN_CHANGES:
            table.add_row("…", f"{len(account.changes) - _SHOWN_CHANGES} more records", "", "",
                          "", "")
        if table.row_count:  # an account with only skips or problems gets no empty header
            console.print(table)
        for skip in account.skipped:
            console.print(escape(f"  skipped contract {skip['contract_id']}: {skip['reason']} — "
                                 f"{skip['detail']}"))
        for problem in account.problems:
            what = (f"bad value: {problem['object']} {problem['record_id']} {problem['field']}"
                    if problem["field"] else
                    f"bad record: {problem['object']} {problem['record_id']}")
            console.print(escape(f"  {what}: {problem['message']}"))
        for routed in account.routing:
            console.print(escape(f"  routing: {routed['renewal']}: {routed['message']} "
                                 f"(fix {routed['object']} {routed['record_id']} "
                                 f"{routed['field']})"))
