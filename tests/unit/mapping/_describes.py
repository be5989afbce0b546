"""The local org's describe JSON, for checking mappings without a running server."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from sfrenew.localorg.describe import describe_sobject
from sfrenew.localorg.schema import default_schema

API_VERSION = "62.0"


@cache
def _all() -> dict[str, dict[str, Any]]:
    return {obj.name: dict(describe_sobject(obj, api_version=API_VERSION))
            for obj in default_schema().objects.values()}


def local_describes() -> dict[str, dict[str, Any]]:
    """The describe JSON of every object of the local org's default schema (a fresh copy)."""
    return copy.deepcopy(_all())
