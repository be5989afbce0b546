"""sObject Collections writes: 200 records per call, ``allOrNone`` false, results in order.

``POST /composite/sobjects`` (insert), ``PATCH /composite/sobjects`` (update),
``PATCH /composite/sobjects/{Type}/{ExternalIdField}`` (upsert) and
``DELETE /composite/sobjects?ids=...`` (delete) all answer 200 with one SaveResult per
record in request order, so a row's result is simply the one at its position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sfrenew.salesforce.budget import CallKind
from sfrenew.salesforce.errors import ConfigurationError, UnexpectedResponse
from sfrenew.salesforce.results import Operation, RowResult, from_save_result
from sfrenew.salesforce.soql import check_name
from sfrenew.salesforce.transport import Transport

MAX_RECORDS = 200


class CollectionsApi:
    """sObject Collections through the gateway's transport."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def write(self, operation: Operation, sobject: str, records: Sequence[Mapping[str, Any]],
              *, external_id_field: str | None = None,
              batch_size: int = MAX_RECORDS) -> list[RowResult]:
        """Write ``records`` in calls of ``batch_size``; one RowResult per record, in order."""
        size = max(1, min(batch_size, MAX_RECORDS))
        results: list[RowResult] = []
        for start in range(0, len(records), size):
            batch = records[start:start + size]
            answers = self._call(operation, sobject, batch, external_id_field=external_id_field)
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
