"""Routing of REST paths under ``/services/data/vNN.0/`` to handlers.

A route is a path pattern of literal segments and ``{name}`` captures, the HTTP
methods it answers and the :class:`~sfrenew.localorg.accounting.CallKind` it is
counted as. Paths are matched segment by segment after percent-decoding each
segment, so an external Id value may contain an encoded ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from sfrenew.localorg.accounting import CallKind
from sfrenew.localorg.sessions import Session
from sfrenew.localorg.wire import Request, Response, method_not_allowed, not_found

API_VERSION_MIN = 50
API_VERSION_LATEST = 66
_VERSION = re.compile(r"^v(\d+)\.0$")
_SEASONS = ("Winter", "Spring", "Summer")


@dataclass(frozen=True)
class Call:
    """One REST call as a handler sees it: the request, who makes it, the API version."""

    request: Request
    session: Session
    version: str  # "59.0"
    args: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """``/services/data/vNN.0`` for URLs in answers."""
        return f"/services/data/v{self.version}"


RouteHandler = Callable[[Call], Response]


@dataclass(frozen=True)
class Route:
    """A path pattern, its methods, its handler and how it is counted."""

    pattern: tuple[str, ...]
    methods: frozenset[str]
    handler: RouteHandler
    kind: CallKind

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The captures when ``segments`` fit the pattern, else None."""
        if len(segments) != len(self.pattern):
            return None
        args: dict[str, str] = {}
        for part, segment in zip(self.pattern, segments, strict=True):
            if part.startswith("{"):
                if not segment:
                    return None
                args[part[1:-1]] = segment
            elif part != segment:
                return None
        return args


class Router:
    """An ordered list of routes; the first pattern that fits wins."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, methods: str, pattern: str, handler: RouteHandler, *, kind: CallKind) -> None:
        """Register ``handler`` for space-separated ``methods`` on ``pattern`` (``a/{b}``)."""
        self._routes.append(Route(
            pattern=tuple(pattern.strip("/").split("/")) if pattern.strip("/") else (),
            methods=frozenset(methods.split()),
            handler=handler,
            kind=kind,
        ))

    def resolve(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]]:
        """The route and captures for a call; 404 NOT_FOUND or 405 when there is none."""
        allowed: set[str] = set()
        for route in self._routes:
            args = route.match(segments)
            if args is None:
                continue
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route, args
            allowed |= route.methods
        if allowed:
            raise method_not_allowed(method, sorted(allowed))
        raise not_found()


def split_path(rest: str) -> list[str]:
    """Percent-decoded segments of a path below the version, trailing slash ignored."""
    stripped = rest.strip("/")
    if not stripped:
        return []
    return [unquote(segment) for segment in stripped.split("/")]


def parse_version(text: str) -> str | None:
    """``"59.0"`` for ``"v59.0"`` when the local org serves that version, else None."""
    match = _VERSION.match(text)
    if match is None:
        return None
    number = int(match.group(1))
    if not API_VERSION_MIN <= number <= API_VERSION_LATEST:
        return None
    return f"{number}.0"


def version_list() -> list[dict[str, str]]:
    """``GET /services/data/``: every version served, oldest first, as Salesforce lists them."""
    versions = []
    for number in range(API_VERSION_MIN, API_VERSION_LATEST + 1):
        # v50.0 was Winter '21; three releases a year since.
        offset = number - API_VERSION_MIN
        label = f"{_SEASONS[offset % 3]} '{21 + offset // 3}"
        versions.append({"label": label, "url": f"/services/data/v{number}.0",
                         "version": f"{number}.0"})
    return versions
