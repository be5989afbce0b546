"""The local org's schema: objects and fields, loaded from a data file.

The schema is data (``data/schema.yaml``), not code, so adding an object or a custom
field never means touching the server. Every object automatically gets the system
fields Salesforce gives every sObject (Id, IsDeleted, CreatedDate, CreatedById,
LastModifiedDate, LastModifiedById, SystemModstamp); objects with ``owned: true``
also get OwnerId.

Storage convention (shared by the store and the SOQL compiler): one SQLite table per
object named exactly like the object's API name, one column per field named exactly
like the field's API name. Encodings: text-like types, ids and references as TEXT;
boolean as INTEGER 0/1; int as INTEGER; double/currency/percent as REAL; date as
TEXT ``YYYY-MM-DD``; datetime as TEXT ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` (always UTC, so
text order is time order); multipicklist as TEXT ``a;b``. NULL is NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml


class FieldType(StrEnum):
    """Salesforce field types (the ``type`` of a describe field)."""

    ID = "id"
    STRING = "string"
    TEXTAREA = "textarea"
    PICKLIST = "picklist"
    MULTIPICKLIST = "multipicklist"
    BOOLEAN = "boolean"
    INT = "int"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    REFERENCE = "reference"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"


NUMERIC_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
TEXT_TYPES = frozenset(
    {
        FieldType.ID,
        FieldType.STRING,
        FieldType.TEXTAREA,
        FieldType.PICKLIST,
        FieldType.MULTIPICKLIST,
        FieldType.REFERENCE,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
    }
)

SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                 "LastModifiedById", "SystemModstamp")


@dataclass(frozen=True)
class PicklistValue:
    """One picklist entry, with the attributes derivations read (closed, won, ...)."""

    value: str
    label: str
    default: bool = False
    attributes: tuple[tuple[str, Any], ...] = ()  # e.g. (("closed", True), ("won", True))

    def attribute(self, name: str) -> Any:
        """The value of one attribute (``closed``, ``probability``...), or None."""
        for key, value in self.attributes:
            if key == name:
                return value
        return None


class DerivationKind(StrEnum):
    """How a derived field's value is computed from the record (see schema.yaml)."""

    CONCAT = "concat"
    PICKLIST_ATTRIBUTE = "picklist_attribute"
    PRODUCT = "product"
    ADD_MONTHS = "add_months"
    EQUALS = "equals"
    LOOKUP = "lookup"
    STAMP_WHEN = "stamp_when"


@dataclass(frozen=True)
class Derivation:
    """A value the store computes on write instead of (or when missing from) the client."""

    kind: DerivationKind
    of: tuple[str, ...]  # source field API names
    always: bool = True  # False: only fill the field when the saved value would be null
    separator: str = " "  # concat
    attribute: str = ""  # picklist_attribute
    minus_days: int = 0  # add_months
    value: Any = None  # equals
    parent_field: str = ""  # lookup: the field read on the referenced record


class ConditionOp(StrEnum):
    """Comparison operators of validation-rule conditions."""

    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EQ = "eq"
    NE = "ne"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"


@dataclass(frozen=True)
class ValidationRule:
    """A rule whose condition, when true for the record being saved, fails the save."""

    name: str
    field: str | None  # reported in the error's ``fields``
    condition_field: str
    op: ConditionOp
    value: Any
    message: str


@dataclass(frozen=True)
class FieldSchema:
    """One field of an sObject, as describe would show it."""

    name: str
    type: FieldType
    label: str
    length: int = 0  # text types; 0 where not applicable
    precision: int = 0  # numeric types: total digits
    scale: int = 0  # numeric types: digits after the point
    nillable: bool = True  # False means required on create (unless defaulted)
    createable: bool = True
    updateable: bool = True
    unique: bool = False
    external_id: bool = False
    custom: bool = False
    default: Any = None  # value used on create when the field is not given
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()  # object API names
    relationship_name: str | None = None  # e.g. "Account" for AccountId
    cascade_delete: bool = False  # master-detail: deleting the parent deletes this child
    picklist_details: tuple[PicklistValue, ...] = ()  # same order as picklist_values
    auto_number: str | None = None  # display format, e.g. "{00000000}"
    derived: Derivation | None = None
    case_sensitive: bool = False
    name_field: bool = False
    id_lookup: bool = False  # usable to find a record (upsert key), like Contact.Email

    @property
    def identifies_records(self) -> bool:
        """True when upserts may match on this field (Id, external Ids, idLookup fields)."""
        return self.name == "Id" or self.external_id or self.id_lookup

    @property
    def required_on_create(self) -> bool:
        """True when a create without this field is REQUIRED_FIELD_MISSING."""
        return ((not self.nillable) and self.createable and self.default is None
                and self.derived is None)

    @property
    def polymorphic(self) -> bool:
        """True for a lookup that may point at several object types (Task.WhatId)."""
        return len(self.reference_to) > 1

    def picklist_entry(self, value: str) -> PicklistValue | None:
        """The picklist entry with exactly this value, or None."""
        for entry in self.picklist_details:
            if entry.value == value:
                return entry
        return None


