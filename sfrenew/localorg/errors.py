"""Errors the local org answers with, in Salesforce's JSON shape.

REST errors are a JSON list of ``{"message", "errorCode", "fields"?}``; save results
(sObject Collections, composite) carry ``{"statusCode", "message", "fields"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One error entry."""

    error_code: str
    message: str
    fields: tuple[str, ...] = ()
    # DML errors (a failed save) always carry ``fields``, even empty, as Salesforce's
    # do (``ENTITY_IS_DELETED`` -> ``"fields": []``); request errors such as
    # ``NOT_FOUND`` or ``MALFORMED_QUERY`` carry none.
    list_fields: bool = False

    def rest_json(self) -> dict[str, Any]:
        """The REST error-list entry (``errorCode``)."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields or self.list_fields:
            body["fields"] = list(self.fields)
        return body

    def save_result_json(self) -> dict[str, Any]:
        """The save-result error entry (``statusCode``), as Collections return it."""
        return {"statusCode": self.error_code, "message": self.message, "fields": list(self.fields)}


@dataclass
class SalesforceApiError(Exception):
    """An error the server answers with: an HTTP status and one or more error entries."""

    status: int
    errors: list[ErrorDetail] = field(default_factory=list)

    @classmethod
    def single(cls, status: int, error_code: str, message: str,
               fields: tuple[str, ...] = (), *, list_fields: bool = False) -> SalesforceApiError:
        """An error with one entry (``list_fields``: a DML error, see ErrorDetail)."""
        return cls(status, [ErrorDetail(error_code, message, fields, list_fields)])

    @classmethod
    def dml(cls, error_code: str, message: str, fields: tuple[str, ...] = (), *,
            status: int = 400) -> SalesforceApiError:
        """A failed save: one entry that always lists ``fields``."""
        return cls.single(status, error_code, message, fields, list_fields=True)

    def __str__(self) -> str:
        return "; ".join(f"{e.error_code}: {e.message}" for e in self.errors)

    def rest_json(self) -> list[dict[str, Any]]:
        """The REST response body."""
        return [e.rest_json() for e in self.errors]
