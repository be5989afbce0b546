"""After a crash: settle the writes whose outcome nobody recorded.

A run killed between sending a chunk and recording its results leaves ledger intents
without results. Before anything is sent again, each such write is looked up in the
org: a create is found by its key (Tasks included: their key is a plain text field,
queried, since Tasks have no external-Id upsert), an update by Id with the values it
meant to write. Found → recorded as succeeded (with the new Id), so nothing is created
twice and the ledger stays a true audit; not found → recorded as failed
(``NOT_SENT``), and the next plan simply plans it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from sfrenew.core.changeset import same_value
from sfrenew.salesforce.port import GatewayPort
from sfrenew.store.port import StorePort
from sfrenew.store.values import NOT_SENT, LedgerEntry, Operation, WriteResult, WriteStatus

__all__ = ["NOT_SENT", "recover_pending"]
RECOVERED = "pending_writes_recovered"
log = structlog.get_logger()


def _by_key(gateway: GatewayPort, sobject: str, key_field: str, keys: Sequence[str]
            ) -> dict[str, str]:
    template = "SELECT Id, {key:literal} FROM {sobject:literal} WHERE {key:literal} IN {values}"
    out: dict[str, str] = {}
    for soql in gateway.in_chunks(template, list(keys), key=key_field, sobject=sobject):
        for row in gateway.query(soql):
            out[str(row[key_field])] = str(row["Id"])
    return out


def _by_id(gateway: GatewayPort, sobject: str, fields: Sequence[str], ids: Sequence[str]
           ) -> dict[str, Mapping[str, Any]]:
    names = sorted({"Id", *fields})
    return {str(r["Id"]): r for r in gateway.read_by_ids(sobject, names, list(ids))}


def recover_pending(*, gateway: GatewayPort, store: StorePort, run_id: str,
                    key_fields: Mapping[str, str], clock: Callable[[], datetime]) -> int:
    """Settle every pending intent of ``run_id``; returns how many were found written."""
    pending = store.pending_intents(run_id)
    if not pending:
        return 0
    results: list[WriteResult] = []
    found_count = 0
    by_object: dict[str, list[LedgerEntry]] = {}
    for entry in pending:
        by_object.setdefault(entry.object, []).append(entry)
    for sobject, entries in by_object.items():
        creates = [e for e in entries if e.operation is Operation.CREATE]
        others = [e for e in entries if e.operation is not Operation.CREATE and e.sf_id]
        key_field = key_fields.get(sobject)
        found = _by_key(gateway, sobject, key_field, [e.key for e in creates]) \
            if creates and key_field else {}
        for entry in creates:
            sf_id = found.get(entry.key)
            if sf_id:
                found_count += 1
                results.append(WriteResult(entry.seq, WriteStatus.SUCCEEDED, sf_id=sf_id))
            else:
                results.append(WriteResult(entry.seq, WriteStatus.FAILED, error_code=NOT_SENT,
                                           error_message="not found in the org after a crash"))
        fields = sorted({f.field for e in others for f in e.fields})
        current = _by_id(gateway, sobject, fields, [str(e.sf_id) for e in others]) \
            if others else {}
        for entry in others:
            row = current.get(str(entry.sf_id))
            if row is not None and all(same_value(row.get(f.field), f.after)
                                       for f in entry.fields):
                found_count += 1
                results.append(WriteResult(entry.seq, WriteStatus.SUCCEEDED, sf_id=entry.sf_id))
            else:
                results.append(WriteResult(entry.seq, WriteStatus.FAILED, error_code=NOT_SENT,
                                           error_message="the org does not hold the values"))
        for entry in entries:
            if entry not in creates and entry not in others:
                results.append(WriteResult(entry.seq, WriteStatus.FAILED, error_code=NOT_SENT,
                                           error_message="no Id to look up"))
    store.record_results(run_id, results, now=clock())
    log.info(RECOVERED, run_id=run_id, pending=len(pending), found=found_count)
    return found_count
