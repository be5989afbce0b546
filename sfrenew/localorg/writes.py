"""Checks of a client write that need no data: field names, access, types, required fields.

Salesforce answers these before touching any record, in this order: an unknown field
(``INVALID_FIELD``), fields the profile may not write (``INVALID_FIELD_FOR_INSERT_UPDATE``,
all of them at once), then each value's type and shape (see ``values.py``). Required
fields are checked after defaults and derived values are applied.
"""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.schema import FieldSchema, FieldType, SObjectSchema
from sfrenew.localorg.values import to_stored

_NOT_WRITABLE_HINT = ("Please check the security settings of this field and verify that it is "
                      "read/write for your profile or permission set.")


def no_such_column(obj: SObjectSchema, name: str) -> SalesforceApiError:
    """INVALID_FIELD for a field the object does not have (a write's wording)."""
    return SalesforceApiError.single(
        400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")


def no_such_column_on_entity(obj: SObjectSchema, name: str) -> SalesforceApiError:
    """INVALID_FIELD for a field the object does not have (a read's wording)."""
    return SalesforceApiError.single(
        400, "INVALID_FIELD",
        f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.")


def split_relationships(obj: SObjectSchema, values: dict[str, Any]
                        ) -> tuple[dict[str, Any], dict[FieldSchema, dict[str, Any]]]:
    """Separate plain fields from parents given by external Id (``"Account": {"Ext__c": x}``).

    Raises INVALID_FIELD for a name that is neither a field nor a relationship.
    """
    plain: dict[str, Any] = {}
    parents: dict[FieldSchema, dict[str, Any]] = {}
    for name, value in values.items():
        if name == "attributes":
            continue
        if obj.field(name) is not None:
            plain[name] = value
            continue
        reference = obj.relationship_field(name)
        if reference is None or not isinstance(value, dict):
            raise no_such_column(obj, name)
        parents[reference] = value
    return plain, parents


def coerce_write(obj: SObjectSchema, values: dict[str, Any], *, creating: bool,
                 from_text: bool = False) -> dict[str, Any]:
    """Validated stored values keyed by canonical field name.

    ``values`` holds plain fields only (see ``split_relationships``).
    """
    fields: list[tuple[FieldSchema, Any]] = []
    for name, value in values.items():
        field = obj.field(name)
        if field is None:
            raise no_such_column(obj, name)
        fields.append((field, value))
    if creating and any(f.name == "Id" for f, _ in fields):
        raise SalesforceApiError.dml("INVALID_FIELD_FOR_INSERT_UPDATE",
                                     "cannot specify Id in an insert call", ("Id",))
    forbidden = [f.name for f, _ in fields
                 if not (f.createable if creating else f.updateable)]
    if forbidden:
        raise SalesforceApiError.dml(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(forbidden)}. {_NOT_WRITABLE_HINT}",
            tuple(forbidden))
    stored: dict[str, Any] = {}
    for field, value in fields:
        converted = to_stored(field, value, object_name=obj.name, from_text=from_text)
        if converted is None and field.type == FieldType.BOOLEAN:
            converted = 0  # a checkbox is never null: clearing it unchecks it
        stored[field.name] = converted
    return stored


def required_missing(obj: SObjectSchema, record: dict[str, Any], *,
                     checked: list[str] | None = None) -> None:
    """REQUIRED_FIELD_MISSING for the required fields that are empty in ``record``.

    ``checked`` limits the check to some fields (an update checks what it changes).
    """
    candidates = (obj.fields.values() if checked is None
                  else [f for f in (obj.field(n) for n in checked) if f is not None])
    missing = [f.name for f in candidates
               if not f.nillable and f.createable and record.get(f.name) is None]
    if missing:
        raise SalesforceApiError.dml(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
            tuple(missing))
