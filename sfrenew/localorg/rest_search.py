"""``search`` (SOSL, a simple subset) and ``recent``.

SOSL served (SOQL and SOSL Reference, "SOSL Syntax")::

    FIND {term} | FIND 'term'
      [IN ALL FIELDS | NAME FIELDS | EMAIL FIELDS | PHONE FIELDS]
      [RETURNING Object [(field, ... [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n])], ...]
      [LIMIT n]

The term is split into words; a record matches when every word occurs in one of the
searched fields (case-insensitive; ``*`` matches any characters, ``?`` one; a
``"quoted phrase"`` is one word). Without ``RETURNING`` every object with a name field
is searched and records carry only their Id, as Salesforce answers. The search runs
as SOQL through the org's query engine, so a ``RETURNING`` field list, ``WHERE`` and
``ORDER BY`` accept what SOQL accepts. Not served: the boolean operators ``AND``,
``OR``, ``AND NOT`` inside the term, ``WITH`` clauses, ``UPDATE TRACKING``, snippets
and relevance ranking (results are in ``RETURNING`` order, then by Id): such a
statement is 400 ``MALFORMED_SEARCH`` naming what is not supported.

``recent`` answers the records the session's user most recently created or changed
(Salesforce answers the ones the user viewed or referenced, which the org does not
track), newest first, ``limit`` at most 200 (default 200).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import QueryEnginePort, ReadConnections
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import FieldType, OrgSchema, SObjectSchema
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.tables import quote
from sfrenew.localorg.wire import Response

_FIND = re.compile(r"^\s*FIND\s+(\{(?P<brace>(?:\\.|[^}\\])*)\}|'(?P<quote>(?:\\.|[^'\\])*)')\s*",
                   re.IGNORECASE | re.DOTALL)
_IN = re.compile(r"^IN\s+(ALL|NAME|EMAIL|PHONE)\s+FIELDS\s*", re.IGNORECASE)
_RETURNING = re.compile(r"^RETURNING\s+", re.IGNORECASE)
_OBJECT = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*")
_LIMIT = re.compile(r"^LIMIT\s+(\d+)\s*$", re.IGNORECASE)
_WORD = re.compile(r'"([^"]*)"|(\S+)')
_OPERATORS = {"AND", "OR", "NOT"}
MAX_SEARCH_ROWS = 2000
MAX_RECENT = 200
_SEARCHED = {
    "ALL": {FieldType.STRING, FieldType.TEXTAREA, FieldType.EMAIL, FieldType.PHONE,
            FieldType.URL, FieldType.PICKLIST},
    "EMAIL": {FieldType.EMAIL},
    "PHONE": {FieldType.PHONE},
}


def malformed_search(message: str) -> SalesforceApiError:
    """Salesforce's error for a SOSL statement it cannot parse."""
    return SalesforceApiError.single(400, "MALFORMED_SEARCH", message)


@dataclass(frozen=True)
class Returning:
    """One ``RETURNING`` entry: the object and the SOQL tail inside its parentheses."""

    obj: SObjectSchema
    fields: str  # "Id, Name" (Id alone when none were given)
    clauses: str  # "WHERE ... ORDER BY ... LIMIT n" (may be empty)


@dataclass(frozen=True)
class Search:
    """A parsed SOSL statement."""

    words: tuple[str, ...]
    scope: str  # ALL, NAME, EMAIL, PHONE
    returning: tuple[Returning, ...]
    limit: int


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts, depth, current, in_quote = [], 0, [], False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quote:
            current.append(ch)
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == "'":
                in_quote = False
        elif ch == "'":
            in_quote = True
            current.append(ch)
        elif ch == "(":
            depth += 1
            current.append(ch)
        elif ch == ")":
            depth -= 1
            current.append(ch)
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    if in_quote or depth:
        raise malformed_search("unbalanced parentheses or quotes in RETURNING")
    parts.append("".join(current).strip())
    return parts


def _returning_entry(schema: OrgSchema, text: str) -> Returning:
    match = _OBJECT.match(text)
    if match is None:
        raise malformed_search(f"unexpected token in RETURNING: {text[:40]!r}")
    obj = schema.object(match.group(1))
    if obj is None:
        raise malformed_search(f"sObject type '{match.group(1)}' is not supported.")
    rest = text[match.end():].strip()
    if not rest:
        return Returning(obj=obj, fields="Id", clauses="")
    if not (rest.startswith("(") and rest.endswith(")")):
        raise malformed_search(f"unexpected token after {obj.name}: {rest[:40]!r}")
    inner = rest[1:-1].strip()
    clause = re.search(r"\b(WHERE|ORDER\s+BY|LIMIT|OFFSET)\b", inner, re.IGNORECASE)
    fields = inner[:clause.start()] if clause else inner
    clauses = inner[clause.start():] if clause else ""
    return Returning(obj=obj, fields=fields.strip().rstrip(",") or "Id", clauses=clauses.strip())


