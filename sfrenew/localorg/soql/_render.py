"""Per-field converters from the stored value to Salesforce JSON (``values.to_json``).

Text-like fields are stored as the JSON string already; skipping the call for them
keeps the per-row cost low on wide results.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sfrenew.localorg.schema import TEXT_TYPES, FieldSchema, FieldType
from sfrenew.localorg.values import to_json

_AS_STORED = TEXT_TYPES | {FieldType.DATE, FieldType.DATETIME}


def converter(field: FieldSchema) -> Callable[[Any], Any] | None:
    """A function turning a non-null stored value of ``field`` into JSON; None = as stored."""
    if field.type in _AS_STORED:
        return None
    return partial(to_json, field)
