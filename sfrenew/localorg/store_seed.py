"""Row building for ``OrgStore.insert_many``: the seed generator's fast path.

Rows arrive as already-valid stored values keyed by field API name; this adds what the
store owns (Id, system fields, defaults, auto numbers, and the derived values the row
leaves out, other than lookups) and flattens each row to a tuple in column order for one
``executemany``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sfrenew.localorg.derive import apply_derivations, format_auto_number
from sfrenew.localorg.ids import make_ids
from sfrenew.localorg.schema import DerivationKind, FieldSchema, FieldType, SObjectSchema
from sfrenew.localorg.tables import columns, quote
from sfrenew.localorg.values import format_date, format_datetime
from sfrenew.localorg.writes import no_such_column

_PLAIN = frozenset({str, int, float, type(None), bool})
_OWNER_DEFAULT = "$user"


def _plain(value: Any) -> Any:
    """A Python value in its stored form (the seed may hand over dates and Decimals)."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


class SeedRows:
    """Turns seed rows of one object into insert tuples."""

    def __init__(self, obj: SObjectSchema, *, user_id: str, stamp: str) -> None:
        self._obj = obj
        self.names = columns(obj)
        self.insert_sql = (
            f"INSERT INTO {quote(obj.name)} ({', '.join(quote(n) for n in self.names)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in self.names)})")
        self._known = frozenset(self.names)
        self._canonical = {n.lower(): n for n in self.names}
        # Every column present, so a row flattens with one C-level itemgetter call.
        self._base: dict[str, Any] = dict.fromkeys(self.names)
        self._base |= {
            "CreatedDate": stamp, "CreatedById": user_id, "LastModifiedDate": stamp,
            "LastModifiedById": user_id, "SystemModstamp": stamp,
        }
        for field in obj.fields.values():
            if field.default is None:
                continue
            if field.default == _OWNER_DEFAULT:
                self._base[field.name] = user_id
            elif field.type == FieldType.BOOLEAN:
                self._base[field.name] = int(bool(field.default))
            else:
                self._base[field.name] = field.default
        self._auto = [(f.name, f.auto_number) for f in obj.fields.values()
                      if f.auto_number is not None]
        # Lookups need the parent rows: the seed sets those values itself.
        self._derived = [f for f in obj.fields.values()
                         if f.derived is not None and f.derived.kind != DerivationKind.LOOKUP]
        self._todo: dict[frozenset[str], list[FieldSchema]] = {}
        self._flatten = itemgetter(*self.names)
        self.latest_stamp = stamp

    def _canonical_row(self, row: dict[str, Any]) -> dict[str, Any]:
        fixed: dict[str, Any] = {}
        for key, value in row.items():
            name = self._canonical.get(key.lower())
            if name is None:
                raise no_such_column(self._obj, key)
            fixed[name] = value
        return fixed

    def build(self, rows: list[dict[str, Any]], *, first_id: int,
              auto_first: dict[str, int]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The new Ids and the insert tuples, in row order."""
        base, flatten, plain = self._base, self._flatten, _PLAIN
        ids = make_ids(self._obj.key_prefix, first_id, len(rows))
        tuples: list[tuple[Any, ...]] = []
        latest = self.latest_stamp
        for index, raw in enumerate(rows):
            row = raw if raw.keys() <= self._known else self._canonical_row(raw)
            if not plain.issuperset(map(type, row.values())):
                row = {k: _plain(v) for k, v in row.items()}
            record = {**base, **row}
            record["Id"] = ids[index]
            record["IsDeleted"] = 0
            for name, display_format in self._auto:
                if record.get(name) is None:
                    record[name] = format_auto_number(str(display_format),
                                                      auto_first[name] + index)
            if self._derived:
                keys = frozenset(row)
                todo = self._todo.get(keys)
                if todo is None:
                    # A value the row brings is kept (the seed may plant dirty data).
                    todo = self._todo[keys] = [f for f in self._derived if f.name not in keys]
                if todo:
                    apply_derivations(self._obj, record, given=keys, creating=True,
                                      lookup=None, targets=todo,
                                      now=record["LastModifiedDate"])
            stamp = record["SystemModstamp"]
            if isinstance(stamp, str) and stamp > latest:
                latest = stamp
            tuples.append(flatten(record))
        self.latest_stamp = latest
        return ids, tuples
