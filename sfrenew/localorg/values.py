"""Field values: client JSON (or Bulk CSV text) <-> the stored SQLite form <-> response JSON.

The stored encodings are those of the storage convention in ``schema.py``. Coercion
follows what Salesforce's REST deserializer accepts: it is lenient about scalars (a
number may arrive as ``"10000"``, a string field accepts ``123``), strict about
structure (a list for a picklist is a ``JSON_PARSER_ERROR``), and validates what the
database would (length, picklist, range, e-mail, Id shape) with Salesforce's codes and
messages. Field labels, not API names, prefix the messages, as in Salesforce
("Account Name: data value too large: ..."); ``fields`` carries the API name.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import normalize_id
from sfrenew.localorg.schema import FieldSchema, FieldType

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?$"
)
# Salesforce checks e-mail syntax loosely: something@something.something, no spaces.
_EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_TRUE_TEXT = frozenset({"true", "1", "yes", "y"})
_FALSE_TEXT = frozenset({"false", "0", "no", "n"})
_INT32 = 2**31 - 1
# Bulk API: this value in a CSV cell sets the field to null.
BULK_NULL = "#N/A"

# The names Salesforce's deserializer uses for each field type in JSON_PARSER_ERROR.
_JSON_TYPE_NAME = {
    FieldType.BOOLEAN: "boolean",
    FieldType.INT: "int",
    FieldType.DOUBLE: "double",
    FieldType.CURRENCY: "currency",
    FieldType.PERCENT: "percent",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.MULTIPICKLIST: "multipicklist",
    FieldType.PICKLIST: "picklist",
    FieldType.REFERENCE: "reference",
    FieldType.ID: "id",
}


# -- dates and datetimes ----------------------------------------------------------------


def format_datetime(dt: datetime) -> str:
    """Salesforce's datetime text: ``2024-01-02T03:04:05.000+0000`` (UTC, milliseconds)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: the local org only stores UTC instants")
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse the datetime forms Salesforce accepts into an aware UTC datetime (ms precision).

    Accepts ``...Z``, ``...+0000``, ``...+00:00``, fractions of any length, a missing
    seconds part, no zone (taken as UTC) and a bare date (midnight UTC). Raises
    ``ValueError`` for anything else.
    """
    match = _DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a datetime: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                     int(second or 0), micro - micro % 1000, tzinfo=tz)
    return value.astimezone(UTC)


def format_date(d: date) -> str:
    """Salesforce's date text: ``YYYY-MM-DD``."""
    return d.isoformat()


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` (a datetime's date part is accepted too, as Salesforce does)."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a date: {text!r}")
    year, month, day = match.groups()[:3]
    return date(int(year), int(month), int(day))


# -- stored -> JSON ---------------------------------------------------------------------


def to_json(field: FieldSchema, stored: Any) -> Any:
    """The stored SQLite value of ``field`` as Salesforce renders it in JSON."""
    if stored is None:
        return None
    ftype = field.type
    if ftype == FieldType.BOOLEAN:
        return bool(stored)
    if ftype == FieldType.INT:
        return int(stored)
    if ftype in (FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT):
        return float(stored)
    return stored if isinstance(stored, str) else str(stored)


# -- client value -> stored -------------------------------------------------------------


def _token(value: Any) -> str:
    """The JSON token name Salesforce's parser reports for a value."""
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float | Decimal):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_STRING"


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "["
    if isinstance(value, dict):
        return "{"
    return str(value)


def _bad_type(field: FieldSchema, value: Any, *, from_text: bool) -> SalesforceApiError:
    if from_text:
        return SalesforceApiError.single(
            400, "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{field.label}: value not of required type: {value}", (field.name,))
    type_name = _JSON_TYPE_NAME.get(field.type, "string")
    return SalesforceApiError.single(
        400, "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {type_name} from {_token(value)} value "
        f"{_json_text(value)} or request may be missing a required field")


def _text(field: FieldSchema, value: Any, *, from_text: bool) -> str:
    """A scalar as the text Salesforce would store (numbers and booleans are accepted)."""
    if isinstance(value, list | dict):
        raise _bad_type(field, value, from_text=from_text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_length(field: FieldSchema, text: str) -> None:
    if field.length and len(text) > field.length:
        raise SalesforceApiError.single(
            400, "STRING_TOO_LONG",
            f"{field.label}: data value too large: {text} (max length={field.length})",
            (field.name,))


def _bad_picklist(field: FieldSchema, value: str) -> SalesforceApiError:
    return SalesforceApiError.single(
        400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{field.label}: bad value for restricted picklist field: {value}", (field.name,))


def _boolean(field: FieldSchema, value: Any, *, from_text: bool) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_TEXT and (from_text or lowered == "true"):
            return 1
        if lowered in _FALSE_TEXT and (from_text or lowered == "false"):
            return 0
    raise _bad_type(field, value, from_text=from_text)


def _decimal(field: FieldSchema, value: Any, *, from_text: bool) -> Decimal:
    if isinstance(value, bool | list | dict):
        raise _bad_type(field, value, from_text=from_text)
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        raise _bad_type(field, value, from_text=from_text) from None
    if not number.is_finite():
        raise _bad_type(field, value, from_text=from_text)
    return number


def _number(field: FieldSchema, value: Any, *, from_text: bool) -> int | float:
    number = _decimal(field, value, from_text=from_text)
    if field.type == FieldType.INT:
        if number != number.to_integral_value():
            raise _bad_type(field, value, from_text=from_text)
        as_int = int(number)
        limit = 10 ** field.precision - 1 if field.precision else _INT32
        if abs(as_int) > min(limit, _INT32):
            raise _out_of_range(field, value)
        return as_int
    # Salesforce rounds half up to the field's scale when it saves.
    rounded = number.quantize(Decimal(1).scaleb(-field.scale), rounding=ROUND_HALF_UP)
    integer_digits = field.precision - field.scale
    if field.precision and abs(rounded) >= Decimal(10) ** integer_digits:
        raise _out_of_range(field, value)
    return float(rounded)


def _out_of_range(field: FieldSchema, value: Any) -> SalesforceApiError:
    return SalesforceApiError.single(
        400, "NUMBER_OUTSIDE_VALID_RANGE",
        f"{field.label}: value outside of valid range on numeric field: {value}", (field.name,))


def _date(field: FieldSchema, value: Any, *, from_text: bool) -> str:
    if not isinstance(value, str):
        raise _bad_type(field, value, from_text=from_text)
    try:
        return format_date(parse_date(value))
    except ValueError:
        raise _bad_type(field, value, from_text=from_text) from None


def _datetime(field: FieldSchema, value: Any, *, from_text: bool) -> str:
    if not isinstance(value, str):
        raise _bad_type(field, value, from_text=from_text)
    try:
        return format_datetime(parse_datetime(value))
    except ValueError:
        raise _bad_type(field, value, from_text=from_text) from None


def _reference(field: FieldSchema, value: Any, *, from_text: bool) -> str:
    text = _text(field, value, from_text=from_text)
    normalized = normalize_id(text.strip())
    if normalized is None:
        raise SalesforceApiError.single(
            400, "MALFORMED_ID", f"{field.label}: id value of incorrect type: {text}",
            (field.name,))
    return normalized


def _picklist(field: FieldSchema, value: Any, *, from_text: bool) -> str:
    text = _text(field, value, from_text=from_text)
    if field.restricted_picklist and text not in field.picklist_values:
        raise _bad_picklist(field, text)
    _check_length(field, text)
    return text


def _multipicklist(field: FieldSchema, value: Any, *, from_text: bool) -> str | None:
    text = _text(field, value, from_text=from_text)
    # Salesforce drops empty and repeated entries and keeps the first-seen order.
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(";")):
        if part and part not in chosen:
            if field.restricted_picklist and part not in field.picklist_values:
                raise _bad_picklist(field, part)
            chosen.append(part)
    if not chosen:
        return None
    joined = ";".join(chosen)
    _check_length(field, joined)
    return joined


def to_stored(field: FieldSchema, value: Any, *, object_name: str,  # noqa: ARG001
              from_text: bool = False) -> Any:
    """Coerce a client value for ``field`` to its stored form, validating it.

    ``value`` is a JSON value, or with ``from_text=True`` a Bulk API CSV cell (where
    ``#N/A`` means null and type errors are ``INVALID_TYPE_ON_FIELD_IN_RECORD``).
    An empty string is null for every type, as in Salesforce. Existence and type of a
    referenced record are the store's business (it knows the data); this only checks
    that a reference looks like an Id. ``object_name`` is part of the contract for
    callers; no message here names the object.
    """
    if value is None:
        return None
    if isinstance(value, str) and (value == "" or (from_text and value == BULK_NULL)):
        return None
    ftype = field.type
    if ftype == FieldType.BOOLEAN:
        return _boolean(field, value, from_text=from_text)
    if ftype in (FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT):
        return _number(field, value, from_text=from_text)
    if ftype == FieldType.DATE:
        return _date(field, value, from_text=from_text)
    if ftype == FieldType.DATETIME:
        return _datetime(field, value, from_text=from_text)
    if ftype in (FieldType.REFERENCE, FieldType.ID):
        return _reference(field, value, from_text=from_text)
    if ftype == FieldType.PICKLIST:
        return _picklist(field, value, from_text=from_text)
    if ftype == FieldType.MULTIPICKLIST:
        return _multipicklist(field, value, from_text=from_text)
    text = _text(field, value, from_text=from_text)
    if ftype == FieldType.EMAIL and not _EMAIL_RE.match(text):
        raise SalesforceApiError.single(
            400, "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {text}",
            (field.name,))
    _check_length(field, text)
    return text
