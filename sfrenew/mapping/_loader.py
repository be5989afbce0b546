"""Load a mapping file strictly and report every problem in it at once.

Phase 1 of the check: YAML syntax, the pydantic model (shapes, unknown keys) and the
semantic rules pydantic cannot express (they need the concept catalogue or several
values at once). Each concept section is also validated on its own so a mistake in one
section does not hide the semantic mistakes of the others.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sfrenew.mapping._concepts import (
    Coercion,
    Concept,
    WriteMode,
    concept_fields,
    write_mode,
)
from sfrenew.mapping._model import (
    CONCEPT_CLASSES,
    ConceptMapping,
    LinkVia,
    MappingFile,
    OriginatingOpportunityLines,
)
from sfrenew.mapping.coerce import CoercionError, coerce
from sfrenew.mapping.price_basis import MULTIPLIER_FIELD, PRICED_FIELDS, PriceBasis
from sfrenew.yamlsource import (
    LocationIndex,
    SourceError,
    YamlSourceError,
    allowed_keys,
    load,
    loads,
    unknown_key_message,
)

# Coercions that can stand in for one another (e.g. a percent field for a decimal rate).
_COMPATIBLE: tuple[frozenset[Coercion], ...] = (
    frozenset({Coercion.STRING, Coercion.PICKLIST, Coercion.ID}),
    frozenset({Coercion.DECIMAL, Coercion.PERCENT, Coercion.INT}),
    frozenset({Coercion.DATE}),
    frozenset({Coercion.BOOL}),
)


_LINK_TAGS = frozenset(tag.value for tag in LinkVia)


@dataclass(frozen=True)
class LoadedMapping:
    """A valid mapping file, with where each of its values is in the file."""

    file: str
    model: MappingFile
    index: LocationIndex

    def locate(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Line and column of a value of the file (or its nearest ancestor)."""
        return self.index.locate(path)


