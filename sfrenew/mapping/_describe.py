"""Phase 2: check a valid mapping against the org's describe, every finding at once.

Pure: the describe JSON (as ``GET /sobjects/{Type}/describe`` returns it) comes in,
findings come out. Fetching describes is the gateway's job; :func:`fetch_describes`
only needs something with a ``describe(sobject)`` method.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sfrenew.core.changeset import Ownership
from sfrenew.mapping._concepts import Coercion, Concept, WriteMode, concept_fields, write_mode
from sfrenew.mapping._loader import LoadedMapping, suggest
from sfrenew.mapping._model import (
    VALUE_TARGETS,
    ConceptMapping,
    LookupLines,
    OriginatingOpportunityLines,
    rolled_up,
)

Describe = Mapping[str, Any]

# Salesforce field types each coercion reads without loss.
_FITS: dict[Coercion, frozenset[str]] = {
    Coercion.STRING: frozenset({"string", "textarea", "picklist", "multipicklist", "email",
                                "phone", "url", "combobox", "id", "reference",
                                "encryptedstring"}),
    Coercion.PICKLIST: frozenset({"picklist", "string", "combobox"}),
    Coercion.DATE: frozenset({"date"}),
    Coercion.DECIMAL: frozenset({"double", "currency", "int", "percent", "long"}),
    Coercion.PERCENT: frozenset({"percent", "double"}),
    Coercion.INT: frozenset({"int", "long", "double"}),
    Coercion.BOOL: frozenset({"boolean"}),
    Coercion.ID: frozenset({"id", "reference", "string"}),
}



# Objects on which Salesforce forbids External ID fields (activities).
_NO_EXTERNAL_ID_OBJECTS = frozenset({"task", "event"})

class Level(StrEnum):
    """How bad a finding is: errors fail ``mappings check``, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem of a mapping against an org, located in the mapping file."""

    level: Level
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.level}: {self.path}: {self.message}"


class DescribeSource(Protocol):
    """Anything that can describe an sObject (the gateway; the local org in tests)."""

    def describe(self, sobject: str) -> dict[str, Any]:
        """The describe JSON of ``sobject``; raises when the org has no such object."""


@dataclass(frozen=True)
class _Field:
    """A resolved field: its describe entry and the object it belongs to."""

    object: str
    entry: Describe


class _Checker:
    def __init__(self, loaded: LoadedMapping, describes: Mapping[str, Describe],
                 object_names: Iterable[str]) -> None:
        self.loaded = loaded
        self.describes = {k.lower(): v for k, v in describes.items()}
        self.object_names = [*object_names, *(d.get("name", k) for k, d in describes.items())]
        self.findings: list[Finding] = []

    def add(self, level: Level, path: Sequence[str | int], message: str) -> None:
        line, col = self.loaded.locate(path)
        dotted = ".".join(str(p) for p in path)
        self.findings.append(Finding(level, self.loaded.file, line, col, dotted, message))

    def obj(self, name: str, path: Sequence[str | int]) -> Describe | None:
        found = self.describes.get(name.lower())
        if found is None:
            self.add(Level.ERROR, path, f"object {name!r} is not in the org"
                     f"{suggest(name, self.object_names)}")
        return found

    def field(self, obj: Describe, name: str, path: Sequence[str | int]) -> _Field | None:
        """Resolve a field or relationship path (``SBQQ__Product__r.Family``)."""
        *hops, last = name.split(".")
        current = obj
        for hop in hops:
            ref = next((f for f in current["fields"] if (f.get("relationshipName") or "").lower()
                        == hop.lower()), None)
            if ref is None:
                names = [f["relationshipName"] for f in current["fields"]
                         if f.get("relationshipName")]
                self.add(Level.ERROR, path, f"{current['name']} has no relationship {hop!r}"
                         f"{suggest(hop, names)}")
                return None
            target = self.describes.get((ref.get("referenceTo") or ["?"])[0].lower())
            if target is None:
                self.add(Level.WARNING, path, f"cannot check {name!r}: "
                         f"{ref['referenceTo'][0]} was not described")
                return None
            current = target
        by_lower = {f["name"].lower(): f for f in current["fields"]}
        entry = by_lower.get(last.lower())
        if entry is None:
            self.add(Level.ERROR, path, f"field {last!r} is not on {current['name']}"
                     f"{suggest(last, (f['name'] for f in current['fields']))}")
            return None
        if entry["name"] != last:
            self.add(Level.WARNING, path, f"the org spells it {entry['name']!r}")
        return _Field(current["name"], entry)

    def check(self) -> list[Finding]:
        model = self.loaded.model
        for section in model.mapped():
            obj = self.obj(section.object, (section.concept.value, "object"))
            if obj is not None:
                self.concept(section, obj)
        self.lines()
        self.values()
        return sorted(self.findings, key=lambda f: (f.line, f.column, f.level, f.message))

    def concept(self, section: ConceptMapping, obj: Describe) -> None:
        c = section.concept
        mode = write_mode(c)
        catalogue = concept_fields(c)
        for name, spec in section.fields.items():
            path = (c.value, "fields", name)
            resolved = self.field(obj, spec.field, (*path,))
            if resolved is None:
                continue
            entry = resolved.entry
            ctype = section.field_type(name)
            ftype = str(entry.get("type", ""))
            written = catalogue[name].written and mode is not WriteMode.READ
            fits = _FITS[ctype] | ({"datetime"} if ctype is Coercion.DATE and not written
                                   else set())  # a datetime's UTC date is read
            if ftype not in fits:
                self.add(Level.ERROR, path, f"{entry['name']} is a {ftype} field; type "
                         f"{ctype} does not fit")
            elif ctype is Coercion.DECIMAL and ftype == "percent":
                self.add(Level.WARNING, path, f"{entry['name']} is a percent field (5 means "
                         "5%); use type: percent to read it as 0.05")
            elif ctype is Coercion.PERCENT and ftype == "double":
                self.add(Level.WARNING, path, f"{entry['name']} is a number, not a percent "
                         "field: sfrenew reads and writes the rate itself there (0.05 for "
                         "5%, not 5)")
            elif ctype is Coercion.INT and ftype == "double" and entry.get("scale", 0):
                self.add(Level.WARNING, path, f"{entry['name']} has decimals; type int "
                         "rejects values that are not whole")
            if written and rolled_up(self.loaded.model, c, name):
                self.add(Level.WARNING, path, f"{entry['name']} is rolled up by Salesforce "
                         "from the line items (Σ TotalPrice) and API writes to it are "
                         "ignored: sfrenew does not write it; remove the mapping")
                written = False
            if written:
                self.writable(section, name, entry)
            self.reference(section, name, entry)
        self.key(section, obj)
        if mode is WriteMode.UPSERT:
            self.required_on_create(section, obj)

    def writable(self, section: ConceptMapping, name: str, entry: Describe) -> None:
        path = (section.concept.value, "fields", name)
        ownership = section.fields[name].ownership or Ownership.REP_AFTER_EDIT
        creates = write_mode(section.concept) is WriteMode.UPSERT
        if creates and not entry.get("createable"):
            self.add(Level.ERROR, path, f"{entry['name']} is not createable (read-only or "
                     "no field access for the integration user)")
        if ownership is not Ownership.CREATE_ONLY and not entry.get("updateable"):
            hint = "; mark it ownership: create_only" if creates and entry.get("createable") \
                else ""
            self.add(Level.ERROR, path, f"{entry['name']} is not updateable{hint}")

    def reference(self, section: ConceptMapping, name: str, entry: Describe) -> None:
        target_concept = concept_fields(section.concept)[name].references
        if target_concept is None or entry.get("type") != "reference":
            return
        target = self.loaded.model.concept(target_concept)
        if target is None:
            return
        to = [str(t).lower() for t in entry.get("referenceTo") or []]
        if target.object.lower() not in to:
            self.add(Level.ERROR, (section.concept.value, "fields", name),
                     f"{entry['name']} points to {', '.join(entry.get('referenceTo') or [])}, "
                     f"not to {target.object} ({target_concept.value})")

    def key(self, section: ConceptMapping, obj: Describe) -> None:
        if section.key_field is None:
            return
        path = (section.concept.value, "key_field")
        resolved = self.field(obj, section.key_field, path)
        if resolved is None:
            return
        entry = resolved.entry
        if obj["name"].lower() in _NO_EXTERNAL_ID_OBJECTS:
            # Salesforce does not allow External ID fields on activities: sfrenew creates
            # Tasks and finds them again by querying the key (the ledger makes it crash-safe).
            if entry.get("type") not in ("string", "textarea") or not entry.get("filterable", True):
                self.add(Level.ERROR, path, f"{entry['name']} must be a filterable text field: "
                         "sfrenew finds its tasks by querying it")
        elif not entry.get("externalId"):
            self.add(Level.ERROR, path, f"{entry['name']} is not an External ID field; "
                     "sfrenew upserts by it")
        elif not entry.get("unique"):
            self.add(Level.WARNING, path, f"{entry['name']} is not unique: two records with "
                     "one key make an upsert fail (300 multiple matches)")
        if not entry.get("createable"):
            self.add(Level.ERROR, path, f"{entry['name']} is not createable")

    def required_on_create(self, section: ConceptMapping, obj: Describe) -> None:
        mapped = {s.field.lower() for s in section.fields.values()}
        mapped.add((section.key_field or "").lower())
        for entry in obj["fields"]:
            if entry.get("createable") and not entry.get("nillable", True) \
                    and not entry.get("defaultedOnCreate") and entry.get("type") != "boolean" \
                    and entry["name"].lower() not in mapped:
                self.add(Level.WARNING, (section.concept.value, "fields"),
                         f"{obj['name']}.{entry['name']} is required on create but not mapped: "
                         "creates will fail with REQUIRED_FIELD_MISSING")

    def lines(self) -> None:
        model = self.loaded.model
        section = model.contract_line
        link = section.lines
        path: tuple[str, ...] = ("contract_line", "lines")
        contract_obj = self.describes.get(model.contract.object.lower())
        line_obj = self.describes.get(section.object.lower())
        if isinstance(link, LookupLines):
            if line_obj is not None:
                self.lookup(line_obj, link.field, (*path, "field"), model.contract.object)
        else:
            self.originating(link, line_obj=line_obj, contract_obj=contract_obj)

    def originating(self, link: OriginatingOpportunityLines, *, line_obj: Describe | None,
                    contract_obj: Describe | None) -> None:
        path = ("contract_line", "lines")
        contract = self.loaded.model.contract.object
        opp_obj = self.obj(link.opportunity_object, (*path, "opportunity_object"))
        if line_obj is not None:
            self.lookup(line_obj, link.line_field, (*path, "line_field"), link.opportunity_object)
        if link.contract_field is not None and contract_obj is not None:
            self.lookup(contract_obj, link.contract_field, (*path, "contract_field"),
                        link.opportunity_object)
        if link.opportunity_field is not None and opp_obj is not None:
            self.lookup(opp_obj, link.opportunity_field, (*path, "opportunity_field"), contract)

    def lookup(self, obj: Describe, name: str, path: Sequence[str], target: str) -> None:
        resolved = self.field(obj, name, path)
        if resolved is None:
            return
        to = [str(t) for t in resolved.entry.get("referenceTo") or []]
        if target.lower() not in (t.lower() for t in to):
            self.add(Level.ERROR, path, f"{resolved.entry['name']} points to "
                     f"{', '.join(to) or 'nothing'}, not to {target}")

    def values(self) -> None:
        model = self.loaded.model
        for section_name, targets in VALUE_TARGETS.items():
            values = getattr(model.values, section_name)
            for concept, fname in targets:
                self.picklist(values, section_name, concept, fname)

    def picklist(self, values: Any, section_name: str, concept: Concept, fname: str) -> None:
        section = self.loaded.model.concept(concept)
        if section is None or fname not in section.fields:
            return
        obj = self.describes.get(section.object.lower())
        if obj is None:
            return
        entry = {f["name"].lower(): f for f in obj["fields"]}.get(
            section.fields[fname].field.lower())
        if entry is None or entry.get("type") not in ("picklist", "multipicklist"):
            return
        options = {str(p["value"]): p for p in entry.get("picklistValues") or []}
        restricted = bool(entry.get("restrictedPicklist"))
        for key, value in values.model_dump().items():
            path = ("values", section_name, key)
            option = options.get(value)
            if option is None:
                level = Level.ERROR if restricted else Level.WARNING
                self.add(level, path, f"{value!r} is not a value of {obj['name']}."
                         f"{entry['name']}{suggest(value, options)}")
            elif not option.get("active", True):
                self.add(Level.ERROR, path, f"{value!r} is an inactive value of "
                         f"{obj['name']}.{entry['name']}")


def check_against_describe(mapping: LoadedMapping, describes: Mapping[str, Describe], *,
                           object_names: Iterable[str] = ()) -> list[Finding]:
    """Every error and warning of a mapping against the org's describes, in file order.

    ``describes`` maps object API names (any case) to their describe JSON; an object
    missing from it is reported as not in the org, with the closest of ``object_names``
    (e.g. from the global describe) or of the described objects as a suggestion.
    """
    return _Checker(mapping, describes, object_names).check()


def objects_needed(mapping: LoadedMapping) -> list[str]:
    """The objects a mapping names directly (relationship targets are found later)."""
    model = mapping.model
    names = [s.object for s in model.mapped()]
    link = model.contract_line.lines
    if isinstance(link, OriginatingOpportunityLines):
        names.append(link.opportunity_object)
    return list(dict.fromkeys(names))


def fetch_describes(mapping: LoadedMapping, source: DescribeSource, *,
                    missing: type[Exception] | tuple[type[Exception], ...] = LookupError,
                    ) -> dict[str, Describe]:
    """The describes phase 2 needs, following relationship paths one hop deep.

    ``missing`` is what ``source.describe`` raises for an object the org does not have
    (the gateway's ConfigurationError); such objects are left out, and the check reports
    them with a suggestion.
    """
    out: dict[str, Describe] = {}

    def get(name: str) -> None:
        if name.lower() in (k.lower() for k in out):
            return
        try:
            out[name] = source.describe(name)
        except missing:
            return

    for name in objects_needed(mapping):
        get(name)
    for section in mapping.model.mapped():
        obj = next((d for k, d in out.items() if k.lower() == section.object.lower()), None)
        if obj is None:
            continue
        for spec in section.fields.values():
            if "." not in spec.field:
                continue
            hop = spec.field.split(".")[0].lower()
            for f in obj["fields"]:
                if (f.get("relationshipName") or "").lower() == hop and f.get("referenceTo"):
                    get(str(f["referenceTo"][0]))
    return out
