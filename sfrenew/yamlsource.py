"""YAML loading that remembers where every value came from.

Admin- and ops-edited YAML (config, mappings, jobs) must report every mistake at
once as ``FILE:LINE:COL: path: message``. This module loads YAML into plain Python
values plus a :class:`LocationIndex` that maps a value's path (``("rules", "uplift",
0, "rate")``) to its line and column, and turns a pydantic ``ValidationError`` into
those messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceError:
    """One problem in a YAML file, located."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class YamlSourceError(Exception):
    """One or more problems in YAML files; ``str()`` lists them all, one per line."""

    def __init__(self, errors: Sequence[SourceError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class LocationIndex:
    """Line/column (1-based) of every mapping key and sequence item in a document."""

    file: str
    _positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int]) -> tuple[int, int]:
        """The position of ``path``, or of its nearest located ancestor (1, 1 at worst)."""
        key = tuple(path)
        while key:
            if key in self._positions:
                return self._positions[key]
            key = key[:-1]
        return self._positions.get((), (1, 1))

    def error(self, path: Sequence[str | int], message: str) -> SourceError:
        """A SourceError at ``path``."""
        line, col = self.locate(path)
        return SourceError(self.file, line, col, dotted(path), message)


def dotted(path: Iterable[str | int]) -> str:
    """``("a", 0, "b")`` as ``a[0].b``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, path: PathKey, index: LocationIndex) -> None:
    index._positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            index._positions[child] = (key_node.start_mark.line + 1,
                                       key_node.start_mark.column + 1)
            _walk(value_node, child, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), index)


def _duplicate_keys(node: yaml.Node, file: str) -> list[SourceError]:
    errors: list[SourceError] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                errors.append(SourceError(file, key_node.start_mark.line + 1,
                                          key_node.start_mark.column + 1, "",
                                          f"duplicate key {key_node.value!r}"))
            seen.add(key_node.value)
            errors.extend(_duplicate_keys(value_node, file))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            errors.extend(_duplicate_keys(item, file))
    return errors


def loads(text: str, *, file: str) -> tuple[Any, LocationIndex]:
    """Parse YAML text; raise YamlSourceError on syntax errors or duplicate keys."""
    index = LocationIndex(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSourceError([SourceError(file, line, col, "", f"invalid YAML: {exc.problem}")]) \
            from None
    if node is None:
        return None, index
    dupes = _duplicate_keys(node, file)
    if dupes:
        raise YamlSourceError(dupes)
    _walk(node, (), index)
    return yaml.safe_load(text), index


def load(path: Path) -> tuple[Any, LocationIndex]:
    """Read and parse a YAML file (see :func:`loads`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlSourceError([SourceError(str(path), 1, 1, "", f"cannot read: {exc.strerror}")]) \
            from None
    return loads(text, file=str(path))


def validation_errors(exc: ValidationError, index: LocationIndex,
                      *, prefix: Sequence[str | int] = ()) -> list[SourceError]:
    """Every error of a pydantic ValidationError, located in the YAML it came from.

    ``prefix`` is the path of the validated value inside the document (e.g. ``("rules",)``
    when only the ``rules:`` section was validated).
    """
    out = []
    for err in exc.errors():
        loc = [*prefix, *(p for p in err["loc"] if isinstance(p, str | int))]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the reference for allowed keys)"
        out.append(index.error(loc, message))
    return out
