"""Stored values as Salesforce JSON, until ``sfrenew.localorg.values`` lands.

Only booleans need converting: the storage convention already keeps text, numbers,
dates and datetimes in the form Salesforce's JSON uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfrenew.localorg.schema import FieldSchema, FieldType


def _as_bool(stored: Any) -> Any:
    return None if stored is None else bool(stored)


def converter(field: FieldSchema) -> Callable[[Any], Any] | None:
    """A function turning a stored value of ``field`` into its JSON value; None = as is."""
    if field.type is FieldType.BOOLEAN:
        return _as_bool
    return None
