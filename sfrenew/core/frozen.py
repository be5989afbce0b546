"""A faster ``__init__`` for frozen, slotted dataclasses the planner builds often.

A frozen dataclass's generated ``__init__`` stores each field through
``object.__setattr__(self, "name", value)``: a global lookup, an attribute lookup and
a field lookup by name, per field. The planner's most numerous values are
``NamedTuple``s (see ``sfrenew.core.plan``); the dataclasses it still builds per
group or per contract (uplift decisions adjusted for risk, risk contexts, terms)
use this.

:func:`fast_init` replaces it with one that stores each field through the slot's own
descriptor (``Cls.name.__set__(self, value)``), which is what ``object.__setattr__``
ends up calling anyway. Nothing else changes: the class is still frozen (assigning
a field raises ``FrozenInstanceError``), ``==``, ``hash``, ``repr``, pickling and
``dataclasses.replace`` behave as before, and the parameters, their order, defaults
and keyword-only markers are the dataclass's own. Classes with a ``__post_init__``,
``default_factory`` or ``init=False`` fields are refused at import time rather than
handled approximately.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` a faster, equivalent ``__init__``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init needs @dataclass(frozen=True, slots=True)")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_init does not run __post_init__")
    namespace: dict[str, Any] = {}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # checked above
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init supports plain fields only")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        param = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            param += f"=_default_{f.name}"
        (keyword if f.kw_only else positional).append(param)
        body.append(f"    _set_{f.name}(self, {f.name})")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}) -> None:\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # noqa: S102 - source built from the dataclass's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    type.__setattr__(cls, "__init__", init)
    return cls
