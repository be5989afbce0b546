"""Describe layouts and list views: the cheap, read-only versions clients ask for.

* ``sobjects/{Type}/describe/layouts``: one page layout per object ("Describe Layouts",
  REST API Developer Guide, resources_sobject_layouts.htm) whose one detail and edit
  section lists every field a person can see, two columns, each item carrying the
  field's describe in ``layoutComponents[].details``; no record types
  (``recordTypeMappings`` empty, ``recordTypeSelectorRequired: [false]``).
* ``sobjects/{Type}/listviews``, ``.../listviews/{id}/describe`` and
  ``.../listviews/{id}/results`` ("List Views", "List View Describe", "List View
  Results"): one list view per object, ``All`` (developer name ``All<Plural>``), whose
  columns are the name field and Id, ordered by the name field; results are its first
  25 rows (``limit`` up to 2,000).
"""

from __future__ import annotations

from typing import Any

from sfrenew.localorg import describe
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ids import make_id
from sfrenew.localorg.ports import QueryEnginePort, ReadConnections
from sfrenew.localorg.routes import Call
from sfrenew.localorg.schema import OrgSchema, SObjectSchema
from sfrenew.localorg.sessions import Clock
from sfrenew.localorg.wire import Response, not_found

_HIDDEN = frozenset({"Id", "IsDeleted", "SystemModstamp"})
DEFAULT_RESULTS = 25
MAX_RESULTS = 2000


def _layout_item(field: Any, index: int) -> dict[str, Any]:
    return {
        "editableForNew": field.createable,
        "editableForUpdate": field.updateable,
        "label": field.label,
        "layoutComponents": [{"details": describe.describe_field(field), "displayLines": 1,
                              "tabOrder": index + 1, "type": "Field", "value": field.name}],
        "placeholder": False,
        "required": field.required_on_create,
    }


def _section(obj: SObjectSchema, heading: str) -> dict[str, Any]:
    fields = [f for f in obj.fields.values() if f.name not in _HIDDEN]
    items = [_layout_item(f, i) for i, f in enumerate(fields)]
    rows = [{"layoutItems": items[i:i + 2], "numItems": len(items[i:i + 2])}
            for i in range(0, len(items), 2)]
    return {"collapsed": False, "columns": 2, "heading": heading, "layoutRows": rows,
            "layoutSectionId": None, "parentLayoutId": None, "rows": len(rows),
            "tabOrder": "TopToBottom", "useCollapsibleSection": False, "useHeading": True}


