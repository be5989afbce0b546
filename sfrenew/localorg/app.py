"""``LocalOrg``: the embedded Salesforce-compatible org, usable in-process.

    with LocalOrg(Path(".state/localorg")) as org:
        info = org.connection_info   # instance_url, ca_file, client_id, ...
        ...

``start()`` creates (or reuses) the data dir's TLS material, credentials and
database, ensures the integration user exists, binds 127.0.0.1 on the given port
(0 = any free port), serves in background threads and writes
``connection.json`` (0600). ``stop()`` stops serving, joins every thread, releases
query cursors and closes the database.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sfrenew.clock import utc_now
from sfrenew.localorg.accounting import DEFAULT_DAILY_API_REQUESTS, Accounting
from sfrenew.localorg.admin import AdminResource
from sfrenew.localorg.allocation import ALLOCATION_FILE, DailyAllocation
from sfrenew.localorg.api import OrgApi
from sfrenew.localorg.auth import Authenticator
from sfrenew.localorg.bulk_jobs import BulkJobs
from sfrenew.localorg.bulk_routes import add_admin_paths, add_bulk_routes
from sfrenew.localorg.faults import FaultConfig, FaultInjector, FaultyStore
from sfrenew.localorg.identity import OrgIdentity, load_or_create_identity
from sfrenew.localorg.rest import build_router
from sfrenew.localorg.rest_query import DEFAULT_CURSOR_IDLE, CursorRegistry
from sfrenew.localorg.schema import OrgSchema, default_schema
from sfrenew.localorg.server import LocalOrgHttpServer
from sfrenew.localorg.sessions import DEFAULT_SESSION_LIFETIME, Session, SessionRegistry
from sfrenew.localorg.soql import QueryEngine
from sfrenew.localorg.store import OrgStore
from sfrenew.localorg.tls import ensure_certificates, server_context, write_private
from sfrenew.localorg.wire import Request, Response
from sfrenew.locks import FileLock

log = logging.getLogger(__name__)

DATABASE_FILE = "org.sqlite3"
CONNECTION_FILE = "connection.json"
LOCK_FILE = "org.lock"


def data_dir_lock(data_dir: Path) -> FileLock:
    """The lock a serving org holds on its data dir for its whole life: a second org, a
    reset or a demo wiping the folder gets :class:`sfrenew.locks.Busy` instead."""
    return FileLock(data_dir / LOCK_FILE, purpose="a local org serves this data dir",
                    busy=f"a local org is serving {data_dir}; stop it first (Ctrl-C "
                         f"where `sfrenew localorg serve` runs), or use another data dir")
DEFAULT_API_VERSION = "59.0"  # simple-salesforce's default; any version >= 50.0 is served
Clock = Callable[[], datetime]
ORGANIZATION_NAME = "sfrenew local org"  # also the SOAP login's organizationName




class LocalOrg:
    """One local org: a data dir, its database and an HTTPS server on 127.0.0.1."""

    def __init__(self, data_dir: Path | str, *, port: int = 0, clock: Clock | None = None,
                 session_lifetime: timedelta = DEFAULT_SESSION_LIFETIME,
                 daily_api_requests: int = DEFAULT_DAILY_API_REQUESTS,
                 cursor_idle: timedelta = DEFAULT_CURSOR_IDLE,
                 schema: OrgSchema | None = None, licenses: int = 0,
                 faults: FaultConfig | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.clock: Clock = clock or utc_now
        self.schema = schema or default_schema()
        # Usage persists in the data dir and resets with the org clock's UTC day.
        self.allocation = DailyAllocation(clock=self.clock, path=self.data_dir / ALLOCATION_FILE,
                                          daily_api_requests=daily_api_requests,
                                          licenses=licenses)
        self.accounting = Accounting(allocation=self.allocation)
        self.faults = FaultInjector(faults)
        if faults is not None and faults.session_lifetime_s is not None:
            session_lifetime = timedelta(seconds=faults.session_lifetime_s)
        self._bulk: BulkJobs | None = None
        self._port = port
        self._session_lifetime = session_lifetime
        self._cursor_idle = cursor_idle
        self._lock = threading.Lock()
        self._server: LocalOrgHttpServer | None = None
        self._store: OrgStore | None = None
        self._identity: OrgIdentity | None = None
        self._sessions: SessionRegistry | None = None
        self._cursors: CursorRegistry | None = None
        self._api: OrgApi | None = None
        self._integration_user_id: str | None = None
        self._held: FileLock | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> LocalOrg:
        """Open the data dir and serve; returns self."""
        with self._lock:
            if self._server is not None:
                return self
            self.data_dir.mkdir(parents=True, exist_ok=True)
            held = data_dir_lock(self.data_dir).acquire()  # Busy: another org serves it
            try:
                self._start_locked()
            except BaseException:
                held.release()
                raise
            self._held = held
        return self

    def _start_locked(self) -> None:
        """The body of :meth:`start`, under the data dir's lock."""
        # TLS clients check validity against their own (real) clock, never a shifted one.
        tls_files = ensure_certificates(self.data_dir)
        identity = load_or_create_identity(self.data_dir)
        store = OrgStore(self.data_dir / DATABASE_FILE, self.schema, clock=self.clock)
        try:
            self._identity, self._store = identity, store
            self._integration_user_id = self._ensure_integration_user()
            self._ensure_organization()
            self._sessions = SessionRegistry(org_id=identity.org_id, clock=self.clock,
                                             lifetime=self._session_lifetime)
            self._cursors = CursorRegistry(clock=self.clock, idle=self._cursor_idle)
            self._api = self._build_api()
            server = LocalOrgHttpServer(port=self._port,
                                        ssl_context=server_context(tls_files),
                                        handle=self._api.handle)
        except BaseException:
            if self._bulk is not None:
                self._bulk.close()
                self._bulk = None
            store.close()
            self._store = None
            raise
        server.start()
        self._server = server
        self._write_connection_file()
        log.info("local org serving at %s", self.instance_url)

    def stop(self) -> None:
        """Stop serving and close everything (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
            if server is not None:
                server.stop()
            if self._cursors is not None:
                self._cursors.close_all()
            if self._bulk is not None:
                self._bulk.close()  # workers stop at their next batch, before the store closes
                self._bulk = None
            if self._store is not None:
                self._store.close()
                self._store = None
            if self._held is not None:
                self._held.release()
                self._held = None

    def __enter__(self) -> LocalOrg:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- what clients and tests use ------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        return self._running_server().port

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def store(self) -> OrgStore:
        """The org's records (for seeding and fast-path inserts in tests)."""
        if self._store is None:
            raise RuntimeError("the local org is not started")
        return self._store

    @property
    def identity(self) -> OrgIdentity:
        """Org Id and credentials."""
        if self._identity is None:
            raise RuntimeError("the local org is not started")
        return self._identity

    @property
    def integration_user_id(self) -> str:
        """The Id of the User that logins run as."""
        if self._integration_user_id is None:
            raise RuntimeError("the local org is not started")
        return self._integration_user_id

    @property
    def connection_info(self) -> dict[str, Any]:
        """What a client needs to connect (also written to ``connection.json``)."""
        identity = self.identity
        return {
            "instance_url": self.instance_url,
            "ca_file": str((self.data_dir / "ca.pem").resolve()),
            "client_id": identity.client_id,
            "client_secret": identity.client_secret,
            "username": identity.username,
            "password": identity.password,
            "jwt_key_file": str(identity.jwt_private_key_file.resolve()),
            "org_id": identity.org_id,
            "api_version": DEFAULT_API_VERSION,
            "pid": os.getpid(),
        }

    def expire_sessions(self) -> int:
        """End every session now; clients get 401 INVALID_SESSION_ID next call."""
        return self._running_sessions().expire_all()

    def set_session_lifetime(self, lifetime: timedelta) -> None:
        """Change how long sessions issued from now on live."""
        self._session_lifetime = lifetime
        if self._sessions is not None:
            self._sessions.lifetime = lifetime

    def issue_session(self) -> str:
        """A fresh access token for the integration user (tests, the demo)."""
        identity = self.identity
        return self._running_sessions().issue(user_id=self.integration_user_id,
                                              username=identity.username).token

    def reset(self) -> None:
        """Delete every record (the integration user is recreated) and zero accounting."""
        if self._cursors is not None:
            self._cursors.close_all()
        self.store.reset()
        self._integration_user_id = self._ensure_integration_user()
        self._ensure_organization()
        self.accounting.reset()

    def stats(self) -> dict[str, Any]:
        """Accounting plus injected faults and record counts per object."""
        return {**self.accounting.snapshot(), "faults": self.faults.injected(),
                "records": self.store.counts()}

    def configure_faults(self, config: FaultConfig) -> None:
        """Replace the fault settings at run time (every fault stream restarts from the seed)."""
        self.faults.configure(config)
        if config.session_lifetime_s is not None:
            self.set_session_lifetime(timedelta(seconds=config.session_lifetime_s))

    @property
    def api(self) -> OrgApi:
        """The request pipeline (issue 3 adds hooks to ``api.hooks``)."""
        if self._api is None:
            raise RuntimeError("the local org is not started")
        return self._api

    # --- wiring ----------------------------------------------------------------------

    def _build_api(self) -> OrgApi:
        identity, sessions, cursors = self.identity, self._running_sessions(), self._cursors
        assert cursors is not None  # set just before; narrows the type for mypy
        authenticator = Authenticator(identity=identity, sessions=sessions,
                                      resolve_user=self._resolve_user, clock=self.clock,
                                      instance_url=lambda: self.instance_url)
        admin = AdminResource(identity=identity, sessions=sessions, accounting=self.accounting,
                              record_counts=self.store.counts)

        def subrequest(session: Session, request: Request) -> Response:
            # Composite serves its subrequests through the same pipeline (``api`` is
            # bound below, before any request can arrive).
            return api.subrequest(session, request)

        # Every REST write goes through the faulty store (UNABLE_TO_LOCK_ROW on rows).
        store = FaultyStore(self.store, self.faults)
        engine = QueryEngine(self.schema)
        router = build_router(store=store, schema=self.schema,
                              engine=engine, cursors=cursors,
                              accounting=self.accounting, clock=self.clock,
                              subrequest=subrequest, org_id=identity.org_id)
        self._bulk = BulkJobs(data_dir=self.data_dir, clock=self.clock)
        add_bulk_routes(router, jobs=self._bulk, store=store, schema=self.schema, engine=engine,
                        accounting=self.accounting, allocation=self.allocation,
                        faults=self.faults, clock=self.clock)
        add_admin_paths(admin, faults=self.faults, allocation=self.allocation,
                        set_session_lifetime=self.set_session_lifetime)
        api = OrgApi(router=router, authenticator=authenticator, sessions=sessions,
                     accounting=self.accounting, admin=admin.handle)
        api.hooks.append(self.faults)
        return api

    def _resolve_user(self, username: str) -> str | None:
        if self._identity is not None and username == self._identity.username:
            return self._integration_user_id
        return None

    def _ensure_integration_user(self) -> str:
        identity = self.identity
        conn = self.store.read_connection()
        try:
            row = conn.execute('SELECT "Id" FROM "User" WHERE "Username" = ?',
                               (identity.username,)).fetchone()
        finally:
            conn.close()
        if row is not None:
            return str(row[0])
        return self.store.create_system_user({
            "Username": identity.username,
            "FirstName": "sfrenew",
            "LastName": "Integration",
            "Alias": "sfrenew",
            "Email": identity.username,
            "IsActive": True,
        })

    def _ensure_organization(self) -> None:
        """The Organization record clients read (``sf org login`` queries it)."""
        if self.schema.object("Organization") is None:
            return  # a test schema without it
        self.store.ensure_fixed_record("Organization", self.identity.org_id, {
            "Name": ORGANIZATION_NAME,
            "OrganizationType": "Developer Edition",
            "InstanceName": "LOCAL",
            "IsSandbox": False,
            "IsReadOnly": False,
            "NamespacePrefix": None,
            "TrialExpirationDate": None,
            "DefaultLocaleSidKey": "en_US",
            "LanguageLocaleKey": "en_US",
            "TimeZoneSidKey": "GMT",
            "FiscalYearStartMonth": 1,
            "UsesStartDateAsFiscalYearName": False,
            "Country": "US",
            "SignupCountryIsoCode": "US",
            "UiSkin": "Theme3",
            "ReceivesInfoEmails": False,
            "ReceivesAdminInfoEmails": False,
            "PreferencesRequireOpportunityProducts": False,
            "DefaultAccountAccess": "Edit",
            "DefaultContactAccess": "ControlledByParent",
            "DefaultOpportunityAccess": "Edit",
            "DefaultLeadAccess": "ReadEditTransfer",
            "DefaultCaseAccess": "ReadEditTransfer",
            "DefaultCalendarAccess": "HideDetailsInsert",
            "DefaultPricebookAccess": "ReadSelect",
            "DefaultCampaignAccess": "All",
            "WebToCaseDefaultOrigin": "Web",
            "MonthlyPageViewsUsed": 0,
            "MonthlyPageViewsEntitlement": 0,
            "NumKnowledgeService": 0,
        }, user_id=self.integration_user_id)

    def _write_connection_file(self) -> None:
        payload = json.dumps(self.connection_info, indent=2, sort_keys=True) + "\n"
        write_private(self.data_dir / CONNECTION_FILE, payload.encode())

    def _running_server(self) -> LocalOrgHttpServer:
        if self._server is None:
            raise RuntimeError("the local org is not started")
        return self._server

    def _running_sessions(self) -> SessionRegistry:
        if self._sessions is None:
            raise RuntimeError("the local org is not started")
        return self._sessions
