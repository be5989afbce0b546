"""Admin field mappings: sfrenew's concepts mapped onto an org's objects and fields.

``load_mapping`` is phase 1 (the file on its own, every problem at once with
``file:line:col``); ``check_against_describe`` is phase 2 (the mapping against the
org's describe). ``sfrenew.mapping.translate`` turns records into concept values and
back.
"""

from sfrenew.mapping._concepts import (
    Coercion,
    Concept,
    ConceptField,
    WriteMode,
    concept_fields,
    write_mode,
)
from sfrenew.mapping._loader import LoadedMapping, load_mapping, load_mappings, parse_mapping
from sfrenew.mapping._model import (
    ConceptMapping,
    FieldSpec,
    LinkVia,
    LookupLines,
    MappingFile,
    OriginatingOpportunityLines,
    PicklistValues,
)

__all__ = [
    "Coercion",
    "Concept",
    "ConceptField",
    "ConceptMapping",
    "FieldSpec",
    "LinkVia",
    "LoadedMapping",
    "LookupLines",
    "MappingFile",
    "OriginatingOpportunityLines",
    "PicklistValues",
    "WriteMode",
    "concept_fields",
    "load_mapping",
    "load_mappings",
    "parse_mapping",
    "write_mode",
]
