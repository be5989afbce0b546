"""The local org's request pipeline: one ``handle(request) -> response`` for the server.

Every request goes through the same steps, in this order:

1. top-level paths: OAuth token endpoint, SOAP login, version list, admin
   (``/_localorg/...``), anything else outside ``/services/data/vNN.0`` is 404;
2. API version check (400 ``UNSUPPORTED_API_VERSION``);
3. session check (401 ``INVALID_SESSION_ID``, not counted, no limit header);
4. route lookup (404 ``NOT_FOUND`` / 405), allocation check (403
   ``REQUEST_LIMIT_EXCEEDED``), then the ``CallHook``s (issue 3 injects latency and
   faults there);
5. the handler; any ``SalesforceApiError`` becomes Salesforce's JSON error list,
   anything else a logged 500 ``UNKNOWN_EXCEPTION`` (never a traceback);
6. accounting, and ``Sforce-Limit-Info`` on every counted answer.

Composite subrequests reuse steps 2, 4 (without hooks and allocation) and 5 through
:meth:`OrgApi.subrequest`: they are part of one counted call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Protocol

from sfrenew.localorg.accounting import Accounting, CallKind
from sfrenew.localorg.auth import Authenticator
from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.routes import Call, Router, parse_version, split_path, version_list
from sfrenew.localorg.sessions import Session, SessionRegistry, bearer_token
from sfrenew.localorg.wire import Request, Response, not_found

log = logging.getLogger(__name__)

_DATA = re.compile(r"^/services/data/(v[^/]*)(/.*)?$")
_SOAP = re.compile(r"^/services/Soap/u/(\d+\.\d)(/.*)?$")
ADMIN_PREFIX = "/_localorg/"


class CallHook(Protocol):
    """Runs before each counted REST call; may sleep or raise a ``SalesforceApiError``.

    A hook may also define ``after_call(request, *, kind)``: it then runs once the
    handler is done (whatever the outcome) for every hook whose ``before_call``
    returned, so a hook can track requests in flight (the concurrency cap).
    """

    def before_call(self, request: Request, *, kind: CallKind) -> None:
        """Inspect the call about to be served."""


def unsupported_version() -> SalesforceApiError:
    """What Salesforce answers for an API version it does not serve."""
    return SalesforceApiError.single(400, "UNSUPPORTED_API_VERSION",
                                     "Invalid Api version specified on URL")


_NUMERIC_VERSION = re.compile(r"^v\d+\.\d+$")


def version_error(segment: str) -> SalesforceApiError:
    """The error for a version segment this org does not serve.

    A numeric version outside the supported range is 400 UNSUPPORTED_API_VERSION; a
    segment that is not a version at all is a path Salesforce does not know (404, as
    recorded for ``viAmABadVersion``).
    """
    if _NUMERIC_VERSION.match(segment):
        return unsupported_version()
    return SalesforceApiError.single(404, "NOT_FOUND", "The requested resource does not exist")


def unknown_exception() -> SalesforceApiError:
    """The 500 answer when something really broke (details go to the log, not the client)."""
    return SalesforceApiError.single(
        500, "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "localorg")


def run_handler(handler: Callable[[], Response], *, what: str) -> Response:
    """Call a handler, turning every failure into a Salesforce-shaped answer."""
    try:
        return handler()
    except SalesforceApiError as exc:
        return Response.from_error(exc)
    except Exception:
        log.exception("unexpected error in %s", what)
        return Response.from_error(unknown_exception())


class OrgApi:
    """Dispatches requests to auth, admin and REST handlers, with accounting."""

    def __init__(self, *, router: Router, authenticator: Authenticator,
                 sessions: SessionRegistry, accounting: Accounting,
                 admin: Callable[[Request], Response] | None = None) -> None:
        self.router = router
        self.authenticator = authenticator
        self.sessions = sessions
        self.accounting = accounting
        self.admin = admin
        self.hooks: list[CallHook] = []

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request."""
        path = request.path
        if path == "/services/oauth2/token":
            return self._uncounted(CallKind.AUTH, request,
                                   lambda: self.authenticator.token_endpoint(request))
        if path == "/services/oauth2/revoke":
            return self._uncounted(CallKind.AUTH, request,
                                   lambda: self.authenticator.revoke(request))
        soap = _SOAP.match(path)
        if soap is not None:
            version = soap.group(1)
            return self._uncounted(CallKind.AUTH, request,
                                   lambda: self.authenticator.soap_login(request,
                                                                         api_version=version))
        if path.startswith("/id/") or path == "/services/oauth2/userinfo":
            return self._uncounted(CallKind.AUTH, request, lambda: self._identity(request))
        if path in ("/services/data", "/services/data/"):
            return self._uncounted(CallKind.VERSIONS, request,
                                   lambda: Response.json(200, version_list()))
        if path.startswith(ADMIN_PREFIX) and self.admin is not None:
            admin = self.admin
            return self._uncounted(CallKind.ADMIN, request, lambda: admin(request))
        data = _DATA.match(path)
        if data is None:
            return self._uncounted(CallKind.OTHER, request, lambda: _raise(not_found()))
        return self._rest(request, data.group(1), data.group(2) or "")

    def _identity(self, request: Request) -> Response:
        session = self.sessions.lookup(bearer_token(request.header("authorization")))
        return self.authenticator.identity_endpoint(request, session)

    def _uncounted(self, kind: CallKind, request: Request,
                   handler: Callable[[], Response]) -> Response:
        response = run_handler(handler, what=f"{request.method} {request.path}")
        self.accounting.record_call(kind, counted=False)
        if response.error_code is not None:
            self.accounting.record_error(response.error_code)
        return response

    def _rest(self, request: Request, version_text: str, rest: str) -> Response:
        version = parse_version(version_text)
        if version is None:
            return self._uncounted(CallKind.OTHER, request,
                                   lambda: _raise(version_error(version_text)))
        try:
            session = self.sessions.lookup(bearer_token(request.header("authorization")))
        except SalesforceApiError as exc:
            # Salesforce sends no Sforce-Limit-Info with a 401 and does not count it.
            return self._uncounted(CallKind.OTHER, request, partial(_raise, exc))
        kind = CallKind.OTHER

        def serve() -> Response:
            nonlocal kind
            route, args = self.router.resolve(request.method, split_path(rest))
            kind = route.kind
            self.accounting.check_allocation()
            entered: list[CallHook] = []
            try:
                for hook in self.hooks:
                    hook.before_call(request, kind=kind)
                    entered.append(hook)
                return route.handler(Call(request=request, session=session, version=version,
                                          args=args))
            finally:
                for hook in reversed(entered):
                    after = getattr(hook, "after_call", None)
                    if after is not None:
                        after(request, kind=kind)

        response = run_handler(serve, what=f"{request.method} {request.path}")
        if response.status == 403 and response.error_code == "REQUEST_LIMIT_EXCEEDED":
            # A refused call does not use allocation (it would never recover otherwise).
            self.accounting.record_call(kind, counted=False)
        else:
            self.accounting.record_call(kind, counted=True)
            response.counted = True
        if response.error_code is not None:
            self.accounting.record_error(response.error_code)
        response.headers.append(("Sforce-Limit-Info", self.accounting.limit_info()))
        return response

    def subrequest(self, session: Session, request: Request) -> Response:
        """Serve a composite subrequest: same routes, no auth, no separate accounting."""

        def serve() -> Response:
            data = _DATA.match(request.path)
            if data is None:
                raise not_found()
            version = parse_version(data.group(1))
            if version is None:
                raise version_error(data.group(1))
            segments = split_path(data.group(2) or "")
            if segments[:1] == ["composite"] and len(segments) == 1:
                # Salesforce refuses composite inside composite.
                raise SalesforceApiError.single(
                    400, "INVALID_BATCH_REQUEST",
                    "Composite requests cannot be nested inside a composite request")
            route, args = self.router.resolve(request.method, segments)
            return route.handler(Call(request=request, session=session, version=version,
                                      args=args))

        return run_handler(serve, what=f"composite {request.method} {request.path}")


def _raise(error: SalesforceApiError) -> Response:
    raise error
