"""sObject Collections: ``/composite/sobjects`` create, update, upsert, delete, retrieve.

One call saves up to 200 records and answers 200 with one save result per record,
in order (``{"id","success","errors":[{"statusCode","message","fields"}]}``, plus
``created`` for upserts). With ``allOrNone: true`` one failure rolls back every
write of the call: the failing rows keep their own errors and every other row
reports ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. With ``allOrNone: false`` each row
stands alone. Row failures are data, never an HTTP error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfrenew.localorg.accounting import Accounting
from sfrenew.localorg.errors import ErrorDetail, SalesforceApiError
from sfrenew.localorg.ids import normalize_id
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.rest_sobjects import SObjectResource, external_id_not_found, record_values
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import OrgSchema, SObjectSchema
from sfrenew.localorg.wire import Response

MAX_RECORDS = 200
ROLLED_BACK = ErrorDetail(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


def too_many_records() -> SalesforceApiError:
    """400 for more than 200 records in one Collections call."""
    return SalesforceApiError.single(
        400, "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call")


def row_error(code: str, message: str, fields: tuple[str, ...] = ()) -> SalesforceApiError:
    """A failure of one row (status is irrelevant for save results)."""
    return SalesforceApiError.single(400, code, message, fields)


@dataclass(frozen=True)
class RowOp:
    """One row of a Collections call: what to do, and the Id to report if it fails."""

    run: Callable[[], tuple[str, bool | None]]  # -> (id, created or None)
    known_id: str | None = None


class _RollBack(Exception):
    """Raised inside a transaction to undo it."""


def run_rows(store: StorePort, ops: list[RowOp], *, all_or_none: bool
             ) -> list[dict[str, Any]]:
    """Execute rows with Salesforce's allOrNone semantics; one save result per row."""
    results: list[dict[str, Any]] = []
    failed = False

    def attempt(op: RowOp) -> dict[str, Any]:
        nonlocal failed
        try:
            # Each row in its own savepoint, so a half-applied row never stays behind.
            with store.transaction():
                record_id, created = op.run()
        except SalesforceApiError as exc:
            failed = True
            return _failure(op.known_id, exc.errors)
        result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if created is not None:
            result["created"] = created
        return result

    if not all_or_none:
        return [attempt(op) for op in ops]
    try:
        with store.transaction():
            results = [attempt(op) for op in ops]
            if failed:
                raise _RollBack
    except _RollBack:
        results = [r if not r["success"] else _failure(ops[i].known_id, [ROLLED_BACK])
                   for i, r in enumerate(results)]
    return results


