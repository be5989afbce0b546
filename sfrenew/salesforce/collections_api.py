"""sObject Collections writes: 200 records per call, ``allOrNone`` false, results in order.

``POST /composite/sobjects`` (insert), ``PATCH /composite/sobjects`` (update),
``PATCH /composite/sobjects/{Type}/{ExternalIdField}`` (upsert) and
``DELETE /composite/sobjects?ids=...`` (delete) all answer 200 with one SaveResult per
record in request order, so a row's result is simply the one at its position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from sfrenew.salesforce.budget import CallKind
from sfrenew.salesforce.errors import (
    BudgetExhausted,
    ConfigurationError,
    TransientError,
    UnexpectedResponse,
)
from sfrenew.salesforce.results import NOT_PROCESSED, Operation, RowResult, from_save_result
from sfrenew.salesforce.soql import check_name
from sfrenew.salesforce.transport import Transport

log = structlog.get_logger(__name__)

MAX_RECORDS = 200
EVENT_WRITE_INTERRUPTED = "salesforce.write.interrupted"


class CollectionsApi:
    """sObject Collections through the gateway's transport."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def write(self, operation: Operation, sobject: str, records: Sequence[Mapping[str, Any]],
              *, external_id_field: str | None = None,
              batch_size: int = MAX_RECORDS) -> list[RowResult]:
        """Write ``records`` in calls of ``batch_size``; one RowResult per record, in order.

        When a call fails for good after earlier calls saved rows, those results are
        returned and the rows not sent get ``NOT_PROCESSED``: raising would hide rows
        that were saved, and a later run would insert them again.
        """
        size = max(1, min(batch_size, MAX_RECORDS))
        results: list[RowResult] = []
        for start in range(0, len(records), size):
            batch = records[start:start + size]
            try:
                answers = self._call(operation, sobject, batch,
                                     external_id_field=external_id_field)
            except (TransientError, BudgetExhausted) as exc:
                if not results:
                    raise  # nothing saved yet: the caller checkpoints on the error itself
                log.warning(EVENT_WRITE_INTERRUPTED, sobject=sobject, saved_calls=start // size,
                            not_sent=len(records) - start, reason=type(exc).__name__)
                results.extend(RowResult(index=i, id=None, created=False, success=False,
                                         error_code=NOT_PROCESSED, message=f"not sent: {exc}")
                               for i in range(start, len(records)))
                return results
            if not isinstance(answers, list) or len(answers) != len(batch):
                got = len(answers) if isinstance(answers, list) else "no"
                raise UnexpectedResponse(
                    f"sObject Collections answered {got} results for {len(batch)} records")
            results.extend(from_save_result(start + i, answer, operation=operation)
                           for i, answer in enumerate(answers))
        return results

    def _call(self, operation: Operation, sobject: str, batch: Sequence[Mapping[str, Any]], *,
              external_id_field: str | None) -> Any:
        if operation is Operation.DELETE:
            ids = ",".join(str(r["Id"]) for r in batch)
            return self._t.json(CallKind.COLLECTIONS, "DELETE", "composite/sobjects",
                                params={"ids": ids, "allOrNone": "false"})
        body = {"allOrNone": False, "records": [
            {"attributes": {"type": sobject}, **{k: v for k, v in r.items() if k != "attributes"}}
            for r in batch]}
        if operation is Operation.INSERT:
            # Not idempotent: a failure after Salesforce saved the rows must not save
            # them twice. sfrenew's own writes are upserts by key, which are repeated.
            return self._t.json(CallKind.COLLECTIONS, "POST", "composite/sobjects",
                                json_body=body, idempotent=False)
        if operation is Operation.UPDATE:
            return self._t.json(CallKind.COLLECTIONS, "PATCH", "composite/sobjects",
                                json_body=body)
        if external_id_field is None:
            raise ConfigurationError(f"upsert into {sobject} needs an external_id_field")
        return self._t.json(
            CallKind.COLLECTIONS, "PATCH",
            f"composite/sobjects/{check_name(sobject)}/{check_name(external_id_field)}",
            json_body=body)
