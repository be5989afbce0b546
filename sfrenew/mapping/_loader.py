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
from sfrenew.mapping._model import CONCEPT_CLASSES, ConceptMapping, MappingFile
from sfrenew.mapping.coerce import CoercionError, coerce
from sfrenew.yamlsource import LocationIndex, SourceError, YamlSourceError, load, loads

# Coercions that can stand in for one another (e.g. a percent field for a decimal rate).
_COMPATIBLE: tuple[frozenset[Coercion], ...] = (
    frozenset({Coercion.STRING, Coercion.PICKLIST, Coercion.ID}),
    frozenset({Coercion.DECIMAL, Coercion.PERCENT, Coercion.INT}),
    frozenset({Coercion.DATE}),
    frozenset({Coercion.BOOL}),
)


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


def _field_errors(section: ConceptMapping, index: LocationIndex) -> list[SourceError]:
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
        if spec.default is not None:
            try:
                coerce(spec.default, ctype)
            except CoercionError as exc:
                errors.append(index.error((*where, "default"), str(exc)))
        lower = spec.field.lower()
        if section.key_field is not None and lower == section.key_field.lower():
            errors.append(index.error((*where, "field"), f"{spec.field} is the key field; "
                                      "sfrenew sets it itself"))
        elif writes and lower in written_by | read_by or lower in written_by:
            other = written_by.get(lower) or read_by[lower]
            errors.append(index.error((*where, "field"), f"{spec.field} is already mapped "
                                      f"by {other!r}; a written field can be mapped once"))
        (written_by if writes else read_by).setdefault(lower, name)
    for name, known in catalogue.items():
        if known.required and name not in section.fields:
            errors.append(index.error((c, "fields"), f"missing required field {name!r} "
                                      f"({known.doc})"))
    return errors


def _section_errors(section: ConceptMapping, index: LocationIndex) -> list[SourceError]:
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
    return errors + _field_errors(section, index)


def semantic_errors(data: dict[str, Any], index: LocationIndex) -> list[SourceError]:
    """The semantic problems of every concept section that is valid on its own."""
    errors: list[SourceError] = []
    for concept in Concept:
        raw = data.get(concept.value)
        if not isinstance(raw, dict):
            continue
        try:
            section = CONCEPT_CLASSES[concept].model_validate(raw)
        except ValidationError:
            continue  # reported by the whole-file validation, located there
        errors.extend(_section_errors(section, index))
    return errors


def _pydantic_errors(exc: ValidationError, index: LocationIndex) -> list[SourceError]:
    out: list[SourceError] = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, str | int)]
        if err["type"] in ("literal_error", "enum") and err["loc"] and \
                str(err["loc"][-1]) in ("lookup", "originating_opportunity"):
            continue  # the discriminator error below already says it
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/mappings.md)"
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