@dataclass(frozen=True)
class ChildRelationship:
    """A relationship from a parent object to the children pointing at it."""

    name: str  # e.g. "Contacts" on Account
    child_object: str  # e.g. "Contact"
    field: str  # e.g. "AccountId"
    cascade_delete: bool = False


@dataclass(frozen=True)
class SObjectSchema:
    """One sObject type."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldSchema]  # keyed by lower-cased API name
    child_relationships: dict[str, ChildRelationship] = field(default_factory=dict)  # by lower name
    name_field: str | None = None  # the field describe marks nameField (Name, CaseNumber...)
    validation_rules: tuple[ValidationRule, ...] = ()

    def field(self, name: str) -> FieldSchema | None:
        """The field with this API name (case-insensitive), or None."""
        return self.fields.get(name.lower())

    def relationship_field(self, relationship_name: str) -> FieldSchema | None:
        """The reference field whose relationship name is this (case-insensitive)."""
        wanted = relationship_name.lower()
        for f in self.fields.values():
            if f.relationship_name is not None and f.relationship_name.lower() == wanted:
                return f
        return None

    def child_relationship(self, name: str) -> ChildRelationship | None:
        """The child relationship with this name (case-insensitive), or None."""
        return self.child_relationships.get(name.lower())


@dataclass(frozen=True)
class OrgSchema:
    """All objects of the org, keyed by lower-cased API name."""

    objects: dict[str, SObjectSchema]

    def object(self, name: str) -> SObjectSchema | None:
        """The object with this API name (case-insensitive), or None."""
        return self.objects.get(name.lower())

    def object_by_prefix(self, key_prefix: str) -> SObjectSchema | None:
        """The object whose Ids start with this 3-character prefix, or None."""
        for obj in self.objects.values():
            if obj.key_prefix == key_prefix:
                return obj
        return None


def _readonly(name: str, ftype: FieldType, label: str, *, ref: str | None = None) -> FieldSchema:
    return FieldSchema(
        name, ftype, label, length=18 if ftype in (FieldType.ID, FieldType.REFERENCE) else 0,
        nillable=False, createable=False, updateable=False,
        reference_to=("User",) if ref else (), relationship_name=ref,
    )


def _system_fields(*, owned: bool) -> list[FieldSchema]:
    fields = [
        _readonly("Id", FieldType.ID, "Record ID"),
        _readonly("IsDeleted", FieldType.BOOLEAN, "Deleted"),
        _readonly("CreatedDate", FieldType.DATETIME, "Created Date"),
        _readonly("CreatedById", FieldType.REFERENCE, "Created By ID", ref="CreatedBy"),
        _readonly("LastModifiedDate", FieldType.DATETIME, "Last Modified Date"),
        _readonly("LastModifiedById", FieldType.REFERENCE, "Last Modified By ID",
                  ref="LastModifiedBy"),
        _readonly("SystemModstamp", FieldType.DATETIME, "System Modstamp"),
    ]
    if owned:
        # Defaulted to the running user on create, so not "required" for the client.
        fields.append(FieldSchema("OwnerId", FieldType.REFERENCE, "Owner ID", length=18,
                                  nillable=False, reference_to=("User",),
                                  relationship_name="Owner", default="$user"))
    return fields


def _picklist_entries(spec: dict[str, Any]) -> tuple[PicklistValue, ...]:
    entries = []
    for raw in spec.get("values", ()):
        if isinstance(raw, dict):
            attrs = tuple((k, v) for k, v in raw.items() if k not in ("value", "label", "default"))
            value = str(raw["value"])
            entries.append(PicklistValue(value, str(raw.get("label", value)),
                                         bool(raw.get("default", False)), attrs))
        else:
            entries.append(PicklistValue(str(raw), str(raw)))
    return tuple(entries)


def _derivation(spec: dict[str, Any] | None) -> Derivation | None:
    if not spec:
        return None
    when = str(spec.get("when", "always"))
    if when not in ("always", "if_null"):
        raise ValueError(f"derived.when must be 'always' or 'if_null', not {when!r}")
    return Derivation(
        kind=DerivationKind(spec["kind"]),
        of=tuple(str(f) for f in spec.get("of", ())),
        always=when == "always",
        separator=str(spec.get("separator", " ")),
        attribute=str(spec.get("attribute", "")),
        minus_days=int(spec.get("minus_days", 0)),
        value=spec.get("value"),
        parent_field=str(spec.get("field", "")),
    )


def _field_from_data(name: str, spec: dict[str, Any], *, name_field: bool = False) -> FieldSchema:
    ftype = FieldType(spec["type"])
    entries = _picklist_entries(spec)
    default = spec.get("default", False if ftype == FieldType.BOOLEAN else None)
    if default is None:
        default = next((e.value for e in entries if e.default), None)
    auto_number = spec.get("auto_number")
    read_only = auto_number is not None
    return FieldSchema(
        name=name,
        type=ftype,
        label=str(spec.get("label", name.removesuffix("__c").replace("_", " "))),
        length=int(spec.get("length", 18 if ftype in (FieldType.REFERENCE, FieldType.ID) else 0)),
        precision=int(spec.get("precision", 18 if ftype in NUMERIC_TYPES else 0)),
        scale=int(spec.get("scale", 2 if ftype in (FieldType.CURRENCY, FieldType.PERCENT) else 0)),
        nillable=(not bool(spec.get("required", False)) and ftype != FieldType.BOOLEAN
                  and not read_only),
        createable=bool(spec.get("createable", True)) and not read_only,
        updateable=bool(spec.get("updateable", True)) and not read_only,
        unique=bool(spec.get("unique", False)),
        external_id=bool(spec.get("external_id", False)),
        custom=name.endswith("__c"),
        default=default,
        picklist_values=tuple(e.value for e in entries),
        restricted_picklist=bool(spec.get("restricted", False)),
        reference_to=tuple(spec.get("reference_to", ())),
        relationship_name=spec.get("relationship_name"),
        cascade_delete=bool(spec.get("cascade_delete", False)),
        picklist_details=entries,
        auto_number=str(auto_number) if read_only else None,
        derived=_derivation(spec.get("derived")),
        case_sensitive=bool(spec.get("case_sensitive", False)),
        name_field=name_field,
        id_lookup=bool(spec.get("id_lookup", False)),
    )


def _validation_rules(specs: list[dict[str, Any]] | None) -> tuple[ValidationRule, ...]:
    rules = []
    for spec in specs or ():
        cond = spec["condition"]
        rules.append(ValidationRule(
            name=str(spec["name"]), field=spec.get("field"),
            condition_field=str(cond["field"]), op=ConditionOp(cond["op"]),
            value=cond.get("value"), message=str(spec["message"]),
        ))
    return tuple(rules)


def build_schema(data: dict[str, Any]) -> OrgSchema:
    """Build an OrgSchema from the parsed schema data file."""
    objects: dict[str, SObjectSchema] = {}
    for obj_name, spec in data["objects"].items():
        fields = {f.name.lower(): f for f in _system_fields(owned=bool(spec.get("owned", False)))}
        label = str(spec.get("label", obj_name))
        if not obj_name.endswith("__c"):
            # Standard objects label their Id "Account ID"; custom ones say "Record ID".
            fields["id"] = replace(fields["id"], label=f"{label} ID")
        field_specs = spec.get("fields") or {}
        name_field = spec.get("name_field", "Name" if "Name" in field_specs else None)
        for fname, fspec in field_specs.items():
            fields[fname.lower()] = _field_from_data(fname, fspec, name_field=fname == name_field)
        objects[obj_name.lower()] = SObjectSchema(
            name=obj_name,
            label=str(spec.get("label", obj_name)),
            label_plural=str(spec.get("label_plural", spec.get("label", obj_name) + "s")),
            key_prefix=str(spec["key_prefix"]),
            custom=obj_name.endswith("__c"),
            fields=fields,
            name_field=name_field,
            validation_rules=_validation_rules(spec.get("validation_rules")),
        )
    # Child relationships are derived from the reference fields that declare a name.
    for obj_name, spec in data["objects"].items():
        for fname, fspec in (spec.get("fields") or {}).items():
            child_name = fspec.get("child_relationship")
            if not child_name:
                continue
            for parent in fspec.get("reference_to", ()):
                parent_obj = objects[parent.lower()]
                parent_obj.child_relationships[child_name.lower()] = ChildRelationship(
                    name=child_name, child_object=obj_name, field=fname,
                    cascade_delete=bool(fspec.get("cascade_delete", False)),
                )
    return OrgSchema(objects=objects)


@cache
def default_schema() -> OrgSchema:
    """The schema shipped with sfrenew (``sfrenew/localorg/data/schema.yaml``)."""
    text = resources.files("sfrenew.localorg").joinpath("data/schema.yaml").read_text("utf-8")
    return build_schema(yaml.load(text, Loader=yaml.CSafeLoader))
