"""Coercions between Salesforce JSON values and plain Python values.

Salesforce answers dates as ``YYYY-MM-DD`` text, datetimes as
``YYYY-MM-DDTHH:MM:SS.000+0000``, numbers as JSON numbers (floats), and percent fields
as 5 for 5%. sfrenew's rules want ``date``, ``Decimal`` (money is never a float) and
rates as fractions. Bulk API CSV results give everything as text, so every coercion
also accepts text.

**One convention for rates.** A rate (coercion ``percent``) is a fraction in sfrenew:
0.05 is 5%, in config, on the command line and in the rules. How the org stores it
depends on the field's type in the org's describe, and :func:`rate_factor` is the one
place that says so: a field of type ``percent`` holds 5 for 5% (Salesforce's
convention), so reads divide by 100 and writes multiply by 100; a plain number field
(``double``) holds the fraction itself and is read and written as it is. Without a
describe (offline tools) a rate field is taken to be a percent field, as in both
presets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sfrenew.mapping._concepts import Coercion

# Looked up once: an enum member read off its class costs a descriptor call each time.
_PERCENT, _DATE = Coercion.PERCENT, Coercion.DATE
_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class CoercionError(ValueError):
    """A value that does not fit its coercion; the message quotes the value."""


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CoercionError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        # str() first: Decimal(0.1) would carry the float's binary noise.
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise CoercionError(f"{value!r} is not a number") from None
        if number.is_finite():
            return number
    raise CoercionError(f"{value!r} is not a number")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            # A datetime's date part: Salesforce datetimes are UTC, so this is the UTC day.
            return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
        except ValueError:
            pass
    raise CoercionError(f"{value!r} is not a date")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise CoercionError(f"{value!r} is not a boolean")


def _int(value: Any) -> int:
    number = _decimal(value) if not isinstance(value, bool) else None
    if number is None or number != number.to_integral_value():
        raise CoercionError(f"{value!r} is not a whole number")
    return int(number)


def _text(value: Any, what: str) -> str:
    if type(value) is str:  # the usual case, first
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise CoercionError(f"{value!r} is not {what}")
    return str(value)


def _id(value: Any) -> str:
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        raise CoercionError(f"{value!r} is not a Salesforce Id")
    return value


@dataclass(frozen=True)
class FieldShape:
    """How the org stores one field: its describe type, length and scale."""

    type: str
    length: int | None = None
    scale: int | None = None


FieldShapes = Mapping[tuple[str, str], FieldShape]  # (object lower, field lower) -> shape


def shapes_from_describe(sobject: str, describe: Mapping[str, Any]) -> dict[tuple[str, str],
                                                                           FieldShape]:
    """The field shapes of one object's describe."""
    return {(sobject.lower(), str(f["name"]).lower()): FieldShape(
        type=str(f.get("type")), length=f.get("length") or None, scale=f.get("scale"))
        for f in describe.get("fields", ())}


def rate_factor(sf_type: str | None) -> Decimal:
    """What a rate (a fraction) is multiplied by to give the org's value of a field.

    100 for a Salesforce ``percent`` field (5 means 5%), and when the type is not
    known; 1 for any other number type, which holds the fraction itself.
    """
    return _ONE if sf_type is not None and sf_type != "percent" else _HUNDRED


def _picklist(value: Any) -> str:
    return _text(value, "a picklist value")


def _string(value: Any) -> str:
    return _text(value, "text")


_CONVERTERS: dict[Coercion, Callable[[Any], Any]] = {
    Coercion.DATE: _date, Coercion.DECIMAL: _decimal, Coercion.INT: _int,
    Coercion.BOOL: _bool, Coercion.ID: _id, Coercion.PICKLIST: _picklist,
    Coercion.STRING: _string,
}


def converter(coercion: Coercion, *, sf_type: str | None = None) -> Callable[[Any], Any]:
    """The function :func:`coerce` applies to a non-empty value of ``coercion``.

    A reader of many records looks it up once per field rather than once per value.
    """
    if coercion is _PERCENT:
        factor = rate_factor(sf_type)
        if factor is _ONE:
            return _decimal
        return lambda value: _decimal(value) / factor
    return _CONVERTERS[coercion]


def coerce(value: Any, coercion: Coercion, *, sf_type: str | None = None) -> Any:
    """A Salesforce value as a plain value; None and '' stay None.

    ``sf_type`` is the field's type in the org's describe; it decides how a rate is
    stored (see :func:`rate_factor`). Raises CoercionError when the value does not
    fit, e.g. ``'soon' is not a date``.
    """
    if value is None or value == "":
        return None
    return converter(coercion, sf_type=sf_type)(value)


def to_salesforce(value: Any, coercion: Coercion, *, sf_type: str | None = None) -> Any:
    """A plain value as the value to write to Salesforce (None clears the field).

    Dates become ISO text and a rate is multiplied by :func:`rate_factor` (100 for a
    percent field); numbers stay ``Decimal`` so no money is rounded through a float
    (the gateway serialises them).
    """
    if value is None:
        return None
    if coercion is _PERCENT:
        return _decimal(value) * rate_factor(sf_type)
    if coercion is _DATE:
        return _date(value).isoformat()
    return coerce(value, coercion)
