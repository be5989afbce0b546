"""Schema entries for an object's standard fields, generated from a recorded describe.

    python -m sfrenew.localorg.schema_fields RECORDED_DESCRIBE.json

prints the ``schema.yaml`` lines for every field of the describe that the local org
can serve and its schema lacks: scalar types only (compound address and location
fields, lookups and the recording org's custom fields are left out, as are fields of
features the org does not have). The Account and Contact blocks of ``schema.yaml``
were made this way from the CumulusCI recordings of the fidelity corpus;
tests/unit/localorg/test_schema_fields.py checks they still match.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from sfrenew.localorg.schema import SYSTEM_FIELDS, OrgSchema, default_schema

SERVED_TYPES = frozenset({"string", "textarea", "picklist", "boolean", "int", "double",
                          "currency", "percent", "date", "datetime", "email", "phone", "url"})
# Features the org does not have (partner portals, Data.com stay-in-touch requests).
LEFT_OUT = ("ChannelProgram", "IsPartner", "IsCustomerPortal", "LastCU")
# Formula fields whose value comes from a parent (Case.ContactEmail): null here would lie.
FORMULAS = frozenset({"ContactPhone", "ContactMobile", "ContactEmail", "ContactFax"})


def _served(field: dict[str, Any]) -> bool:
    name = str(field["name"])
    return (field["type"] in SERVED_TYPES and not name.endswith("__c")
            and name not in SYSTEM_FIELDS and name != "OwnerId"
            and name not in FORMULAS and not any(part in name for part in LEFT_OUT))


def field_spec(field: dict[str, Any]) -> dict[str, Any]:
    """The schema.yaml entry of one describe field."""
    ftype = str(field["type"])
    spec: dict[str, Any] = {"type": ftype}
    if ftype in ("string", "textarea", "picklist", "email", "phone", "url"):
        spec["length"] = field["length"]
    if ftype in ("double", "currency", "percent"):
        spec["precision"], spec["scale"] = field["precision"], field["scale"]
    if ftype == "int":
        spec["precision"] = field.get("digits") or 9
    if ftype == "picklist":
        spec["values"] = [entry["value"] for entry in field["picklistValues"]]
    if not field["createable"]:
        spec["createable"] = False
    if not field["updateable"]:
        spec["updateable"] = False
    spec["label"] = field["label"]
    return spec


def standard_fields(describe: dict[str, Any], *, schema: OrgSchema | None = None,
                    missing_only: bool = True) -> dict[str, dict[str, Any]]:
    """``{name: spec}`` of the describe's servable standard fields (those the schema lacks)."""
    obj = (schema or default_schema()).object(str(describe["name"]))
    fields = {}
    for field in describe["fields"]:
        if not _served(field):
            continue
        if missing_only and obj is not None and obj.field(str(field["name"])) is not None:
            continue
        fields[str(field["name"])] = field_spec(field)
    return fields


def yaml_lines(fields: dict[str, dict[str, Any]]) -> list[str]:
    """One flow-style ``schema.yaml`` line per field, indented for an object's ``fields``."""
    return ["      " + yaml.safe_dump({name: spec}, default_flow_style=True, width=10_000,
                                      sort_keys=False).strip()[1:-1]
            for name, spec in fields.items()]


def recorded_describe(path: Path) -> dict[str, Any]:
    """The describe body of a recorded ``GET sobjects/X/describe`` (corpus JSON)."""
    data = json.loads(path.read_text("utf-8"))
    body: dict[str, Any] = data[0]["response_json"] if isinstance(data, list) else data
    return body


def main(argv: list[str]) -> int:
    """Print the lines for each describe file given."""
    for name in argv:
        for line in yaml_lines(standard_fields(recorded_describe(Path(name)))):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