def _failure(record_id: str | None, errors: list[ErrorDetail]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if record_id is not None:
        result["id"] = record_id
    result["success"] = False
    result["errors"] = [e.save_result_json() for e in errors] or [
        {"statusCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred.",
         "fields": []}]
    return result


def _all_or_none(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class CollectionsResource:
    """Handlers for ``/composite/sobjects``."""

    def __init__(self, *, store: StorePort, schema: OrgSchema, sobjects: SObjectResource,
                 accounting: Accounting) -> None:
        self._store = store
        self._schema = schema
        self._sobjects = sobjects
        self._accounting = accounting

    def save(self, call: Call) -> Response:
        """``POST`` (create) or ``PATCH`` (update) ``/composite/sobjects``."""
        records, all_or_none = self._records(call.request.json())
        user = call.session.user_id
        make = self._create_op if call.request.method == "POST" else self._update_op
        ops = [make(record, user) for record in records]
        return self._answer(run_rows(self._store, ops, all_or_none=all_or_none))

    def upsert(self, call: Call) -> Response:
        """``PATCH /composite/sobjects/{Type}/{ExtField}``."""
        obj = self._sobjects.sobject(call.args["type"])
        # Collections upsert also matches on idLookup fields (Contact.Email), as recorded.
        field = obj.field(call.args["field"])
        if field is None or not field.identifies_records:
            raise external_id_not_found(call.args["field"])
        records, all_or_none = self._records(call.request.json())
        user = call.session.user_id
        keys = [record.get(field.name) if isinstance(record, dict) else None
                for record in records]
        counts = Counter(str(k).lower() for k in keys if k not in (None, ""))
        ops: list[RowOp] = []
        for record, key in zip(records, keys, strict=True):
            if key is not None and key != "" and counts[str(key).lower()] > 1:
                ops.append(_fail_op(row_error(
                    "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}",
                    (field.name,))))
            elif field.name == "Id":
                ops.append(self._update_op(record, user, obj=obj) if key
                           else self._create_op(record, user, obj=obj, upsert=True))
            elif key is None or key == "":
                ops.append(_fail_op(row_error("MISSING_ARGUMENT",
                                              f"{field.name} not specified", (field.name,))))
            else:
                ops.append(self._upsert_op(obj, field.name, key, record, user))
        results = run_rows(self._store, ops, all_or_none=all_or_none)
        for result in results:
            # Every upsert result carries ``created``, a failed row ``false`` ("Upsert
            # Multiple Records Using sObject Collections", REST API Developer Guide).
            result.setdefault("created", False)
        return self._answer(results)

    def delete(self, call: Call) -> Response:
        """``DELETE /composite/sobjects?ids=...&allOrNone=``."""
        ids_text = call.request.param("ids") or ""
        ids = [i.strip() for i in ids_text.split(",") if i.strip()]
        if not ids:
            raise SalesforceApiError.single(400, "MISSING_ARGUMENT", "ids not specified")
        if len(ids) > MAX_RECORDS:
            raise too_many_records()
        all_or_none = _all_or_none(call.request.param("allOrNone") or "false")
        user = call.session.user_id
        ops = [self._delete_op(raw, user) for raw in ids]
        return self._answer(run_rows(self._store, ops, all_or_none=all_or_none))

    def retrieve(self, call: Call) -> Response:
        """``GET /composite/sobjects/{Type}?ids=&fields=`` (or POST with a JSON body)."""
        obj = self._sobjects.sobject(call.args["type"])
        if call.request.method == "POST":
            body = call.request.json()
            ids = list(body.get("ids") or []) if isinstance(body, dict) else []
            fields = list(body.get("fields") or []) if isinstance(body, dict) else []
        else:
            ids = [i for i in (call.request.param("ids") or "").split(",") if i]
            fields = [f for f in (call.request.param("fields") or "").split(",") if f]
        if not ids or not fields:
            raise SalesforceApiError.single(400, "MISSING_ARGUMENT",
                                            "ids and fields are required")
        if len(ids) > 2000:
            raise too_many_records()
        records: list[dict[str, Any] | None] = []
        for raw in ids:
            try:
                records.append(self._store.get(obj.name, str(raw), fields,
                                               api_version=call.version))
            except SalesforceApiError as exc:
                if exc.status != 404:
                    raise
                records.append(None)
        return Response.json(200, records)

    # --- row operations ------------------------------------------------------------

    def _records(self, body: Any) -> tuple[list[Any], bool]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceApiError.single(400, "JSON_PARSER_ERROR",
                                            "Request body must contain a records array")
        records: list[Any] = body["records"]
        if len(records) > MAX_RECORDS:
            raise too_many_records()
        return records, _all_or_none(body.get("allOrNone", False))

    def _type_of(self, record: Any, fallback_id: str | None = None) -> SObjectSchema:
        name = None
        if isinstance(record, dict) and isinstance(record.get("attributes"), dict):
            name = record["attributes"].get("type")
        if not name and fallback_id:
            normalized = normalize_id(fallback_id)
            obj = self._schema.object_by_prefix(normalized[:3]) if normalized else None
            if obj is not None:
                return obj
        if not name:
            raise row_error("INVALID_TYPE", "Must send a concrete entity type.")
        obj = self._schema.object(str(name))
        if obj is None:
            raise row_error("INVALID_TYPE", f"sObject type '{name}' is not supported.")
        return obj

    def _create_op(self, record: Any, user: str, *, obj: SObjectSchema | None = None,
                   upsert: bool = False) -> RowOp:
        def run() -> tuple[str, bool | None]:
            target = obj or self._type_of(record)
            values = record_values(record)
            if upsert:  # an upsert on Id sends "Id": null for the rows to create
                values = {k: v for k, v in values.items()
                          if k.lower() != "id" or v not in (None, "")}
            if "Id" in values or "id" in values:
                raise row_error("INVALID_FIELD", "cannot specify Id in an insert call", ("Id",))
            return self._store.create(target.name, values, user_id=user), (True if upsert
                                                                            else None)
        return RowOp(run=run)

    def _update_op(self, record: Any, user: str, *, obj: SObjectSchema | None = None) -> RowOp:
        raw_id = (record.get("Id") or record.get("id")) if isinstance(record, dict) else None
        upsert = obj is not None

        def run() -> tuple[str, bool | None]:
            if not raw_id:
                raise row_error("MISSING_ARGUMENT", "Id not specified in an update call",
                                ("Id",))
            target = obj or self._type_of(record, str(raw_id))
            values = {k: v for k, v in record_values(record).items() if k.lower() != "id"}
            self._store.update(target.name, str(raw_id), values, user_id=user)
            return normalize_id(str(raw_id)) or str(raw_id), (False if upsert else None)
        return RowOp(run=run, known_id=str(raw_id) if raw_id else None)

    def _upsert_op(self, obj: SObjectSchema, field: str, key: Any, record: Any,
                   user: str) -> RowOp:
        def run() -> tuple[str, bool | None]:
            values = record_values(record)
            # Several matching records: the store's MultipleMatches carries Salesforce's
            # DUPLICATE_EXTERNAL_ID row error; as a row it is data, not a 300.
            return self._store.upsert(obj.name, field, key, values, user_id=user)
        return RowOp(run=run)

    def _delete_op(self, raw_id: str, user: str) -> RowOp:
        def run() -> tuple[str, bool | None]:
            normalized = normalize_id(raw_id)
            obj = self._schema.object_by_prefix(normalized[:3]) if normalized else None
            if normalized is None or obj is None:
                raise row_error("MALFORMED_ID", f"malformed id {raw_id}")
            self._store.delete(obj.name, normalized, user_id=user)
            return normalized, None
        return RowOp(run=run, known_id=raw_id)

    def _answer(self, results: list[dict[str, Any]]) -> Response:
        self._accounting.record_row_errors([
            r["errors"][0]["statusCode"] for r in results if not r["success"]])
        return Response.json(200, results)


def _fail_op(error: SalesforceApiError) -> RowOp:
    def run() -> tuple[str, bool | None]:
        raise error
    return RowOp(run=run)
