"""One record shape for both read paths, typed by the object's describe.

REST answers JSON (numbers, booleans, ISO strings, nested relationship objects);
Bulk API 2.0 answers CSV strings with dotted relationship columns. :func:`typed`
turns either into the same Python value for the field's describe type, so a record
read through REST equals the one read through Bulk: ``Decimal`` for double, currency
and percent, ``int``, ``bool``, ``date``, aware ``datetime``; empty/null is None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sfrenew.salesforce.errors import UnexpectedResponse


def _failed(value: Any, field_type: str) -> UnexpectedResponse:
    return UnexpectedResponse(f"cannot read {value!r} as {field_type}")


# One reader per describe type, each the whole conversion of one value: a pull reads
# millions of values, and choosing the conversion per value cost as much as doing it.
def _text(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value if type(value) is str else str(value)


def _boolean(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _integer(field_type: str) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if value is None or value == "":
            return None
        try:
            return int(Decimal(str(value)))
        except (ValueError, InvalidOperation) as exc:
            raise _failed(value, field_type) from exc
    return read


def _decimal(field_type: str) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if value is None or value == "":
            return None
        try:
            return Decimal(str(value))
        except (ValueError, InvalidOperation) as exc:
            raise _failed(value, field_type) from exc
    return read


def _parsed(kind: type, parse: Callable[[str], Any], field_type: str,
            ) -> Callable[[Any], Any]:
    """The reader of a date or datetime: a REST value already of ``kind`` is kept,
    text is parsed by ``parse``."""
    def read(value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, kind):
            return value
        try:
            return parse(str(value))
        except ValueError as exc:
            raise _failed(value, field_type) from exc
    return read


def parse_datetime(text: str) -> datetime:
    """Salesforce datetimes: ``2024-01-17T14:20:03.000+0000`` (REST) or ``...Z`` (Bulk),
    as aware UTC datetimes (Python 3.11's ``fromisoformat`` reads both offsets)."""
    parsed = datetime.fromisoformat(text)
    zone = parsed.tzinfo
    if zone is UTC:  # what Salesforce answers: nothing to convert
        return parsed
    if zone is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_READERS: dict[str, Callable[[Any], Any]] = {
    "boolean": _boolean, "int": _integer("int"), "long": _integer("long"),
    "double": _decimal("double"), "currency": _decimal("currency"),
    "percent": _decimal("percent"), "date": _parsed(date, date.fromisoformat, "date"),
    "datetime": _parsed(datetime, parse_datetime, "datetime")}


def reader(field_type: str) -> Callable[[Any], Any]:
    """The function that types one value of ``field_type``, as :func:`typed` does (look
    it up once per column, then call it per value)."""
    return _READERS.get(field_type, _text)


def typed(value: Any, field_type: str) -> Any:
    """The Python value of a REST JSON value or a Bulk CSV string for ``field_type``."""
    return reader(field_type)(value)


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a nested REST record (None through a null parent)."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def strip_attributes(value: Any) -> Any:
    """A REST record without the ``attributes`` entries, at every depth."""
    if isinstance(value, Mapping):
        return {k: strip_attributes(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [strip_attributes(v) for v in value]
    return value


def to_csv_text(value: Any, *, null: str) -> str:
    """A value as Bulk API 2.0 CSV expects it; ``null`` is what None becomes."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{aware.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
