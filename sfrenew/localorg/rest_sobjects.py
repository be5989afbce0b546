"""sObject resources: describe, basic info, and single-record CRUD and upsert.

Status rules follow Salesforce (API >= 46): create 201 ``{"id","success","errors"}``
with a ``Location`` header; update and delete 204; upsert 201 ``created: true`` or
200 ``created: false``, 300 with the matching record URLs when the external Id
matches several records, 404 ``NOT_FOUND`` when the external Id field does not
exist or is not an external Id.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from sfrenew.localorg import describe
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import normalize_id
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.rest_files import (
    BINARY_FIELDS,
    is_multipart,
    multipart_record,
    prepare_content_version,
)
from sfrenew.localorg.rest_search import recent_items
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import FieldSchema, OrgSchema, SObjectSchema
from sfrenew.localorg.store import MultipleMatches
from sfrenew.localorg.tables import quote
from sfrenew.localorg.wire import Response, not_found

_ID_SHAPED = re.compile(r"^[A-Za-z0-9]{18}$")


def external_id_not_found(name: str) -> SalesforceApiError:
    """404 for an upsert or lookup on a field that is not an accessible external Id."""
    return SalesforceApiError.single(
        404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}")


def record_values(body: Any) -> dict[str, Any]:
    """The field values of a JSON record body (``attributes`` dropped)."""
    if not isinstance(body, dict):
        raise SalesforceApiError.single(
            400, "JSON_PARSER_ERROR",
            "Can not deserialize SObject out of START_ARRAY token at [line:1, column:1]"
            if isinstance(body, list) else "Can not deserialize SObject out of value")
    return {k: v for k, v in body.items() if k != "attributes"}


def save_result(record_id: str, *, created: bool | None = None) -> dict[str, Any]:
    """A successful save result (``created`` only for upserts)."""
    result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        result["created"] = created
    return result


class SObjectResource:
    """Handlers for ``/sobjects`` and below."""

    def __init__(self, *, store: StorePort, schema: OrgSchema) -> None:
        self._store = store
        self._schema = schema

    def sobject(self, name: str) -> SObjectSchema:
        """The object with this API name (any case), or 404 NOT_FOUND."""
        obj = self._schema.object(name)
        if obj is None:
            raise not_found()
        return obj

    def external_id_field(self, obj: SObjectSchema, name: str) -> FieldSchema:
        """The external Id field ``name`` of ``obj`` (``Id`` included), or 404."""
        field = obj.field(name)
        if field is None or not (field.external_id or field.name == "Id"):
            raise external_id_not_found(name)
        return field

    # --- describe ------------------------------------------------------------------

    def global_describe(self, call: Call) -> Response:
        """``GET /sobjects``."""
        return Response.json(200, describe.describe_global(self._schema,
                                                           api_version=call.version))

    def basic_info(self, call: Call) -> Response:
        """``GET /sobjects/{Type}``: the object's summary and (empty) recent items."""
        obj = self.sobject(call.args["type"])
        summary = next((entry for entry in describe.describe_global(
                            self._schema, api_version=call.version)["sobjects"]
                        if entry["name"] == obj.name), None)
        if summary is None:
            raise not_found()
        # "sObject Basic Information": the object's recently viewed items; the org lists
        # the ones the user created or changed last (as ``recent`` does).
        recent = recent_items(self._store, [obj], user_id=call.session.user_id, limit=25,
                              base=call.base)
        return Response.json(200, {"objectDescribe": summary, "recentItems": recent})

    def describe_object(self, call: Call) -> Response:
        """``GET /sobjects/{Type}/describe``."""
        obj = self.sobject(call.args["type"])
        host = call.request.header("host")
        return Response.json(200, describe.describe_sobject(
            obj, api_version=call.version, instance_url=f"https://{host}" if host else ""))

    # --- single records ------------------------------------------------------------

    def create(self, call: Call) -> Response:
        """``POST /sobjects/{Type}``."""
        obj = self.sobject(call.args["type"])
        values = (multipart_record(call.request) if is_multipart(call.request)
                  else record_values(call.request.json()))
        user = call.session.user_id
        if obj.name == "ContentVersion":
            # The version and the ContentDocument it creates stand or fall together.
            with self._store.transaction():
                record_id = self._store.create(
                    obj.name, prepare_content_version(self._store, values, user_id=user),
                    user_id=user)
        else:
            record_id = self._store.create(obj.name, values, user_id=user)
        return Response.json(201, save_result(record_id),
                             headers=[("Location", f"{call.base}/sobjects/{obj.name}/{record_id}")])

    def record(self, call: Call) -> Response:
        """``GET``/``PATCH``/``DELETE /sobjects/{Type}/{Id}``."""
        obj = self.sobject(call.args["type"])
        raw_id = call.args["id"]
        method = call.request.method
        if method in ("GET", "HEAD"):
            if normalize_id(raw_id) is None and not _ID_SHAPED.match(raw_id):
                # Salesforce reads a non-Id in this position as an external Id field name;
                # an Id-shaped value with a wrong case-safe suffix is 400 MALFORMED_ID
                # (the store says so).
                raise external_id_not_found(raw_id)
            fields_param = call.request.param("fields")
            fields = ([f.strip() for f in fields_param.split(",") if f.strip()]
                      if fields_param else None)
            return Response.json(200, self._store.get(obj.name, raw_id, fields,
                                                      api_version=call.version))
        if method == "PATCH":
            values = (multipart_record(call.request) if is_multipart(call.request)
                      else record_values(call.request.json()))
            self._store.update(obj.name, raw_id, values, user_id=call.session.user_id)
            return Response.empty(204)
        self._store.delete(obj.name, raw_id, user_id=call.session.user_id)
        return Response.empty(204)

    def by_external_id(self, call: Call) -> Response:
        """``GET``/``PATCH``/``DELETE /sobjects/{Type}/{ExtField}/{value}``."""
        obj = self.sobject(call.args["type"])
        method = call.request.method
        blob = obj.field(call.args["value"])
        if (method in ("GET", "HEAD") and blob is not None
                and blob.name.lower() in BINARY_FIELDS and normalize_id(call.args["field"])):
            return self._blob(obj, call.args["field"], blob.name, api_version=call.version)
        if method == "PATCH":
            # Upsert also matches on idLookup fields such as Contact.Email ("Insert or
            # Update (Upsert) a Record Using an External ID", REST API Developer Guide:
            # "the field must be an external ID field or an idLookup field").
            field = obj.field(call.args["field"])
            if field is None or not field.identifies_records:
                raise external_id_not_found(call.args["field"])
        else:
            field = self.external_id_field(obj, call.args["field"])
        value = call.args["value"]
        if method == "PATCH":
            return self._upsert(call, obj, field, value)
        ids = self._find(obj, field, value)
        if not ids:
            raise not_found()
        if len(ids) > 1:
            return self._multiple_choices(call, obj, ids)
        record_id = ids[0]
        if method == "DELETE":
            self._store.delete(obj.name, record_id, user_id=call.session.user_id)
            return Response.empty(204)
        return Response.json(200, self._store.get(obj.name, record_id, None,
                                                  api_version=call.version))

    def _blob(self, obj: SObjectSchema, record_id: str, field: str, *, api_version: str
              ) -> Response:
        """``GET sobjects/{Type}/{Id}/{BlobField}``: the field's bytes ("Get Blob Data").

        Salesforce answers them with ``Content-Type: application/octetstream`` (sic, as
        recorded).
        """
        record = self._store.get(obj.name, record_id, [field], api_version=api_version)
        text = str(record.get(field) or "")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            data = text.encode("utf-8")
        return Response(status=200, body=data, content_type="application/octetstream")

    def _upsert(self, call: Call, obj: SObjectSchema, field: FieldSchema, value: str
                ) -> Response:
        values = record_values(call.request.json())
        try:
            record_id, created = self._store.upsert(obj.name, field.name, value, values,
                                                    user_id=call.session.user_id)
        except MultipleMatches as exc:
            return self._multiple_choices(call, obj, exc.ids)
        if created:
            return Response.json(
                201, save_result(record_id, created=True),
                headers=[("Location", f"{call.base}/sobjects/{obj.name}/{record_id}")])
        return Response.json(200, save_result(record_id, created=False))

    def _find(self, obj: SObjectSchema, field: FieldSchema, value: str) -> list[str]:
        if field.name == "Id":
            return [value]
        # External Ids match case-insensitively unless the field is case-sensitive, as
        # the store's upsert (and Salesforce) match them.
        collate = "" if field.case_sensitive else " COLLATE NOCASE"
        conn = self._store.read_connection()
        try:
            rows = conn.execute(
                f"SELECT {quote('Id')} FROM {quote(obj.name)} "  # noqa: S608
                f"WHERE {quote(field.name)} = ?{collate} "  # names come from the schema
                'AND "IsDeleted" = 0 LIMIT 201',
                (value,),
            ).fetchall()
        finally:
            conn.close()
        return [str(row[0]) for row in rows]

    @staticmethod
    def _multiple_choices(call: Call, obj: SObjectSchema, ids: list[str]) -> Response:
        return Response.json(300, [f"{call.base}/sobjects/{obj.name}/{i}" for i in ids])