def parse_search(schema: OrgSchema, sosl: str) -> Search:
    """Parse the served SOSL subset; 400 MALFORMED_SEARCH otherwise."""
    match = _FIND.match(sosl)
    if match is None:
        raise malformed_search("No search term found. The search term must be enclosed in "
                               "braces.")
    term = match.group("brace") if match.group("brace") is not None else match.group("quote")
    words = tuple(w for w in (a or b for a, b in _WORD.findall(term.replace("\\", ""))) if w)
    if any(w.upper() in _OPERATORS for w in words):
        raise malformed_search("the local org does not serve AND, OR or NOT in a search term")
    if not words or any(len(w.replace("*", "").replace("?", "")) < 2 for w in words):
        raise malformed_search("search term must be longer than one character")
    rest = sosl[match.end():].strip()
    scope = "ALL"
    scope_match = _IN.match(rest)
    if scope_match is not None:
        scope = scope_match.group(1).upper()
        rest = rest[scope_match.end():]
    returning: tuple[Returning, ...] = ()
    limit = MAX_SEARCH_ROWS
    limit_match = re.search(r"\bLIMIT\s+(\d+)\s*$", rest, re.IGNORECASE)
    if limit_match is not None and not rest[:limit_match.start()].rstrip().endswith("("):
        # A trailing LIMIT outside every parenthesis limits the whole search.
        head = rest[:limit_match.start()]
        if head.count("(") == head.count(")"):
            limit = min(int(limit_match.group(1)), MAX_SEARCH_ROWS)
            rest = head.strip()
    if _RETURNING.match(rest):
        rest = _RETURNING.sub("", rest, count=1)
        returning = tuple(_returning_entry(schema, part) for part in _split_top_level(rest))
        rest = ""
    if rest.strip():
        raise malformed_search(f"unexpected token: {rest.strip()[:40]!r} (the local org serves "
                               "FIND, IN ... FIELDS, RETURNING and LIMIT)")
    if not returning:
        returning = tuple(Returning(obj=obj, fields="Id", clauses="")
                          for obj in sorted(schema.objects.values(), key=lambda o: o.name)
                          if obj.name_field is not None)
    return Search(words=words, scope=scope, returning=returning, limit=limit)


def _like_literal(word: str) -> str:
    escaped = (word.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%")
               .replace("_", "\\_").replace("*", "%").replace("?", "_"))
    return f"'%{escaped}%'"


def _match_condition(obj: SObjectSchema, search: Search) -> str | None:
    if search.scope == "NAME":
        names = [obj.name_field] if obj.name_field else []
    else:
        types = _SEARCHED[search.scope]
        names = [f.name for f in obj.fields.values() if f.type in types]
    if not names:
        return None
    per_word = ["(" + " OR ".join(f"{name} LIKE {_like_literal(word)}" for name in names) + ")"
                for word in search.words]
    return " AND ".join(per_word)


def _with_match(clauses: str, match: str) -> str:
    where = re.match(r"^WHERE\s+(.*?)(\s+(ORDER\s+BY|LIMIT|OFFSET)\b.*)?$", clauses,
                     re.IGNORECASE | re.DOTALL)
    if where is not None:
        return f"WHERE ({match}) AND ({where.group(1)}){where.group(2) or ''}"
    return f"WHERE {match} {clauses}".strip()


class SearchResource:
    """Handlers for ``search`` and ``recent``."""

    def __init__(self, *, engine: QueryEnginePort, store: ReadConnections, schema: OrgSchema,
                 clock: Clock) -> None:
        self._engine = engine
        self._store = store
        self._schema = schema
        self._clock = clock

    def search(self, call: Call) -> Response:
        """``GET search?q=FIND {...}``."""
        sosl = call.request.param("q")
        if not sosl or not sosl.strip():
            raise malformed_search("No search term found. The search term must be enclosed in "
                                   "braces.")
        search = parse_search(self._schema, sosl)
        records: list[dict[str, Any]] = []
        now: datetime = self._clock()
        conn = self._store.read_connection()
        try:
            for entry in search.returning:
                match = _match_condition(entry.obj, search)
                if match is None:
                    continue
                # SOQL for the org's engine, which parses and checks it like any query.
                soql = (f"SELECT {entry.fields} FROM {entry.obj.name} "  # noqa: S608
                        f"{_with_match(entry.clauses, match)}")
                prepared = self._engine.prepare(soql, include_deleted=False, now=now,
                                                api_version=call.version)
                for record in prepared.records(conn):
                    records.append(record)
                    if len(records) >= search.limit:
                        break
                if len(records) >= search.limit:
                    break
        finally:
            conn.close()
        return Response.json(200, {"searchRecords": records})

    def recent(self, call: Call) -> Response:
        """``GET recent?limit=n``."""
        try:
            limit = min(int(call.request.param("limit") or MAX_RECENT), MAX_RECENT)
        except ValueError as exc:
            raise SalesforceApiError.single(400, "INVALID_QUERY_FILTER_OPERATOR",
                                            "limit must be a number") from exc
        return Response.json(200, recent_items(self._store, list(self._schema.objects.values()),
                                               user_id=call.session.user_id, limit=limit,
                                               base=call.base))


def recent_items(store: ReadConnections, objects: list[SObjectSchema], *, user_id: str,
                 limit: int, base: str) -> list[dict[str, Any]]:
    """The user's most recently created or changed records of ``objects``, newest first.

    Also the ``recentItems`` of ``GET sobjects/{Type}`` (one object).
    """
    rows: list[tuple[str, SObjectSchema, str, Any]] = []
    conn = store.read_connection()
    try:
        for obj in objects:
            if obj.name_field is None:
                continue
            rows.extend((stamp, obj, record_id, name) for record_id, name, stamp in conn.execute(
                f'SELECT "Id", {quote(obj.name_field)}, "SystemModstamp" '  # noqa: S608
                f'FROM {quote(obj.name)} WHERE "IsDeleted" = 0 AND "LastModifiedById" = ? '
                'ORDER BY "SystemModstamp" DESC LIMIT ?', (user_id, limit)).fetchall())
    finally:
        conn.close()
    rows.sort(key=lambda r: (r[0], r[2]), reverse=True)
    return [{"attributes": {"type": obj.name, "url": f"{base}/sobjects/{obj.name}/{record_id}"},
             "Id": record_id, str(obj.name_field): name}
            for _stamp, obj, record_id, name in rows[:limit]]
