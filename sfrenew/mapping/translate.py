"""Records ↔ concept values, through a mapping.

The pull asks :func:`select_fields` what to SELECT per concept, and turns each record
into a :class:`ConceptRecord` (plain values keyed by concept field) with
:func:`read_records`; a value that does not fit its coercion is reported, per record
Id and field, and read as empty, so the rules can skip the record as bad data with a
reason rather than the run failing. The apply step turns the rules' desired values
into a Salesforce field dict with :func:`write_fields`, and the diff asks
:func:`ownership_lookup` who owns each written field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sfrenew.core.changeset import Ownership, OwnershipLookup
from sfrenew.mapping._concepts import (
    OWN_CONCEPTS,
    Coercion,
    Concept,
    WriteMode,
    concept_fields,
    write_mode,
)
from sfrenew.mapping._model import (
    ConceptMapping,
    LookupLines,
    MappingFile,
    OriginatingOpportunityLines,
    rolled_up,
)
from sfrenew.mapping.coerce import CoercionError, FieldShapes, converter, to_salesforce
from sfrenew.mapping.price_basis import (
    MULTIPLIER_FIELD,
    PRICED_FIELDS,
    BasisError,
    PriceBasis,
    annual_price,
)

_MISSING = object()
# Looked up once: an enum member read off its class costs a descriptor call each time.
_LINE, _CONTRACT = Concept.CONTRACT_LINE, Concept.CONTRACT


@dataclass(frozen=True)
class CoercionProblem:
    """A record value that does not fit its mapped coercion."""

    object: str
    record_id: str | None
    field: str  # the Salesforce field (or relationship path)
    concept_field: str
    message: str

    def __str__(self) -> str:
        return f"{self.object} {self.record_id or '(no Id)'}: {self.field}: {self.message}"


@dataclass(frozen=True)
class ConceptRecord:
    """One record as plain values keyed by concept field (unmapped fields are absent).

    ``contract_id`` is set on contract lines whose contract is known from the line
    itself; ``opportunity_id`` on lines found through an opportunity, and
    ``originating_opportunity_id`` on contracts linked by a lookup on the contract.
    """

    concept: Concept
    sf_id: str | None
    values: Mapping[str, Any]
    key: str | None = None
    contract_id: str | None = None
    opportunity_id: str | None = None
    originating_opportunity_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _section(mapping: MappingFile, concept: Concept) -> ConceptMapping:
    section = mapping.concept(concept)
    if section is None:
        raise KeyError(f"the mapping does not map {concept.value}")
    return section


def relationship_name(lookup_field: str) -> str:
    """The relationship name of a lookup: ``OpportunityId`` → ``Opportunity``,
    ``SBQQ__Contract__c`` → ``SBQQ__Contract__r``."""
    if lookup_field.endswith("__c"):
        return lookup_field[:-3] + "__r"
    return lookup_field[:-2] if lookup_field.endswith("Id") else lookup_field


def _link_fields(mapping: MappingFile, concept: Concept) -> list[str]:
    link = mapping.contract_line.lines
    if concept is Concept.CONTRACT_LINE:
        if isinstance(link, LookupLines):
            return [link.field]
        fields = [link.line_field]
        if link.opportunity_field is not None:
            fields.append(f"{relationship_name(link.line_field)}.{link.opportunity_field}")
        return fields
    if concept is Concept.CONTRACT and isinstance(link, OriginatingOpportunityLines) \
            and link.contract_field is not None:
        return [link.contract_field]
    return []


def select_fields(mapping: MappingFile, concept: Concept) -> list[str]:
    """The fields to SELECT for a concept: Id, the key, the links and every mapped field.

    The pull adds its own bookkeeping fields (``SystemModstamp``, ``IsDeleted``).
    """
    section = _section(mapping, concept)
    names = ["Id"]
    if section.key_field is not None:
        names.append(section.key_field)
    names += _link_fields(mapping, concept)
    names += [spec.field for spec in section.fields.values()]
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)  # SOQL rejects a field selected twice
    return list(seen.values())


def field_value(record: Mapping[str, Any], path: str) -> Any:
    """A field of a record, following relationship paths (case-insensitive).

    Accepts nested REST records (``{"Product2": {"Family": ...}}``) and flat ones keyed
    by the path itself (``{"Product2.Family": ...}``, as the gateway's reads give them).
    """
    if path in record:
        return record[path]
    flat = next((v for k, v in record.items() if str(k).lower() == path.lower()), _MISSING)
    if flat is not _MISSING:
        return flat
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        if part in current:
            current = current[part]
            continue
        lowered = {str(k).lower(): v for k, v in current.items()}
        current = lowered.get(part.lower())
    return current


def sf_type(shapes: FieldShapes | None, sobject: str, path: str) -> str | None:
    """The describe type of a mapped field (None when not described).

    A relationship path (``Product2.Family``) is not resolved: only direct fields of
    the object carry their type here.
    """
    if shapes is None or "." in path:
        return None
    shape = shapes.get((sobject.lower(), path.lower()))
    return shape.type if shape is not None else None


Reader = tuple[str, str, Any, Callable[[Any], Any]]


def _memoised(memo: dict[Any, Any], key: Any, shapes: FieldShapes | None,
              build: Callable[[], Any]) -> Any:
    """``build()``, worked out once per ``shapes`` (the org's describes, one object a
    run) and kept in a frozen mapping's ``memo``. The entry holds ``shapes`` itself, so
    a new describe (or one grown since) is never answered from an old one."""
    slot = (key, id(shapes))
    hit = memo.get(slot)
    size = len(shapes) if shapes is not None else 0
    if hit is not None and hit[0] is shapes and hit[1] == size:
        return hit[2]
    if len(memo) > 64:  # many describes seen (tests): start again rather than grow
        memo.clear()
    value = build()
    memo[slot] = (shapes, size, value)
    return value


def _readers(section: ConceptMapping, shapes: FieldShapes | None) -> tuple[Reader, ...]:
    """Each mapped field as (concept field, Salesforce field, default, converter), the
    converter chosen once: only a rate's depends on the field's type (see coerce)."""
    def build() -> tuple[Reader, ...]:
        return tuple((name, path, default, converter(coercion, sf_type=sf_type(
            shapes, section.object, path) if coercion is Coercion.PERCENT else None))
            for name, path, default, coercion in section.read_fields)
    readers: tuple[Reader, ...] = _memoised(section.memo, "readers", shapes, build)
    return readers


def read_record(mapping: MappingFile, concept: Concept, record: Mapping[str, Any],
                shapes: FieldShapes | None = None,
                ) -> tuple[ConceptRecord, list[CoercionProblem]]:
    """One Salesforce record as a ConceptRecord, and the values that did not fit.

    ``shapes`` (the org's describes) give each field's type: a rate read from a
    percent field is divided by 100, one read from a number field is not.
    """
    section = _section(mapping, concept)
    sf_id = field_value(record, "Id")
    values: dict[str, Any] = {}
    problems: list[CoercionProblem] = []
    for name, path, default, convert in _readers(section, shapes):
        raw = record[path] if path in record else field_value(record, path)
        if raw is None or raw == "":
            raw = default
            if raw is None or raw == "":
                values[name] = None
                continue
        try:
            values[name] = convert(raw)
        except CoercionError as exc:
            values[name] = None
            problems.append(CoercionProblem(section.object, sf_id, path, name, str(exc)))
    if concept is _LINE:
        problems += _annualise(section, sf_id, values)
    key = field_value(record, section.key_field) if section.key_field else None
    link = mapping.contract_line.lines
    links: dict[str, Any] = {}
    if concept is _LINE:
        if isinstance(link, LookupLines):
            links["contract_id"] = field_value(record, link.field)
        else:
            links["opportunity_id"] = field_value(record, link.line_field)
            if link.opportunity_field is not None:
                links["contract_id"] = field_value(record, _link_fields(mapping, concept)[1])
    elif concept is _CONTRACT and isinstance(link, OriginatingOpportunityLines) \
            and link.contract_field is not None:
        links["originating_opportunity_id"] = field_value(record, link.contract_field)
    return ConceptRecord(concept=concept, sf_id=sf_id, values=values,
                         key=None if key is None else str(key), raw=record,
                         **links), problems


def _annualise(section: ConceptMapping, sf_id: str | None,
               values: dict[str, Any]) -> list[CoercionProblem]:
    """Turn a line's mapped prices into annual ones, by each price field's basis.

    A bad multiplier is reported against its own field, and the term prices it would
    have converted are read as empty (the rules then skip the contract, saying so).
    """
    problems: list[CoercionProblem] = []
    for name in PRICED_FIELDS:
        spec = section.fields.get(name)
        if spec is None or spec.basis is None or spec.basis is PriceBasis.ANNUAL:
            continue
        try:
            values[name] = annual_price(values.get(name), basis=spec.basis,
                                        multiplier=values.get(MULTIPLIER_FIELD))
        except BasisError as exc:
            values[name] = None
            multiplier = section.fields[MULTIPLIER_FIELD].field
            problems.append(CoercionProblem(section.object, sf_id, multiplier,
                                            MULTIPLIER_FIELD, f"{exc}; {name} read as empty"))
    return problems


def read_records(mapping: MappingFile, concept: Concept,
                 records: Iterable[Mapping[str, Any]], shapes: FieldShapes | None = None,
                 ) -> tuple[list[ConceptRecord], list[CoercionProblem]]:
    """Many records (see :func:`read_record`); problems of all of them together."""
    out: list[ConceptRecord] = []
    problems: list[CoercionProblem] = []
    for record in records:
        converted, found = read_record(mapping, concept, record, shapes)
        out.append(converted)
        problems.extend(found)
    return out, problems


def lines_by_contract(contracts: Iterable[ConceptRecord], lines: Iterable[ConceptRecord],
                      ) -> dict[str, list[ConceptRecord]]:
    """Contract lines grouped by contract Id, whichever way the mapping links them."""
    by_opportunity: dict[str, list[str]] = {}
    for contract in contracts:
        if contract.originating_opportunity_id and contract.sf_id:
            by_opportunity.setdefault(contract.originating_opportunity_id, []).append(
                contract.sf_id)
    out: dict[str, list[ConceptRecord]] = {}
    for line in lines:
        if line.contract_id:
            targets = [line.contract_id]
        else:
            targets = by_opportunity.get(line.opportunity_id or "", [])
        for contract_id in targets:
            out.setdefault(contract_id, []).append(line)
    return out


def written_fields(mapping: MappingFile, concept: Concept) -> Mapping[str, str]:
    """Concept field → Salesforce field, for the mapped fields sfrenew writes.

    Fields the org rolls up itself (see :func:`rolled_up`) are left out.
    """
    def build() -> dict[str, str]:
        section = _section(mapping, concept)
        if write_mode(concept) is WriteMode.READ:
            return {}
        catalogue = concept_fields(concept)
        return {name: spec.field for name, spec in section.fields.items()
                if catalogue[name].written and not rolled_up(mapping, concept, name)}
    out: Mapping[str, str] = _memoised(mapping.memo, ("written", concept), None, build)
    return out


Writer = tuple[str, Coercion, str | None]  # Salesforce field, coercion, describe type


def _writers(mapping: MappingFile, concept: Concept,
             shapes: FieldShapes | None) -> Mapping[str, Writer | None]:
    """Every field sfrenew writes on the concept → how it is written (None: not mapped,
    or rolled up by the org, so dropped)."""
    def build() -> dict[str, Writer | None]:
        if write_mode(concept) is WriteMode.READ:
            return {}
        section = _section(mapping, concept)
        out: dict[str, Writer | None] = {}
        for name, known in concept_fields(concept).items():
            if not known.written:
                continue
            spec = section.fields.get(name)
            out[name] = None if spec is None or rolled_up(mapping, concept, name) else (
                spec.field, section.field_type(name),
                sf_type(shapes, section.object, spec.field))
        return out
    table: Mapping[str, Writer | None] = _memoised(mapping.memo, ("writers", concept),
                                                   shapes, build)
    return table


def write_fields(mapping: MappingFile, concept: Concept, values: Mapping[str, Any], *,
                 shapes: FieldShapes | None = None) -> dict[str, Any]:
    """Desired concept values as a Salesforce field dict (unmapped fields are dropped).

    ``shapes`` (the org's describes) say how each rate is stored (see ``read_record``).

    Raises KeyError for a name that is not a written field of the concept: that is a
    programming error in the caller, not an org difference.
    """
    table = _writers(mapping, concept, shapes)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in table:
            raise KeyError(f"{name!r} is not a field sfrenew writes on {concept.value}")
        how = table[name]
        if how is not None:
            out[how[0]] = to_salesforce(value, how[1], sf_type=how[2])
    return out


def key_field(mapping: MappingFile, concept: Concept) -> str:
    """The External ID field sfrenew upserts a written concept by."""
    key = _section(mapping, concept).key_field
    if key is None:
        raise KeyError(f"{concept.value} has no key field")
    return key


def ownership_lookup(mapping: MappingFile) -> OwnershipLookup:
    """``(object, field) -> Ownership`` for the diff; unmapped fields are rep_after_edit,
    and the fields of sfrenew's own records (metric and snapshot rows) enforce.

    Where two written concepts share an object (rare), the stricter ownership wins.
    """
    table: dict[tuple[str, str], Ownership] = {}
    strength = {Ownership.REP_AFTER_EDIT: 0, Ownership.CREATE_ONLY: 1, Ownership.ENFORCE: 2}
    for section in mapping.mapped():
        for name, sf_field in written_fields(mapping, section.concept).items():
            own = section.fields[name].ownership or (
                Ownership.ENFORCE if section.concept in OWN_CONCEPTS
                else Ownership.REP_AFTER_EDIT)
            slot = (section.object.lower(), sf_field.lower())
            if strength[own] >= strength[table.get(slot, Ownership.REP_AFTER_EDIT)]:
                table[slot] = own

    def lookup(obj: str, fname: str) -> Ownership:
        return table.get((obj.lower(), fname.lower()), Ownership.REP_AFTER_EDIT)

    return lookup
