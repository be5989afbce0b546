"""``POST composite/tree/{Type}``: create record trees (parents with their children).

As documented (REST API Developer Guide, "sObject Tree" / "Create Nested Records"):
the body is ``{"records": [...]}``, each record with ``attributes`` ``{type,
referenceId}``, its fields, and child relationships (``"Contacts": {"records":
[...]}``) whose records get the parent's Id in the relationship's field. At most 200
records in all, 5 levels deep; ``referenceId`` values must be unique. It is all or
none: 201 ``{"hasErrors": false, "results": [{"referenceId", "id"}, ...]}`` in the
order records were created (parents first), or 400 ``{"hasErrors": true,
"results": [{"referenceId", "errors": [{"statusCode", "message", "fields"}]}]}`` and
nothing saved. The Salesforce CLI's ``sf data import tree`` sends this.
"""

from __future__ import annotations

from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import OrgSchema, SObjectSchema
from sfrenew.localorg.wire import Response, not_found

MAX_RECORDS = 200
MAX_DEPTH = 5


class _RollBack(Exception):
    """Raised inside the tree's transaction to undo it."""


def _invalid(message: str) -> SalesforceApiError:
    return SalesforceApiError.single(400, "INVALID_INPUT", message)


def _count(records: list[Any], depth: int) -> int:
    if depth > MAX_DEPTH:
        raise _invalid(f"Maximum depth of {MAX_DEPTH} levels exceeded")
    total = 0
    for record in records:
        if not isinstance(record, dict):
            raise SalesforceApiError.single(400, "JSON_PARSER_ERROR",
                                            "Each record must be a JSON object")
        total += 1
        for value in record.values():
            if isinstance(value, dict) and isinstance(value.get("records"), list):
                total += _count(value["records"], depth + 1)
    return total


class TreeResource:
    """Handler for ``composite/tree/{Type}``."""

    def __init__(self, *, store: StorePort, schema: OrgSchema) -> None:
        self._store = store
        self._schema = schema

    def create(self, call: Call) -> Response:
        """``POST composite/tree/{Type}``."""
        obj = self._schema.object(call.args["type"])
        if obj is None:
            raise not_found()
        body = call.request.json()
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            raise _invalid("No records found in the request")
        if _count(records, 1) > MAX_RECORDS:
            raise _invalid(f"Maximum number of records ({MAX_RECORDS}) exceeded")
        results: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        seen: set[str] = set()
        try:
            with self._store.transaction():
                for record in records:
                    self._save(obj, record, parent=None, user_id=call.session.user_id,
                               results=results, failures=failures, seen=seen)
                if failures:
                    raise _RollBack
        except _RollBack:
            return Response.json(400, {"hasErrors": True, "results": failures})
        return Response.json(201, {"hasErrors": False, "results": results})

    def _save(self, obj: SObjectSchema, record: dict[str, Any], *,
              parent: tuple[str, str] | None, user_id: str, results: list[dict[str, Any]],
              failures: list[dict[str, Any]], seen: set[str]) -> None:
        raw_attributes = record.get("attributes")
        attributes: dict[str, Any] = raw_attributes if isinstance(raw_attributes, dict) else {}
        reference = str(attributes.get("referenceId") or "")
        values: dict[str, Any] = {}
        children: list[tuple[str, list[Any]]] = []
        for key, value in record.items():
            if key == "attributes":
                continue
            if isinstance(value, dict) and isinstance(value.get("records"), list):
                children.append((key, value["records"]))
            else:
                values[key] = value
        try:
            if not reference:
                raise _invalid("Include a reference ID for each record in the request")
            if reference.lower() in seen:
                raise _invalid(f"Duplicate ReferenceId provided in the request: {reference}")
            seen.add(reference.lower())
            declared = attributes.get("type")
            if declared and str(declared).lower() != obj.name.lower():
                raise _invalid(f"The sObject type {declared} does not match {obj.name}")
            if parent is not None:
                values[parent[0]] = parent[1]
            with self._store.transaction():
                record_id = self._store.create(obj.name, values, user_id=user_id)
        except SalesforceApiError as exc:
            failures.append({"referenceId": reference,
                             "errors": [e.save_result_json() for e in exc.errors]})
            return  # children of a record that failed cannot be created
        results.append({"referenceId": reference, "id": record_id})
        for name, child_records in children:
            relationship = obj.child_relationship(name)
            child = (self._schema.object(relationship.child_object)
                     if relationship is not None else None)
            if relationship is None or child is None:
                failures.append({"referenceId": reference, "errors": [{
                    "statusCode": "INVALID_FIELD",
                    "message": f"No such column '{name}' on entity '{obj.name}'",
                    "fields": [name]}]})
                continue
            for child_record in child_records:
                self._save(child, child_record, parent=(relationship.field, record_id),
                           user_id=user_id, results=results, failures=failures, seen=seen)
