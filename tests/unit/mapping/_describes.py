"""Describe JSON for tests: the local org's describe, plus a builder for crafted ones."""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.schema import FieldSchema, SObjectSchema, default_schema

API_VERSION = "62.0"


def _fallback_field(f: FieldSchema) -> dict[str, Any]:
    # Used only until sfrenew.localorg.describe lands: the describe keys phase 2 reads.
    return {
        "name": f.name, "type": str(f.type), "label": f.label, "length": f.length,
        "precision": f.precision, "scale": f.scale, "nillable": f.nillable,
        "createable": f.createable, "updateable": f.updateable, "unique": f.unique,
        "externalId": f.external_id, "idLookup": f.external_id or f.name == "Id",
        "defaultedOnCreate": f.default is not None, "custom": f.custom,
        "restrictedPicklist": f.restricted_picklist,
        "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": False}
                           for v in f.picklist_values],
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
    }


def _describe(obj: SObjectSchema) -> dict[str, Any]:
    try:
        from sfrenew.localorg.describe import describe_sobject  # noqa: PLC0415
    except ImportError:
        return {"name": obj.name, "custom": obj.custom, "keyPrefix": obj.key_prefix,
                "fields": [_fallback_field(f) for f in obj.fields.values()]}
    return dict(describe_sobject(obj, api_version=API_VERSION))


def local_describes() -> dict[str, dict[str, Any]]:
    """The describe JSON of every object of the local org's default schema."""
    return {obj.name: _describe(obj) for obj in default_schema().objects.values()}
