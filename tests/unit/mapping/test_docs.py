"""docs/mappings.md stays true: its complete example loads, every concept field is listed."""

import re
from pathlib import Path

from sfrenew.mapping import Concept, concept_fields, parse_mapping

DOC = Path(__file__).parents[3] / "docs" / "mappings.md"


def test_complete_examples_in_the_docs_load() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
              if b.startswith("# yaml-language-server")]
    assert blocks, "the custom-objects example is missing"
    for block in blocks:
        parse_mapping(block, file="docs/mappings.md")


def test_every_concept_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for concept in Concept:
        assert f"### `{concept.value}`" in text
        for name in concept_fields(concept):
            assert f"| `{name}` |" in text, f"{concept.value}.{name} is not in docs/mappings.md"
