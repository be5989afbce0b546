"""The JSON Schema of mapping files, for editor completion (committed, kept current by a test)."""

from __future__ import annotations

import json
from typing import Any

from sfrenew.mapping._model import MappingFile

SCHEMA_PATH = "mappings/mappings.schema.json"


def mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a mapping file."""
    schema = MappingFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://sfrenew.invalid/mappings.schema.json", **schema}


def render_json_schema() -> str:
    """The schema as the committed file's text (stable key order, trailing newline)."""
    return json.dumps(mapping_json_schema(), indent=2, ensure_ascii=False) + "\n"