def suggest(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest candidate, case-insensitively, or ''."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _compatible(a: Coercion, b: Coercion) -> bool:
    return any(a in group and b in group for group in _COMPATIBLE)


def _field_errors(section: ConceptMapping, index: LocationIndex, *,
                  dropped: set[str]) -> list[SourceError]:
    concept = section.concept
    catalogue = concept_fields(concept)
    mode = write_mode(concept)
    c = concept.value
    errors: list[SourceError] = []
    written_by: dict[str, str] = {}
    read_by: dict[str, str] = {}
    for name, spec in section.fields.items():
        where = (c, "fields", name)
        known = catalogue.get(name)
        if known is None:
            errors.append(index.error(where, f"unknown field for {c}"
                                             f"{suggest(name, catalogue)}"))
            continue
        ctype = spec.type or known.coercion
        if not _compatible(ctype, known.coercion):
            errors.append(index.error((*where, "type"), f"{name} is a {known.coercion} for "
                                      f"the rules; type {ctype} does not fit"))
        writes = known.written and mode is not WriteMode.READ
        if spec.ownership is not None and not writes:
            why = f"{c} is only read" if mode is WriteMode.READ else f"{name} is only read"
            errors.append(index.error((*where, "ownership"),
                                      f"ownership applies only to fields sfrenew writes; {why}"))
        if writes and "." in spec.field:
            errors.append(index.error((*where, "field"), "sfrenew writes this field, so it "
                                      f"must be a field of {section.object} itself, not a "
                                      "relationship path"))
        errors.extend(_basis_errors(section, name, index))
        if spec.default is not None:
            try:
                coerce(spec.default, ctype)
            except CoercionError as exc:
                errors.append(index.error((*where, "default"), str(exc)))
        lower = spec.field.lower()
        if section.key_field is not None and lower == section.key_field.lower():
            errors.append(index.error((*where, "field"), f"{spec.field} is the key field; "
                                      "sfrenew sets it itself"))
        elif (writes and lower in written_by | read_by) or lower in written_by:
            other = written_by.get(lower) or read_by[lower]
            errors.append(index.error((*where, "field"), f"{spec.field} is already mapped "
                                      f"by {other!r}; a written field can be mapped once"))
        (written_by if writes else read_by).setdefault(lower, name)
    for name, known in catalogue.items():
        if known.required and name not in section.fields and name not in dropped:
            errors.append(index.error((c, "fields"), f"missing required field {name!r} "
                                      f"({known.doc})"))
    return errors


def _basis_errors(section: ConceptMapping, name: str,
                  index: LocationIndex) -> list[SourceError]:
    """A price basis is declared on a contract line's prices only, and ``term`` needs
    the multiplier that turns a term price into an annual one."""
    basis = section.fields[name].basis
    if basis is None:
        return []
    where = (section.concept.value, "fields", name, "basis")
    if section.concept is not Concept.CONTRACT_LINE or name not in PRICED_FIELDS:
        allowed = " and ".join(sorted(PRICED_FIELDS))
        return [index.error(where, f"basis applies only to contract_line {allowed} "
                                   "(the period a price covers)")]
    if basis is PriceBasis.TERM and MULTIPLIER_FIELD not in section.fields:
        return [index.error(where, f"basis term divides the price by the line's prorate "
                                   f"multiplier: map contract_line.{MULTIPLIER_FIELD} too "
                                   "(CPQ: SBQQ__ProrateMultiplier__c)")]
    return []


def _section_errors(section: ConceptMapping, index: LocationIndex, *,
                    dropped: set[str]) -> list[SourceError]:
    concept = section.concept
    c = concept.value
    mode = write_mode(concept)
    errors: list[SourceError] = []
    if mode is WriteMode.UPSERT and section.key_field is None:
        errors.append(index.error((c,), "key_field is required: sfrenew upserts "
                                  f"{c} records by an External ID field (e.g. Sfrenew_Key__c)"))
    if mode is not WriteMode.UPSERT and section.key_field is not None:
        why = "updated by Id" if mode is WriteMode.UPDATE else "only read"
        errors.append(index.error((c, "key_field"), f"{c} records are {why}; "
                                  "key_field applies only to records sfrenew creates"))
    return errors + _field_errors(section, index, dropped=dropped)


def _lenient(concept: Concept, raw: dict[str, Any]) -> tuple[ConceptMapping | None, set[str]]:
    """The section validated without the entries pydantic rejects, and the dropped fields.

    So a typo in one key of a section does not hide that section's semantic mistakes.
    """
    data = dict(raw)
    dropped: set[str] = set()
    for _ in range(3):  # a second pass catches what the first removal uncovered
        try:
            return CONCEPT_CLASSES[concept].model_validate(data), dropped
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                if not loc:
                    return None, dropped
                if loc[0] == "fields" and len(loc) > 1 and isinstance(data.get("fields"), dict):
                    data["fields"] = {k: v for k, v in data["fields"].items() if k != loc[1]}
                    dropped.add(str(loc[1]))
                elif loc[0] in ("object", "lines") or err["type"] == "missing":
                    return None, dropped  # nothing sensible to check without them
                else:
                    data.pop(str(loc[0]), None)
    return None, dropped


def semantic_errors(data: dict[str, Any], index: LocationIndex) -> list[SourceError]:
    """The semantic problems of every concept section that validates on its own."""
    errors: list[SourceError] = []
    for concept in Concept:
        raw = data.get(concept.value)
        if not isinstance(raw, dict):
            continue
        section, dropped = _lenient(concept, raw)
        if section is not None:
            errors.extend(_section_errors(section, index, dropped=dropped))
    errors.extend(_link_errors(data, index))
    return errors


def _link_errors(data: dict[str, Any], index: LocationIndex) -> list[SourceError]:
    """An opportunity lookup cannot both find a contract's lines and name what it renews.

    Otherwise a renewal opportunity would look like the opportunity the contract came
    from, and its own line items would be read as the contract's lines.
    """
    try:
        lines = CONCEPT_CLASSES[Concept.CONTRACT_LINE].model_validate(
            data.get("contract_line"))
        opp = CONCEPT_CLASSES[Concept.RENEWAL_OPPORTUNITY].model_validate(
            data.get("renewal_opportunity"))
    except ValidationError:
        return []
    link = getattr(lines, "lines", None)
    renewed = opp.fields.get("renewed_contract")
    if not isinstance(link, OriginatingOpportunityLines) or link.opportunity_field is None \
            or renewed is None or link.opportunity_object.lower() != opp.object.lower():
        return []
    if renewed.field.lower() != link.opportunity_field.lower():
        return []
    return [index.error(("renewal_opportunity", "fields", "renewed_contract", "field"),
                        f"{renewed.field} also links contracts to their originating "
                        "opportunity (contract_line.lines); map renewed_contract to another "
                        "field or leave it unmapped")]


def _pydantic_errors(exc: ValidationError, index: LocationIndex) -> list[SourceError]:
    out: list[SourceError] = []
    for err in exc.errors():
        raw = [p for p in err["loc"] if isinstance(p, str | int)]
        # The tag pydantic puts in the path of a discriminated union is no key of the file.
        loc = [p for i, p in enumerate(raw)
               if not (i and raw[i - 1] == "lines" and p in _LINK_TAGS)]
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = unknown_key_message(str(loc[-1]) if loc else "",
                                          allowed_keys(MappingFile, loc) if loc else [],
                                          reference="docs/mappings.md")
        elif err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] == "union_tag_invalid":
            loc.append("via")
            message = f"via must be 'lookup' or 'originating_opportunity', not " \
                      f"{err['ctx']['tag']!r}"
        elif err["type"] == "union_tag_not_found":
            message = "via is required: 'lookup' or 'originating_opportunity'"
        out.append(index.error(loc, message))
    return out


def _order(errors: Iterable[SourceError]) -> list[SourceError]:
    unique = {str(e): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.file, e.line, e.column, e.path))


def parse_mapping(text: str, *, file: str) -> LoadedMapping:
    """Validate mapping YAML text; raise YamlSourceError listing every problem."""
    data, index = loads(text, file=file)
    return _validate(data, index)


def load_mapping(path: Path) -> LoadedMapping:
    """Load and validate one mapping file; raise YamlSourceError listing every problem."""
    data, index = load(path)
    return _validate(data, index)


def load_mappings(paths: Sequence[Path]) -> list[LoadedMapping]:
    """Load several mapping files; one YamlSourceError lists the problems of all."""
    loaded: list[LoadedMapping] = []
    errors: list[SourceError] = []
    for path in paths:
        try:
            loaded.append(load_mapping(path))
        except YamlSourceError as exc:
            errors.extend(exc.errors)
    if errors:
        raise YamlSourceError(errors)
    return loaded


def _validate(data: Any, index: LocationIndex) -> LoadedMapping:
    if not isinstance(data, dict):
        raise YamlSourceError([index.error((), "a mapping file is a YAML mapping of concepts "
                                                "(account:, contract:, ...)")])
    errors: list[SourceError] = []
    model: MappingFile | None = None
    try:
        model = MappingFile.model_validate(data)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(exc, index))
    errors.extend(semantic_errors(data, index))
    if errors or model is None:
        raise YamlSourceError(_order(errors))
    return LoadedMapping(file=index.file, model=model, index=index)
