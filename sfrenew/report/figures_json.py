"""``sfrenew report --json``: the same figures as the page, for scripts.

Money and rates are strings (exact decimals: ``"53000.00"``, ``"0.8302"``), dates ISO.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from sfrenew.core.analytics import BookFigures

FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def figures_json(figures: BookFigures) -> str:
    """The figures as a JSON document (``version`` first)."""
    return json.dumps({"version": FORMAT_VERSION, **_plain(figures)}, indent=2)
