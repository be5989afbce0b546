"""YAML loading with file:line:col locations."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from sfrenew.yamlsource import (
    MAX_BYTES,
    MAX_DEPTH,
    YamlSourceError,
    load,
    loads,
    validation_errors,
)


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


# --- limits: bad input is reported at file:line:col, in bounded time and memory --------

_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n"
    for i in range(8))  # 9 levels of 9 aliases: 9**9 = 387,420,489 values expanded


@pytest.mark.parametrize(("text", "where", "words"), [
    ("a: 1\nb: x\x00y\n", "f.yaml:2:5", "character U+0000 is not allowed"),
    ("a: \x07\n", "f.yaml:1:4", "character U+0007 is not allowed"),
    # 5,000 nested lists: PyYAML's composer recursed until RecursionError.
    ("a: " + "[" * 5000 + "]" * 5000, "f.yaml:1:", f"nested more than {MAX_DEPTH} levels"),
    ("".join("  " * i + "-\n" for i in range(200)), "f.yaml:65:", "nested more than"),
    # The 9×9 alias bomb ran for over 60 s at 88 MB before; now stopped at MAX_NODES.
    (_BOMB, "f.yaml:", "once its aliases (*name) are expanded"),
    ("a: 2024-13-45\n", "f.yaml:1:1", "invalid YAML value: month must be in 1..12"),
    ("? [a]\n: b\n", "f.yaml:1:1", "invalid YAML value"),
    ("a: !!python/object:os.system x\n", "f.yaml:1:4", "could not determine a constructor"),
])
def test_bad_input_is_located_not_a_traceback(text: str, where: str, words: str) -> None:
    with pytest.raises(YamlSourceError) as exc:
        loads(text, file="f.yaml")
    assert str(exc.value).startswith(where), str(exc.value)
    assert words in str(exc.value)


def test_a_few_aliases_are_fine() -> None:
    data, _ = loads("base: &b {rate: 0.05}\nx: *b\ny: *b\n", file="f.yaml")
    assert data["x"] == data["y"] == {"rate": 0.05}


@pytest.mark.parametrize(("raw", "where", "words"), [
    (b"a: 1\nb: caf\xe9\n", "2:7", "not UTF-8 (byte 0xe9)"),
    (b"a: " + b"x" * (MAX_BYTES + 1), "1:1", "larger than"),
])
def test_files_that_are_not_yaml_text(tmp_path: Path, raw: bytes, where: str,
                                      words: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes(raw)
    with pytest.raises(YamlSourceError) as exc:
        load(path)
    assert str(exc.value).startswith(f"{path}:{where}: ")
    assert words in str(exc.value)
