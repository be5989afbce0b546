"""Salesforce metadata (source format) for the custom fields a mapping needs.

An admin deploys the output with the Salesforce CLI instead of clicking each field
together. Only unmanaged custom fields and objects are generated: a namespaced
name (``SBQQ__Quantity__c``) belongs to an installed package, which brings its own.
Types are inferred from the concept catalogue and the mapping's ``values:`` section,
so the output is the same with or without an org.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from sfrenew.mapping._concepts import (
    OWN_CONCEPTS,
    Coercion,
    Concept,
    WriteMode,
    concept_fields,
    write_mode,
)
from sfrenew.mapping._model import (
    VALUE_TARGETS,
    ConceptMapping,
    MappingFile,
    OriginatingOpportunityLines,
)

NS = "http://soap.sforce.com/2006/04/metadata"
API_VERSION = "62.0"
PERMISSION_SET = "Sfrenew_Integration"
PACKAGE_DIR = Path("force-app/main/default")
LONG_TEXT_LENGTH = 32768  # explanations are capped at 32,000 characters by the rules
# Numbers: (precision, scale, metadata type). Rates keep 4 decimals of a percent.
_NUMBERS = {Coercion.DECIMAL: (18, 6, "Number"), Coercion.PERCENT: (7, 4, "Percent"),
            Coercion.INT: (18, 0, "Number")}


def is_unmanaged_custom(name: str) -> bool:
    """True for ``Foo__c`` / ``Foo_Bar__c``; False for standard and namespaced names."""
    return name.endswith("__c") and name[:-3].count("__") == 0


@dataclass(frozen=True)
class CustomFieldSpec:
    """One custom field to create, in metadata terms."""

    object: str
    name: str
    type: str  # metadata type: Text, LongTextArea, Number, Percent, Checkbox, ...
    label: str
    description: str
    writable: bool
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    external_id: bool = False
    values: tuple[str, ...] = ()
    reference_to: str | None = None


def _label(name: str) -> str:
    return name.removesuffix("__c").replace("_", " ")[:40]


def _picklist_values(mapping: MappingFile, concept: Concept, field: str) -> tuple[str, ...]:
    for section, targets in VALUE_TARGETS.items():
        if (concept, field) in targets:
            return tuple(getattr(mapping.values, section).model_dump().values())
    return ()


def _spec(mapping: MappingFile, section: ConceptMapping, field: str) -> CustomFieldSpec:
    concept = section.concept
    known = concept_fields(concept)[field]
    sf_name = section.fields[field].field
    coercion = section.field_type(field)
    text = CustomFieldSpec(
        object=section.object, name=sf_name, type="Text", length=255, label=_label(sf_name),
        description=f"sfrenew {concept.value}.{field}: {known.doc}",
        writable=known.written and write_mode(concept) is not WriteMode.READ)
    values = _picklist_values(mapping, concept, field)
    target = mapping.concept(known.references) if known.references else None
    if coercion is Coercion.PICKLIST and values:
        return replace(text, type="Picklist", length=None, values=values)
    if coercion is Coercion.DECIMAL and known.money:
        return replace(text, type="Currency", length=None, precision=18, scale=2)
    if coercion in _NUMBERS:
        precision, scale, kind = _NUMBERS[coercion]
        if known.digits is not None and kind == "Number":  # the catalogue's own size
            precision, scale = known.digits
        return replace(text, type=kind, length=None, precision=precision, scale=scale)
    if coercion is Coercion.BOOL:
        return replace(text, type="Checkbox", length=None)
    if coercion is Coercion.DATE:
        return replace(text, type="Date", length=None)
    if coercion is Coercion.ID and target is not None:
        return replace(text, type="Lookup", length=None, reference_to=target.object)
    if known.long_text:
        return replace(text, type="LongTextArea", length=LONG_TEXT_LENGTH)
    return replace(text, length=known.length) if known.length else text


def custom_fields_needed(mapping: MappingFile) -> list[CustomFieldSpec]:
    """Every unmanaged custom field the mapping names, keys and lookups included."""
    out: dict[tuple[str, str], CustomFieldSpec] = {}
    for section in mapping.mapped():
        if section.key_field and is_unmanaged_custom(section.key_field):
            # Salesforce refuses External ID fields on activities: a Task key is plain text.
            activity = section.object.lower() in ("task", "event")
            out.setdefault((section.object.lower(), section.key_field.lower()), CustomFieldSpec(
                object=section.object, name=section.key_field, type="Text",
                # sfrenew's own objects: Text(255), as reports built on them expect
                length=255 if section.concept in OWN_CONCEPTS else 80,
                label=_label(section.key_field), external_id=not activity, writable=True,
                description=f"sfrenew's key for {section.concept.value} records "
                            + ("(queried to find them)" if activity else "(upserts)")))
        for name, spec in section.fields.items():
            if "." in spec.field or not is_unmanaged_custom(spec.field):
                continue
            out.setdefault((section.object.lower(), spec.field.lower()),
                           _spec(mapping, section, name))
    link = mapping.contract_line.lines
    lookups = [(mapping.contract_line.object, getattr(link, "field", None),
                mapping.contract.object)]
    if isinstance(link, OriginatingOpportunityLines):
        lookups = [(mapping.contract.object, link.contract_field, link.opportunity_object),
                   (link.opportunity_object, link.opportunity_field, mapping.contract.object),
                   (mapping.contract_line.object, link.line_field, link.opportunity_object)]
    for obj, field, target in lookups:
        if field and is_unmanaged_custom(field):
            out.setdefault((obj.lower(), field.lower()), CustomFieldSpec(
                object=obj, name=field, type="Lookup", reference_to=target, writable=False,
                label=_label(field), description="sfrenew: links contract lines to contracts"))
    return sorted(out.values(), key=lambda s: (s.object, s.name))


def _el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, {"xmlns": NS})


def _write(root: ET.Element, path: Path) -> Path:
    ET.indent(root, space="    ")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ET.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n", encoding="utf-8")
    return path


def field_xml(spec: CustomFieldSpec) -> ET.Element:
    """The ``CustomField`` element of one field."""
    root = _root("CustomField")
    _el(root, "fullName", spec.name)
    _el(root, "description", spec.description)
    if spec.external_id:
        _el(root, "externalId", "true")
    _el(root, "label", spec.label)
    if spec.length is not None:
        _el(root, "length", str(spec.length))
    if spec.precision is not None:
        _el(root, "precision", str(spec.precision))
        _el(root, "scale", str(spec.scale or 0))
    if spec.type == "Checkbox":
        _el(root, "defaultValue", "false")
    if spec.type == "Lookup":
        _el(root, "deleteConstraint", "SetNull")
        _el(root, "referenceTo", spec.reference_to)
        _el(root, "relationshipName", spec.object.removesuffix("__c") + "s")
    if spec.type in ("Text", "LongTextArea", "Number", "Percent", "Date", "Picklist", "Lookup"):
        _el(root, "required", "false")
    _el(root, "type", spec.type)
    if spec.external_id:
        _el(root, "unique", "true")
        _el(root, "caseSensitive", "false")
    if spec.type == "LongTextArea":
        _el(root, "visibleLines", "5")
    if spec.values:
        vs = _el(root, "valueSet")
        _el(vs, "restricted", "true")
        definition = _el(vs, "valueSetDefinition")
        _el(definition, "sorted", "false")
        for value in spec.values:
            item = _el(definition, "value")
            _el(item, "fullName", value)
            _el(item, "default", "false")
            _el(item, "label", value)
    return root


def _object_xml(name: str) -> ET.Element:
    root = _root("CustomObject")
    _el(root, "deploymentStatus", "Deployed")
    _el(root, "label", _label(name))
    name_field = _el(root, "nameField")
    _el(name_field, "label", f"{_label(name)} Name")
    _el(name_field, "type", "Text")
    _el(root, "pluralLabel", f"{_label(name)}s")
    _el(root, "sharingModel", "ReadWrite")
    return root


def write_metadata(mapping: MappingFile, out: Path) -> list[Path]:
    """Write an SFDX project with the fields, objects, a permission set and a manifest.

    Deploy with ``sf project deploy start --manifest manifest/package.xml`` from ``out``.
    """
    specs = custom_fields_needed(mapping)
    objects = sorted({s.object for s in specs if is_unmanaged_custom(s.object)}
                     | {s.object for s in mapping.mapped() if is_unmanaged_custom(s.object)})
    base = out / PACKAGE_DIR
    written = [_write(field_xml(s), base / "objects" / s.object / "fields" /
                      f"{s.name}.field-meta.xml") for s in specs]
    written += [_write(_object_xml(o), base / "objects" / o / f"{o}.object-meta.xml")
                for o in objects]
    perm = _root("PermissionSet")
    _el(perm, "description", "Field access for the sfrenew integration user")
    for spec in specs:
        fp = _el(perm, "fieldPermissions")
        _el(fp, "editable", "true" if spec.writable or spec.external_id else "false")
        _el(fp, "field", f"{spec.object}.{spec.name}")
        _el(fp, "readable", "true")
    _el(perm, "label", "sfrenew Integration")
    for obj in objects:
        op = _el(perm, "objectPermissions")
        for flag in ("allowCreate", "allowDelete", "allowEdit", "allowRead"):
            _el(op, flag, "true" if flag in ("allowRead", "allowEdit", "allowCreate")
                else "false")
        _el(op, "modifyAllRecords", "false")
        _el(op, "object", obj)
        _el(op, "viewAllRecords", "false")
    written.append(_write(perm, base / "permissionsets" /
                          f"{PERMISSION_SET}.permissionset-meta.xml"))
    package = _root("Package")
    for kind, members in (("CustomField", [f"{s.object}.{s.name}" for s in specs]),
                          ("CustomObject", objects), ("PermissionSet", [PERMISSION_SET])):
        if not members:
            continue
        types = _el(package, "types")
        for member in members:
            _el(types, "members", member)
        _el(types, "name", kind)
    _el(package, "version", API_VERSION)
    written.append(_write(package, out / "manifest" / "package.xml"))
    project = out / "sfdx-project.json"
    project.write_text('{\n  "packageDirectories": [{"path": "force-app", "default": true}],\n'
                       f'  "sourceApiVersion": "{API_VERSION}"\n}}\n', encoding="utf-8")
    written.append(project)
    return written
