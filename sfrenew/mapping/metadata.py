"""Salesforce metadata (source format) for the custom fields a mapping needs.

An admin deploys the output with the Salesforce CLI instead of clicking each field
together. Only unmanaged custom fields and objects are generated: a namespaced
name (``SBQQ__Quantity__c``) belongs to an installed package, which brings its own.
Types are inferred from the concept catalogue and the mapping's ``values:`` section,
so the output is the same with or without an org.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sfrenew.mapping._analytics_reports import AnalyticsFieldsMissing, with_analytics
from sfrenew.mapping._concepts import Coercion, Concept, WriteMode, concept_fields, write_mode
from sfrenew.mapping._metadata_model import (
    PERMISSION_SET,
    CustomFieldSpec,
    CustomObjectSpec,
    SfdxProject,
)
from sfrenew.mapping._metadata_xml import API_VERSION, NS, PACKAGE_DIR, field_xml, write_project
from sfrenew.mapping._model import (
    VALUE_TARGETS,
    ConceptMapping,
    MappingFile,
    OriginatingOpportunityLines,
)

__all__ = ["API_VERSION", "NS", "PACKAGE_DIR", "PERMISSION_SET", "AnalyticsFieldsMissing",
           "CustomFieldSpec", "CustomObjectSpec", "custom_fields_needed",
           "custom_objects_needed", "field_xml", "is_unmanaged_custom", "project_for",
           "write_metadata", "write_project"]

LONG_TEXT_LENGTH = 32768  # explanations are capped at 32,000 characters by the rules
# Numbers: (precision, scale, metadata type). Rates keep 4 decimals of a percent.
_NUMBERS = {Coercion.DECIMAL: (18, 6, "Number"), Coercion.PERCENT: (7, 4, "Percent"),
            Coercion.INT: (18, 0, "Number")}


def is_unmanaged_custom(name: str) -> bool:
    """True for ``Foo__c`` / ``Foo_Bar__c``; False for standard and namespaced names."""
    return name.endswith("__c") and name[:-3].count("__") == 0


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
        object=section.object, name=sf_name, type="Text", length=known.length or 255,
        label=_label(sf_name), description=f"sfrenew {concept.value}.{field}: {known.doc}",
        writable=known.written and write_mode(concept) is not WriteMode.READ,
        concept=concept.value, concept_field=field)
    values = _picklist_values(mapping, concept, field)
    target = mapping.concept(known.references) if known.references else None
    if coercion is Coercion.PICKLIST and values:
        return replace(text, type="Picklist", length=None, values=values)
    if coercion is Coercion.DECIMAL and known.money:
        precision, scale = known.digits or (18, 2)
        return replace(text, type="Currency", length=None, precision=precision, scale=scale)
    if coercion in _NUMBERS:
        precision, scale, kind = _NUMBERS[coercion]
        precision, scale = known.digits or (precision, scale)
        return replace(text, type=kind, length=None, precision=precision, scale=scale)
    if coercion is Coercion.BOOL:
        return replace(text, type="Checkbox", length=None)
    if coercion is Coercion.DATE:
        return replace(text, type="Date", length=None)
    if coercion is Coercion.ID and target is not None:
        return replace(text, type="Lookup", length=None, reference_to=target.object)
    if known.long_text:
        return replace(text, type="LongTextArea", length=LONG_TEXT_LENGTH)
    return text


def _key_spec(section: ConceptMapping, key_field: str) -> CustomFieldSpec:
    # Salesforce refuses External ID fields on activities: a Task key is plain text.
    activity = section.object.lower() in ("task", "event")
    # On an object of sfrenew's own (metric rows), the key joins several values.
    length = 255 if is_unmanaged_custom(section.object) else 80
    return CustomFieldSpec(
        object=section.object, name=key_field, type="Text", length=length,
        label=_label(key_field), external_id=not activity, writable=True,
        description=f"sfrenew's key for {section.concept.value} records "
                    + ("(queried to find them)" if activity else "(upserts)"))


def custom_fields_needed(mapping: MappingFile) -> list[CustomFieldSpec]:
    """Every unmanaged custom field the mapping names, keys and lookups included."""
    out: dict[tuple[str, str], CustomFieldSpec] = {}
    for section in mapping.mapped():
        if section.key_field and is_unmanaged_custom(section.key_field):
            out.setdefault((section.object.lower(), section.key_field.lower()),
                           _key_spec(section, section.key_field))
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


def custom_objects_needed(fields: Sequence[CustomFieldSpec],
                          mapping: MappingFile) -> list[CustomObjectSpec]:
    """Every unmanaged custom object the mapping or the fields name.

    An object sfrenew writes (any of its fields is written) is readable by everyone
    and writable only by the integration user's permission set (sharing ``Read``); one
    it only reads gets read access in the permission set, nothing more.
    """
    described: dict[str, str] = {m.object: f"sfrenew {m.concept.value} records"
                                 for m in mapping.mapped()}
    written: dict[str, bool] = {}
    for spec in fields:
        written[spec.object] = written.get(spec.object, False) or spec.writable
        if spec.concept:
            described.setdefault(spec.object, f"sfrenew {spec.concept} records")
    for m in mapping.mapped():
        written.setdefault(m.object, False)
    out = []
    for name in sorted(o for o in written if is_unmanaged_custom(o)):
        label = _label(name)
        initials = "".join(word[0] for word in label.split()).upper()
        out.append(CustomObjectSpec(
            name=name, label=label, plural_label=f"{label}s",
            description=described.get(name, f"{label} records"),
            name_format=f"{initials}-{{00000000}}",
            written=written[name]))
    return out


def project_for(mapping: MappingFile) -> SfdxProject:
    """The whole SFDX project of a mapping, as values: fields, objects, reports, dashboard.

    Raises :class:`AnalyticsFieldsMissing` when a mapped analytics concept lacks a field
    a report needs.
    """
    fields = sorted(custom_fields_needed(mapping), key=lambda s: (s.object, s.name))
    return with_analytics(SfdxProject(fields=tuple(fields),
                                      objects=tuple(custom_objects_needed(fields, mapping))),
                          mapping)


def write_metadata(mapping: MappingFile, out: Path) -> list[Path]:
    """Write an SFDX project with the fields, objects, a permission set and a manifest.

    Deploy with ``sf project deploy start --manifest manifest/package.xml`` from ``out``.
    """
    return write_project(project_for(mapping), out)
