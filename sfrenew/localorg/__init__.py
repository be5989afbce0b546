"""sfrenew.localorg: the embedded Salesforce-compatible org (HTTPS, REST, SOQL, SQLite).

``LocalOrg`` is imported lazily so that importing a small part of the package (Ids,
the schema) does not load the server, TLS and the SOQL engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sfrenew.localorg.app import LocalOrg

__all__ = ["LocalOrg"]


def __getattr__(name: str) -> Any:
    if name == "LocalOrg":
        from sfrenew.localorg.app import LocalOrg  # noqa: PLC0415 (lazy on purpose)

        return LocalOrg
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
