"""Serves WSGI apps on free loopback ports in background threads, so tests talk to them over real HTTP."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Test servers log nothing per request: failures, not traffic, belong in the output."""


class ServedApp:
    def __init__(self, server: BaseWSGIServer, host_name: str = "127.0.0.1") -> None:
        self._server = server
        self.port = server.server_port
        scheme = "https" if server.ssl_context else "http"
        self.url = f"{scheme}://{host_name}:{server.server_port}"

    def set_app(self, app: Any) -> None:
        """Swap the WSGI app: lets an app be built after its own URL (port) is known."""
        self._server.app = app


@contextmanager
def served(app: Any = None, *, tls: ssl.SSLContext | None = None, host_name: str = "127.0.0.1") -> Iterator[ServedApp]:
    """Serve on a free loopback port; with `tls`, over HTTPS, its URL under `host_name` (which the browser must
    map to loopback, see tests/cross_site.py)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler, ssl_context=tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ServedApp(server, host_name)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class CountingMiddleware:
    """Counts requests per path, to observe what a client (the tool) asked a server (the platform) for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            path = environ.get("PATH_INFO", "")
            self.counts[path] = self.counts.get(path, 0) + 1
        return self.app(environ, start_response)


class DrippingServer:
    """A raw HTTP server on loopback that sends every answer one byte per `interval`: slow enough to defeat
    per-read timeouts. It gives up on a connection after `lifetime` seconds, so that a client without a total
    deadline fails slowly instead of hanging the test run."""

    def __init__(self, answer: bytes, *, drip_headers: bool, interval: float, lifetime: float) -> None:
        head, _, body = answer.partition(b"\r\n\r\n")
        self._at_once = b"" if drip_headers else head + b"\r\n\r\n"
        self._dripped = answer if drip_headers else body
        self._interval = interval
        self._lifetime = lifetime
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._drip, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _drip(self, connection: socket.socket) -> None:
        gives_up = time.monotonic() + self._lifetime
        with connection:
            try:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(4096) or b"\r\n\r\n"
                connection.sendall(self._at_once)
                for byte in self._dripped:
                    if self._stop.wait(self._interval) or time.monotonic() > gives_up:
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up: what the tests expect

    def __enter__(self) -> DrippingServer:
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._threads[0].join(timeout=5)
        for thread in self._threads[1:]:
            thread.join(timeout=5)
        self._listener.close()


def dripping(
    body: bytes, *, drip_headers: bool = False, interval: float = 0.1, lifetime: float = 6.0
) -> DrippingServer:
    """A dripping server whose answer is a 200 with this JSON body; see DrippingServer."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return DrippingServer(head.encode() + body, drip_headers=drip_headers, interval=interval, lifetime=lifetime)
