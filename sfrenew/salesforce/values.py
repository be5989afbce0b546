"""One record shape for both read paths, typed by the object's describe.

REST answers JSON (numbers, booleans, ISO strings, nested relationship objects);
Bulk API 2.0 answers CSV strings with dotted relationship columns. :func:`typed`
turns either into the same Python value for the field's describe type, so a record
read through REST equals the one read through Bulk: ``Decimal`` for double, currency
and percent, ``int``, ``bool``, ``date``, aware ``datetime``; empty/null is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sfrenew.salesforce.errors import UnexpectedResponse

_DECIMAL_TYPES = frozenset({"double", "currency", "percent"})
_INT_TYPES = frozenset({"int", "long"})


def typed(value: Any, field_type: str) -> Any:
    """The Python value of a REST JSON value or a Bulk CSV string for ``field_type``."""
    if value is None or value == "":
        return None
    try:
        if field_type == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if field_type in _INT_TYPES:
            return int(Decimal(str(value)))
        if field_type in _DECIMAL_TYPES:
            return Decimal(str(value))
        if field_type == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if field_type == "datetime":
            return value if isinstance(value, datetime) else parse_datetime(str(value))
    except (ValueError, InvalidOperation) as exc:
        raise UnexpectedResponse(f"cannot read {value!r} as {field_type}") from exc
    return value if isinstance(value, str) else str(value)


def parse_datetime(text: str) -> datetime:
    """Salesforce datetimes: ``2024-01-17T14:20:03.000+0000`` (REST) or ``...Z`` (Bulk)."""
    normalised = text[:-1] + "+00:00" if text.endswith("Z") else text
    if len(normalised) > 5 and normalised[-5] in "+-" and normalised[-3] != ":":
        normalised = normalised[:-2] + ":" + normalised[-2:]  # +0000 -> +00:00
    parsed = datetime.fromisoformat(normalised)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


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
