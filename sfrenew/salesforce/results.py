"""Per-row write results: data, the same type whichever API wrote the row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sfrenew.salesforce.errors import is_transient_row_error

# Our code for rows never sent (a call failed for good before them) or never reached
# (a Bulk job failed or was aborted first): not a Salesforce code, never retried here.
NOT_PROCESSED = "NOT_PROCESSED"


class Operation(StrEnum):
    """A write operation (Collections and Bulk API 2.0 use the same names)."""

    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True)
class RowResult:
    """What happened to input row ``index``.

    ``created`` is True only when a record was inserted (insert, or an upsert that
    found no match). On failure ``error_code`` is Salesforce's status code
    (``DUPLICATE_VALUE``, ``UNABLE_TO_LOCK_ROW``, ...), ``message`` its text and
    ``fields`` the fields it names.
    """

    index: int
    id: str | None
    created: bool
    success: bool
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def retriable(self) -> bool:
        """Whether sending the row again may succeed (lock contention and the like)."""
        return not self.success and is_transient_row_error(self.error_code)


def from_save_result(index: int, result: Mapping[str, Any], *,
                     operation: Operation) -> RowResult:
    """A RowResult from an sObject Collections SaveResult (errors use ``statusCode``)."""
    success = bool(result.get("success"))
    record_id = result.get("id")
    errors: Sequence[Mapping[str, Any]] = result.get("errors") or ()
    first = errors[0] if errors else {}
    if operation is Operation.UPSERT:
        created = bool(result.get("created")) and success
    else:
        created = success and operation is Operation.INSERT
    return RowResult(
        index=index,
        id=str(record_id) if record_id else None,
        created=created,
        success=success,
        error_code=None if success else str(first.get("statusCode") or "UNKNOWN_EXCEPTION"),
        message=None if success else str(first.get("message") or ""),
        fields=tuple(str(f) for f in first.get("fields") or ()),
    )


def parse_bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """Split Bulk API 2.0 ``sf__Error`` (``CODE:message:fields --``) into its parts."""
    body = text.strip()
    if body.endswith("--"):
        body = body[:-2].rstrip()
    code, _, rest = body.partition(":")
    message, sep, fields = rest.rpartition(":")
    if not sep:
        message, fields = rest, ""
    names = tuple(f.strip() for f in fields.split(",") if f.strip())
    return code.strip() or "UNKNOWN_EXCEPTION", message.strip(), names
