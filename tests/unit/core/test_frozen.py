"""fast_init: the same values as dataclasses' own __init__, still frozen."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from sfrenew.core.frozen import fast_init
from sfrenew.core.rules.uplift import UpliftDecision


@dataclass(frozen=True, slots=True)
class Plain:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Fast:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class KeywordOnly:
    a: int
    b: int = 2


def test_same_fields_as_dataclass_init() -> None:
    cases: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {}), ((1, "x"), {}), ((1,), {"c": (3,)}), ((), {"a": 5})]
    for args, kwargs in cases:
        assert dataclasses.astuple(Fast(*args, **kwargs)) == dataclasses.astuple(
            Plain(*args, **kwargs))


def test_still_frozen_hashable_and_comparable() -> None:
    value = Fast(1, "x")
    with pytest.raises(FrozenInstanceError):
        value.a = 2  # type: ignore[misc]
    assert value == Fast(1, "x")
    assert value != Fast(2, "x")
    assert hash(value) == hash(Fast(1, "x"))
    assert repr(value) == "Fast(a=1, b='x', c=())"


def test_replace_and_pickle() -> None:
    value = Fast(1, "x", (2,))
    assert dataclasses.replace(value, b="y") == Fast(1, "y", (2,))
    assert pickle.loads(pickle.dumps(value)) == value


def test_argument_errors_as_usual() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Fast()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Fast(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional argument"):
        KeywordOnly(1)  # type: ignore[call-arg]
    assert KeywordOnly(a=1) == KeywordOnly(a=1, b=2)


def test_planner_values_use_it() -> None:
    assert UpliftDecision.__init__.__qualname__ == "UpliftDecision.__init__"
    assert UpliftDecision.__init__.__code__.co_filename == "<string>"


def test_refuses_what_it_cannot_do_exactly() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls, message in [(NoSlots, "needs"), (NotFrozen, "needs"), (Factory, "plain fields"),
                         (PostInit, "__post_init__")]:
        with pytest.raises(TypeError, match=message):
            fast_init(cls)
