"""Coercions between Salesforce JSON values and plain Python values.

Salesforce answers dates as ``YYYY-MM-DD`` text, datetimes as
``YYYY-MM-DDTHH:MM:SS.000+0000``, numbers as JSON numbers (floats), and percent fields
as 5 for 5%. sfrenew's rules want ``date``, ``Decimal`` (money is never a float) and
rates as fractions. Bulk API CSV results give everything as text, so every coercion
also accepts text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sfrenew.mapping._concepts import Coercion

_HUNDRED = Decimal(100)
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
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise CoercionError(f"{value!r} is not {what}")
    return str(value)


def _id(value: Any) -> str:
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        raise CoercionError(f"{value!r} is not a Salesforce Id")
    return value


def coerce(value: Any, coercion: Coercion) -> Any:
    """A Salesforce value as a plain value; None and '' stay None.

    Raises CoercionError when the value does not fit, e.g. ``'soon' is not a date``.
    """
    if value is None or value == "":
        return None
    match coercion:
        case Coercion.DATE:
            return _date(value)
        case Coercion.DECIMAL:
            return _decimal(value)
        case Coercion.PERCENT:
            return _decimal(value) / _HUNDRED
        case Coercion.INT:
            return _int(value)
        case Coercion.BOOL:
            return _bool(value)
        case Coercion.ID:
            return _id(value)
        case Coercion.PICKLIST:
            return _text(value, "a picklist value")
        case Coercion.STRING:
            return _text(value, "text")


def to_salesforce(value: Any, coercion: Coercion) -> Any:
    """A plain value as the value to write to Salesforce (None clears the field).

    Dates become ISO text and percents are multiplied by 100; numbers stay ``Decimal``
    so no money is rounded through a float (the gateway serialises them).
    """
    if value is None:
        return None
    if coercion is Coercion.PERCENT:
        return _decimal(value) * _HUNDRED
    if coercion is Coercion.DATE:
        return _date(value).isoformat()
    return coerce(value, coercion)
