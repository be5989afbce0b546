"""Admin field mappings: sfrenew's concepts mapped onto an org's objects and fields.

``load_mapping`` is phase 1 (the file on its own, every problem at once with
``file:line:col``); ``check_against_describe`` is phase 2 (the mapping against the
org's describe). ``sfrenew.mapping.translate`` turns records into concept values and
back.
"""

from sfrenew.mapping._concepts import (
    ACCOUNT_USER_FIELDS,
    OWN_CONCEPTS,
    Coercion,
    Concept,
    ConceptField,
    WriteMode,
    concept_fields,
    write_mode,
)
from sfrenew.mapping._describe import (
    DescribeSource,
    Finding,
    Level,
    check_against_describe,
    fetch_describes,
    objects_needed,
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
    "ACCOUNT_USER_FIELDS",
    "OWN_CONCEPTS",
    "Coercion",
    "Concept",
    "ConceptField",
    "ConceptMapping",
    "DescribeSource",
    "FieldSpec",
    "Finding",
    "Level",
    "LinkVia",
    "LoadedMapping",
    "LookupLines",
    "MappingFile",
    "OriginatingOpportunityLines",
    "PicklistValues",
    "WriteMode",
    "check_against_describe",
    "concept_fields",
    "fetch_describes",
    "load_mapping",
    "load_mappings",
    "objects_needed",
    "parse_mapping",
    "write_mode",
]
