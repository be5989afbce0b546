"""The HTTPS transport with a stub handler: keep-alive, chunked bodies, clean stop."""

from __future__ import annotations

import contextlib
import http.client
import ssl
import time
from pathlib import Path

from sfrenew.localorg.server import LocalOrgHttpServer
from sfrenew.localorg.tls import ensure_certificates, server_context
from sfrenew.localorg.wire import Request, Response


def _echo(request: Request) -> Response:
    return Response.json(200, {"method": request.method, "path": request.path,
                               "q": request.param("q"), "size": len(request.body)})


def _boom(request: Request) -> Response:
    raise RuntimeError("boom")


def _client(tmp_path: Path, port: int) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)


def test_keep_alive_chunked_and_clean_stop(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    server = LocalOrgHttpServer(port=0, ssl_context=server_context(files), handle=_echo)
    server.start()
    conn = _client(tmp_path, server.port)
    stopped = False
    try:
        conn.request("GET", "/a?q=SELECT+Id")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b'{"method":"GET","path":"/a","q":"SELECT Id","size":0}'
        conn.request("POST", "/b", body=iter([b"abc", b"defg"]),
                     headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        response = conn.getresponse()
        assert b'"size":7' in response.read()
        # The connection is idle and kept alive now: stop() must not wait for it.
        started = time.monotonic()
        server.stop()
        stopped = True
        assert time.monotonic() - started < 5
    finally:
        conn.close()
        if not stopped:
            server.stop()


def test_handler_crash_is_a_salesforce_shaped_500(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    server = LocalOrgHttpServer(port=0, ssl_context=server_context(files), handle=_boom)
    server.start()
    conn = _client(tmp_path, server.port)
    try:
        conn.request("GET", "/x")
        response = conn.getresponse()
        body = response.read()
        assert response.status == 500
        assert b'"errorCode":"UNKNOWN_EXCEPTION"' in body
        assert b"Traceback" not in body
    finally:
        conn.close()
        server.stop()


def test_plain_http_client_does_not_break_the_server(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    server = LocalOrgHttpServer(port=0, ssl_context=server_context(files), handle=_echo)
    server.start()
    try:
        plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            plain.request("GET", "/")
            with contextlib.suppress(http.client.HTTPException, OSError):
                plain.getresponse()
        finally:
            plain.close()
        conn = _client(tmp_path, server.port)
        try:
            conn.request("GET", "/ok")
            assert conn.getresponse().status == 200
        finally:
            conn.close()
    finally:
        server.stop()
