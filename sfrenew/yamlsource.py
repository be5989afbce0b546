"""YAML loading that remembers where every value came from.

Admin- and ops-edited YAML (config, mappings, jobs) must report every mistake at
once as ``FILE:LINE:COL: path: message``. This module loads YAML into plain Python
values plus a :class:`LocationIndex` that maps a value's path (``("rules", "uplift",
0, "rate")``) to its line and column, and turns a pydantic ``ValidationError`` into
those messages.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

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


# Limits on what an admin's YAML may be, so a mistake (or a hostile file) is reported
# in bounded time and memory instead of exhausting them. Real configs, mappings and jobs
# are a few kilobytes, nested a dozen levels, with a handful of aliases.
MAX_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000  # values in the document with every alias expanded (alias bombs)


def _at(file: str, mark: Any, message: str) -> YamlSourceError:
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return YamlSourceError([SourceError(file, line, col, "", message)])


def _check_shape(text: str, file: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH or larger than MAX_NODES values
    once its aliases are expanded, before anything recursive reads it.

    The event stream is parsed without recursion; each anchored value's expanded size
    is remembered so an alias counts for everything it stands for.
    """
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # [anchor, values so far] per open collection
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            count = sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > MAX_DEPTH:
                raise _at(file, event.start_mark,
                          f"nested more than {MAX_DEPTH} levels deep; flatten the document")
            stack.append([event.anchor, 1])
            continue
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, count = stack.pop()
            if anchor is not None:
                sizes[anchor] = count
            stack[-1][1] += count
            continue
        elif isinstance(event, yaml.ScalarEvent):
            count = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        stack[-1][1] += count
        total = stack[0][1] + sum(frame[1] for frame in stack[1:])
        if total > MAX_NODES:
            raise _at(file, event.start_mark,
                      f"more than {MAX_NODES:,} values once its aliases (*name) are "
                      f"expanded; use fewer aliases or a smaller document")


def _unreadable_char(text: str, file: str, exc: yaml.reader.ReaderError) -> YamlSourceError:
    before = text[:exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return YamlSourceError([SourceError(
        file, line, col, "", f"character U+{code:04X} "
        "is not allowed in YAML; remove it (control characters such as NUL or BEL are "
        "often pasted by accident)")])


def loads(text: str, *, file: str) -> tuple[Any, LocationIndex]:
    """Parse YAML text; raise YamlSourceError on syntax errors, duplicate keys, control
    characters, and documents beyond the loader's limits (size, depth, alias expansion)."""
    index = LocationIndex(file)
    if len(text) > MAX_BYTES:
        raise YamlSourceError([SourceError(
            file, 1, 1, "", f"the file is larger than {MAX_BYTES:,} characters; is it the "
            f"right file?")])
    try:
        _check_shape(text, file)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None, index
        dupes = _duplicate_keys(node, file)
        if dupes:
            raise YamlSourceError(dupes)
        _walk(node, (), index)
        return yaml.safe_load(text), index
    except yaml.reader.ReaderError as exc:
        raise _unreadable_char(text, file, exc) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _at(file, mark, f"invalid YAML: {exc.problem or exc.context}") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # A scalar YAML cannot build (a date like 2024-13-45, bad base64 in !!binary).
        raise _at(file, None, f"invalid YAML value: {exc}") from None


def load(path: Path) -> tuple[Any, LocationIndex]:
    """Read and parse a UTF-8 YAML file (see :func:`loads`)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise YamlSourceError([SourceError(str(path), 1, 1, "", f"cannot read: {exc.strerror}")]) \
            from None
    if len(raw) > MAX_BYTES:
        raise YamlSourceError([SourceError(
            str(path), 1, 1, "", f"the file is larger than {MAX_BYTES:,} bytes; is it the "
            f"right file?")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise YamlSourceError([SourceError(
            str(path), line, col, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the "
            f"file as UTF-8")]) from None
    return loads(text, file=str(path))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (``X | None``, ``list[X]``,
    ``dict[str, X]``, ``Annotated[X, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed where ``loc`` (a pydantic error location, the unknown key last)
    points inside ``model``; empty when the walk cannot tell."""
    models = [model]
    for part in loc[:-1]:
        nxt: list[type[BaseModel]] = []
        for current in models:
            if isinstance(part, str) and part in current.model_fields:
                nxt.extend(_models_in(current.model_fields[part].annotation))
            elif part not in current.model_fields:
                nxt.append(current)  # a list index or dict key: same model below
        models = list(dict.fromkeys(nxt))
        if not models:
            return []
    keys: list[str] = []
    for current in models:
        for name, info in current.model_fields.items():
            keys.append(info.alias or name)
    return sorted(set(keys))


def unknown_key_message(key: str, allowed: Sequence[str], *, reference: str) -> str:
    """"unknown key" with the closest allowed spelling when there is one (difflib)."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (check the spelling; see {reference})"


def validation_errors(exc: ValidationError, index: LocationIndex,
                      *, prefix: Sequence[str | int] = (),
                      model: type[BaseModel] | None = None,
                      reference: str = "the reference for allowed keys") -> list[SourceError]:
    """Every error of a pydantic ValidationError, located in the YAML it came from.

    ``prefix`` is the path of the validated value inside the document (e.g. ``("rules",)``
    when only the ``rules:`` section was validated). With ``model`` (the validated
    model), an unknown key gets the closest allowed key as "did you mean ...?".
    """
    out = []
    for err in exc.errors():
        raw = [p for p in err["loc"] if isinstance(p, str | int)]
        loc = [*prefix, *raw]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = allowed_keys(model, raw) if model is not None and raw else []
            message = unknown_key_message(str(raw[-1]) if raw else "", allowed,
                                          reference=reference)
        out.append(index.error(loc, message))
    return out
