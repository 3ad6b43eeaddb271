"""Serves WSGI apps on free loopback ports in background threads, so tests talk to them over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Test servers log nothing per request: failures, not traffic, belong in the output."""


class ServedApp:
    def __init__(self, server: BaseWSGIServer) -> None:
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_port}"

    def set_app(self, app: Any) -> None:
        """Swap the WSGI app: lets an app be built after its own URL (port) is known."""
        self._server.app = app


@contextmanager
def served(app: Any = None) -> Iterator[ServedApp]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ServedApp(server)
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