class LayoutResource:
    """Handlers for describe layouts and list views."""

    def __init__(self, *, schema: OrgSchema, engine: QueryEnginePort, store: ReadConnections,
                 clock: Clock) -> None:
        self._schema = schema
        self._engine = engine
        self._store = store
        self._clock = clock
        names = sorted(o.name for o in schema.objects.values())
        self._list_view_ids = {name: make_id("00B", i + 1) for i, name in enumerate(names)}

    def _object(self, call: Call) -> SObjectSchema:
        obj = self._schema.object(call.args["type"])
        if obj is None:
            raise not_found()
        return obj

    def layouts(self, call: Call) -> Response:
        """``GET sobjects/{Type}/describe/layouts``."""
        obj = self._object(call)
        layout: dict[str, Any] = {
            "buttonLayoutSection": None,
            "detailLayoutSections": [_section(obj, "Information")],
            "editLayoutSections": [_section(obj, "Information")],
            "feedView": None,
            "highlightsPanelLayoutSection": None,
            "id": make_id("00h", sorted(self._list_view_ids).index(obj.name) + 1),
            "multirowEditLayoutSections": [],
            "offlineLinks": [],
            "quickActionList": {"quickActionListItems": []},
            "relatedContent": None,
            "relatedLists": [],
            "saveOptions": [],
        }
        return Response.json(200, {"layouts": [layout], "recordTypeMappings": [],
                                   "recordTypeSelectorRequired": [False]})

    # --- list views ------------------------------------------------------------------

    def _view(self, call: Call, obj: SObjectSchema) -> dict[str, Any]:
        view_id = self._list_view_ids[obj.name]
        url = f"{call.base}/sobjects/{obj.name}/listviews/{view_id}"
        return {"describeUrl": f"{url}/describe", "developerName": f"All{obj.label_plural}"
                .replace(" ", ""), "id": view_id, "label": f"All {obj.label_plural}",
                "resultsUrl": f"{url}/results", "soqlCompatible": True, "url": url}

    def _checked_view(self, call: Call) -> SObjectSchema:
        obj = self._object(call)
        if call.args["view"] != self._list_view_ids[obj.name]:
            raise not_found()
        return obj

    def list_views(self, call: Call) -> Response:
        """``GET sobjects/{Type}/listviews``."""
        obj = self._object(call)
        return Response.json(200, {"done": True, "listviews": [self._view(call, obj)],
                                   "nextRecordsUrl": None, "queryLocator": None, "size": 1,
                                   "sobjectType": obj.name})

    def _columns(self, obj: SObjectSchema) -> list[dict[str, Any]]:
        names = [obj.name_field, "Id"] if obj.name_field else ["Id"]
        columns = []
        for index, name in enumerate(names):
            field = obj.field(name)
            assert field is not None  # the name field and Id exist on every object
            columns.append({
                "ascendingLabel": "A-Z", "descendingLabel": "Z-A", "fieldNameOrPath": name,
                "hidden": name == "Id", "label": field.label, "searchable": name != "Id",
                "selectListItem": name, "sortDirection": "ascending" if index == 0 else None,
                "sortIndex": 0 if index == 0 else None, "sortable": True,
                "type": field.type.value,
            })
        return columns

    def _soql(self, obj: SObjectSchema) -> str:
        order = obj.name_field or "Id"
        names = ", ".join(c["fieldNameOrPath"] for c in self._columns(obj))
        # SOQL, not SQL: it goes through the org's SOQL engine; names come from the schema.
        return (f"SELECT {names} FROM {obj.name} "  # noqa: S608
                f"ORDER BY {order} ASC NULLS FIRST, Id ASC NULLS FIRST")

    def list_view_describe(self, call: Call) -> Response:
        """``GET sobjects/{Type}/listviews/{id}/describe``."""
        obj = self._checked_view(call)
        order = obj.name_field or "Id"
        return Response.json(200, {
            "columns": self._columns(obj), "id": self._list_view_ids[obj.name],
            "orderBy": [{"fieldNameOrPath": order, "nullsPosition": "first",
                         "sortDirection": "ascending"}],
            "query": self._soql(obj), "relatedEntityId": None, "scope": None,
            "scopeEntityId": None, "sobjectType": obj.name,
            "whereCondition": {"conditions": [], "conjunction": "and"},
        })

    def list_view_results(self, call: Call) -> Response:
        """``GET sobjects/{Type}/listviews/{id}/results?limit=&offset=``."""
        obj = self._checked_view(call)
        try:
            limit = min(int(call.request.param("limit") or DEFAULT_RESULTS), MAX_RESULTS)
            offset = int(call.request.param("offset") or 0)
        except ValueError as exc:
            raise SalesforceApiError.single(400, "INVALID_QUERY_FILTER_OPERATOR",
                                            "limit and offset must be numbers") from exc
        columns = self._columns(obj)
        prepared = self._engine.prepare(f"{self._soql(obj)} LIMIT {limit} OFFSET {offset}",
                                        include_deleted=False, now=self._clock(),
                                        api_version=call.version)
        conn = self._store.read_connection()
        try:
            records = [{"columns": [{"fieldNameOrPath": c["fieldNameOrPath"],
                                     "value": record.get(c["fieldNameOrPath"])}
                                    for c in columns]}
                       for record in prepared.records(conn)]
        finally:
            conn.close()
        view = self._view(call, obj)
        return Response.json(200, {"columns": columns, "developerName": view["developerName"],
                                   "done": True, "id": view["id"], "label": view["label"],
                                   "records": records, "size": len(records)})
