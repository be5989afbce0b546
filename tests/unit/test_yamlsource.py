"""YAML loading with file:line:col locations."""

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from sfrenew.yamlsource import YamlSourceError, loads, validation_errors


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    rate: float


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[_Item]


TEXT = """\
items:
  - name: a
    rate: 0.05
  - name: b
    rate: lots
    colour: red
"""


def test_locates_every_pydantic_error() -> None:
    data, index = loads(TEXT, file="x.yaml")
    with pytest.raises(ValidationError) as exc:
        _Doc.model_validate(data)
    messages = sorted(str(e) for e in validation_errors(exc.value, index))
    assert messages[0].startswith("x.yaml:5:5: items[1].rate: ")
    assert messages[1].startswith("x.yaml:6:5: items[1].colour: unknown key")


def test_syntax_error_has_position() -> None:
    with pytest.raises(YamlSourceError) as exc:
        loads("a: [1, 2\nb: 3\n", file="bad.yaml")
    assert str(exc.value).startswith("bad.yaml:2:")


def test_duplicate_keys_are_errors() -> None:
    with pytest.raises(YamlSourceError) as exc:
        loads("a: 1\nb: 2\na: 3\n", file="d.yaml")
    assert str(exc.value) == "d.yaml:3:1: duplicate key 'a'"


def test_missing_path_falls_back_to_parent() -> None:
    _, index = loads("rules:\n  uplift: {}\n", file="c.yaml")
    assert index.locate(("rules", "uplift", "cap")) == (2, 3)
