"""The JSON codec for values the store keeps as text (record data, ledger values, params).

Salesforce gives JSON; the rules produce ``Decimal`` money and ``date`` values. A
plain ``json.dumps`` would turn ``Decimal('1200.50')`` into a float (or fail) and a
date into nothing at all, and the ledger's "last value sfrenew wrote" would then
stop comparing equal to what the rules want. So non-JSON scalars are written as
one-key tagged objects and read back as the same type:

====================  ==========================================
Python value          stored as
====================  ==========================================
``Decimal("12.30")``  ``{"$decimal": "12.30"}`` (exact digits kept)
``date(2026, 1, 31)`` ``{"$date": "2026-01-31"}``
``datetime``          ``{"$datetime": "2026-01-31T07:15:00+00:00"}``
tuple                 a JSON array (read back as a list)
====================  ==========================================

Salesforce field names never start with ``$``, so a tag cannot collide with a
record's own keys. Floats are kept as floats; NaN and infinities are refused.
Output is compact with sorted keys, so equal values give equal text.

One encoder and one decoder serve every call: ``json.dumps``/``json.loads`` with
options build a new ``JSONEncoder``/``JSONDecoder`` each time, which cost as much as
the encoding itself for the short values the ledger keeps (both are thread-safe to
share: they hold only their options).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_DECIMAL = "$decimal"
_DATE = "$date"
_DATETIME = "$datetime"


def _encode(value: Any) -> Any:
    # datetime first: it is a subclass of date.
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    if isinstance(value, Decimal):
        return {_DECIMAL: str(value)}
    raise TypeError(f"cannot store a {type(value).__name__} as JSON: {value!r}")


_TAGGED: dict[str, Any] = {_DECIMAL: Decimal, _DATE: date.fromisoformat,
                           _DATETIME: datetime.fromisoformat}


def _decode(obj: dict[str, Any]) -> Any:
    # Called for every JSON object read (a mirror record has several tagged values).
    if len(obj) == 1:
        ((tag, text),) = obj.items()
        kind = _TAGGED.get(tag)
        if kind is not None:
            return kind(text)
    return obj


_ENCODER = json.JSONEncoder(default=_encode, sort_keys=True, separators=(",", ":"),
                            allow_nan=False, ensure_ascii=False)
_DECODER = json.JSONDecoder(object_hook=_decode)


_quote = json.encoder.encode_basestring  # the encoder's own string quoting (ensure_ascii off)


def dumps(value: Any) -> str:
    """JSON text for ``value``, with Decimal, date and datetime tagged."""
    # Most values the ledger keeps are one scalar: text them directly, exactly as the
    # encoder would (the tests hold both paths to the same text).
    kind = type(value)
    if value is None:
        return "null"
    if kind is str:
        return _quote(value)
    if kind is Decimal:
        return f'{{"{_DECIMAL}":"{value}"}}'
    if kind is date:
        return f'{{"{_DATE}":"{value.isoformat()}"}}'
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return _ENCODER.encode(value)


_DECIMAL_HEAD = f'{{"{_DECIMAL}":"'
_DATE_HEAD = f'{{"{_DATE}":"'
_TAIL = '"}'
_SCALARS: dict[str, Any] = {"null": None, "true": True, "false": False}


def loads(text: str) -> Any:
    """The value :func:`dumps` wrote, with tagged scalars turned back into their types."""
    # The ledger's values are mostly one scalar, read back by the hundred thousand per
    # plan: the texts dumps writes directly are read directly, exactly as the decoder
    # would (no escape, no stray quote: the tests hold both paths to the same value).
    first = text[:1]
    if first == '"':
        if text.count('"') == 2 and text[-1] == '"' and "\\" not in text:
            return text[1:-1]
    elif first == "{":
        for head, kind in ((_DECIMAL_HEAD, Decimal), (_DATE_HEAD, date.fromisoformat)):
            if text.startswith(head) and text.endswith(_TAIL):
                inner = text[len(head):-2]
                if '"' not in inner and "\\" not in inner:
                    return kind(inner)
    elif text in _SCALARS:
        return _SCALARS[text]
    return _DECODER.decode(text)
