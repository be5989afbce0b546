"""The REST route table of ``/services/data/vNN.0/``: which handler serves which path.

Order matters where patterns overlap: literal segments (``describe``) are listed
before captures (``{id}``).
"""

from __future__ import annotations

from sfrenew.localorg.accounting import Accounting, CallKind
from sfrenew.localorg.ports import QueryEnginePort, StorePort
from sfrenew.localorg.rest_collections import CollectionsResource
from sfrenew.localorg.rest_composite import CompositeResource, Subrequest
from sfrenew.localorg.rest_layouts import LayoutResource
from sfrenew.localorg.rest_org import OrgResource
from sfrenew.localorg.rest_query import CursorRegistry, QueryResource
from sfrenew.localorg.rest_replication import ReplicationResource
from sfrenew.localorg.rest_search import SearchResource
from sfrenew.localorg.rest_sobjects import SObjectResource
from sfrenew.localorg.rest_tree import TreeResource
from sfrenew.localorg.routes import Router
from sfrenew.localorg.schema import OrgSchema
from sfrenew.localorg.sessions import Clock


def build_router(*, store: StorePort, schema: OrgSchema, engine: QueryEnginePort,
                 cursors: CursorRegistry, accounting: Accounting, clock: Clock,
                 subrequest: Subrequest, org_id: str = "") -> Router:
    """Every REST route the local org serves."""
    org = OrgResource(accounting=accounting, org_id=org_id)
    search = SearchResource(engine=engine, store=store, schema=schema, clock=clock)
    replication = ReplicationResource(store=store, schema=schema, clock=clock)
    layouts = LayoutResource(schema=schema, engine=engine, store=store, clock=clock)
    tree = TreeResource(store=store, schema=schema)
    query = QueryResource(engine=engine, store=store, cursors=cursors, clock=clock)
    sobjects = SObjectResource(store=store, schema=schema)
    collections = CollectionsResource(store=store, schema=schema, sobjects=sobjects,
                                      accounting=accounting)
    composite = CompositeResource(store=store, subrequest=subrequest)

    router = Router()
    router.add("GET", "", org.directory, kind=CallKind.VERSIONS)
    router.add("GET", "limits", org.limits, kind=CallKind.LIMITS)
    router.add("GET", "search", search.search, kind=CallKind.SEARCH)
    router.add("GET", "recent", search.recent, kind=CallKind.SEARCH)

    router.add("GET", "query", query.query, kind=CallKind.QUERY_PAGE)
    router.add("GET", "queryAll", query.query_all, kind=CallKind.QUERY_PAGE)
    router.add("GET", "query/{locator}", query.more, kind=CallKind.QUERY_PAGE)
    router.add("GET", "queryAll/{locator}", query.more, kind=CallKind.QUERY_PAGE)

    router.add("GET", "sobjects", sobjects.global_describe, kind=CallKind.DESCRIBE)
    router.add("GET", "sobjects/{type}", sobjects.basic_info, kind=CallKind.DESCRIBE)
    router.add("POST", "sobjects/{type}", sobjects.create, kind=CallKind.SOBJECT)
    router.add("GET", "sobjects/{type}/describe", sobjects.describe_object, kind=CallKind.DESCRIBE)
    router.add("GET", "sobjects/{type}/updated", replication.updated, kind=CallKind.REPLICATION)
    router.add("GET", "sobjects/{type}/deleted", replication.deleted, kind=CallKind.REPLICATION)
    router.add("GET", "sobjects/{type}/listviews", layouts.list_views, kind=CallKind.DESCRIBE)
    router.add("GET", "sobjects/{type}/describe/layouts", layouts.layouts,
               kind=CallKind.DESCRIBE)
    router.add("GET", "sobjects/{type}/listviews/{view}/describe", layouts.list_view_describe,
               kind=CallKind.DESCRIBE)
    router.add("GET", "sobjects/{type}/listviews/{view}/results", layouts.list_view_results,
               kind=CallKind.QUERY_PAGE)
    router.add("GET PATCH DELETE", "sobjects/{type}/{id}", sobjects.record,
               kind=CallKind.SOBJECT)
    router.add("GET PATCH DELETE", "sobjects/{type}/{field}/{value}", sobjects.by_external_id,
               kind=CallKind.SOBJECT)

    router.add("POST PATCH", "composite/sobjects", collections.save,
               kind=CallKind.COLLECTIONS)
    router.add("DELETE", "composite/sobjects", collections.delete, kind=CallKind.COLLECTIONS)
    router.add("GET POST", "composite/sobjects/{type}", collections.retrieve,
               kind=CallKind.COLLECTIONS)
    router.add("PATCH", "composite/sobjects/{type}/{field}", collections.upsert,
               kind=CallKind.COLLECTIONS)
    router.add("POST", "composite", composite.composite, kind=CallKind.COMPOSITE)
    router.add("POST", "composite/tree/{type}", tree.create, kind=CallKind.COMPOSITE)
    return router
