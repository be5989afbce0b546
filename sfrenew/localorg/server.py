"""The HTTPS transport of the local org: stdlib ``ThreadingHTTPServer`` plus ``ssl``.

The server knows nothing about Salesforce: it turns each HTTP/1.1 request into a
:class:`~sfrenew.localorg.wire.Request`, hands it to a ``handle`` function and
writes the :class:`~sfrenew.localorg.wire.Response` back, always with
``Content-Length`` so connections stay alive.

TLS is negotiated in the connection's own thread (not in the accept loop), so a
slow or failing handshake never blocks other clients. Stopping is clean: the
accept loop ends, idle keep-alive connections are woken up and closed, in-flight
requests finish, and every connection thread is joined.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.wire import Request, Response

log = logging.getLogger(__name__)

Handler = Callable[[Request], Response]

BIND_HOST = "127.0.0.1"
MAX_BODY_BYTES = 160 * 1024 * 1024  # Bulk API 2.0 uploads go up to 150 MB
# "In each REST call, the maximum length for the combined URI and headers is 16,384
# bytes ... If the URI itself exceeds this limit, the request returns a 414 URI Too
# Long error" (Salesforce Help, knowledge article 000386264).
MAX_URI_BYTES = 16_384
_MAX_DRAIN_BYTES = 64 * 1024 * 1024  # beyond this a too-long request line just closes
_HANDSHAKE_TIMEOUT = 10.0
_IDLE_TIMEOUT = 60.0  # an idle keep-alive connection is closed after this
# Headers every Salesforce REST response carries that clients may look at.
_COMMON_HEADERS = (
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private"),
)


class _BadRequest(Exception):
    """A request the transport cannot read (bad length, bad chunking, too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfrenew-localorg"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    # Buffer the answer so status line, headers and a small body leave in one write;
    # handle_one_request flushes after each request.
    wbufsize = 64 * 1024
    server: LocalOrgHttpServer

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BadRequest as exc:
            self.close_connection = True  # the stream position is unknown now
            self._write(Response.from_error(
                SalesforceApiError.single(exc.status, "INVALID_REQUEST", str(exc))))
            return
        request = Request.build(method=self.command, target=self.path,
                                headers=dict(self.headers.items()), body=body)
        try:
            response = self.server.handle(request)
        except Exception:
            # The dispatcher already turns errors into answers; this is the last guard
            # so a client never sees a traceback or a dropped connection.
            log.exception("unhandled error serving %s %s", self.command, request.path)
            response = Response.from_error(SalesforceApiError.single(
                500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this "
                "ErrorId if you contact support: localorg"))
        self._write(response, head_only=self.command == "HEAD")

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def handle_one_request(self) -> None:
        """The stdlib loop step, with Salesforce's URI limit answered instead of dropped.

        The stdlib answers a request line over 64 KiB with 414 and closes at once, so a
        client still sending its URI sees the connection reset, never the answer. Here
        the rest of the request is read first, then 414 goes out with a JSON error.
        """
        try:
            self.raw_requestline = self.rfile.readline(MAX_URI_BYTES + 1)
            if len(self.raw_requestline) > MAX_URI_BYTES:
                self._refuse_long_uri()
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(501, f"Unsupported method ({self.command!r})")
                return
            method()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def _refuse_long_uri(self) -> None:
        self.close_connection = True
        drained = len(self.raw_requestline)
        line = self.raw_requestline
        while not line.endswith(b"\n") and drained < _MAX_DRAIN_BYTES:
            line = self.rfile.readline(1024 * 1024)
            if not line:
                return
            drained += len(line)
        length = 0
        while True:  # the headers, up to the blank line
            header = self.rfile.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        if 0 < length <= MAX_BODY_BYTES:
            self.rfile.read(length)
        self.command, self.request_version = "GET", "HTTP/1.1"
        self.requestline = "(request line too long)"
        self._write(Response.from_error(SalesforceApiError.single(
            414, "URI_TOO_LONG", f"The request URI is longer than {MAX_URI_BYTES:,} bytes; "
            "send a long SOQL statement in a composite subrequest or a Bulk query job")))
        self.wfile.flush()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError as exc:
            raise _BadRequest(400, "Invalid Content-Length") from exc
        if length < 0:
            raise _BadRequest(400, "Invalid Content-Length")
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, "Request body too large")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequest(400, "Invalid chunked encoding") from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are ignored
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequest(413, "Request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _write(self, response: Response, *, head_only: bool = False) -> None:
        self.send_response(response.status)
        for name, value in _COMMON_HEADERS:
            self.send_header(name, value)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.body and not head_only:
            self.wfile.write(response.body)

    def version_string(self) -> str:
        """The ``Server`` header (no Python version: nothing a client should depend on)."""
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """RFC 1123 date (the stdlib one, kept explicit for clarity)."""
        return formatdate(timestamp, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        """Route the stdlib access log to ``logging`` at debug level (never to stderr)."""
        log.debug("%s " + format, self.address_string(), *args)


class LocalOrgHttpServer(ThreadingHTTPServer):
    """A threading HTTPS server on 127.0.0.1 that serves one ``handle`` function."""

    daemon_threads = False  # stop() joins every connection thread
    block_on_close = True
    request_queue_size = 128  # the listen backlog; the stdlib's 5 drops bursts of clients

    def __init__(self, *, port: int, ssl_context: ssl.SSLContext, handle: Handler) -> None:
        self.ssl_context = ssl_context
        self.handle = handle
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((BIND_HOST, port), _RequestHandler)

    @property
    def port(self) -> int:
        """The port actually bound (useful when started with port 0)."""
        return int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Negotiate TLS in this connection's thread, then serve HTTP on it."""
        request.settimeout(_HANDSHAKE_TIMEOUT)
        # Without this, Nagle's algorithm meets the client's delayed ACK and a small
        # answer written in two pieces waits ~40 ms.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        with self._connections_lock:
            self._connections.add(tls)
        try:
            _RequestHandler(tls, client_address, self)
        except OSError as exc:
            log.debug("connection from %s ended: %s", client_address, exc)
        finally:
            with self._connections_lock:
                self._connections.discard(tls)
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        """Log unexpected connection errors instead of printing them to stderr."""
        log.exception("error on connection from %s", client_address)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"localorg-https-{self.port}",
            # Daemon so a process that forgets stop() can still exit; stop() joins it.
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close idle connections, finish in-flight requests, join threads."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            # Shut the read side only: an idle connection sees EOF and ends, an in-flight
            # request can still write its answer. socket.socket.shutdown bypasses
            # SSLSocket.shutdown, which would tear down TLS state under the thread using it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RD)
        self.server_close()  # joins the connection threads (block_on_close)
