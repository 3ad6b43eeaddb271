"""A real HTTP proxy in front of the test LRS that can fail on demand, and records what it forwarded.

Ralph answers correctly or not at all; the outages delivery must survive (500, 429, an LRS that hangs, an answer
lost after the LRS stored the batch) are played by this proxy, over real sockets, in front of the real LRS.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from tests.servers import served

# Hop-by-hop headers, and those httpx already decoded or recomputes, must not be copied across.
_SKIPPED_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host", "te", "upgrade"}
)
MAX_HANG_SECONDS = 30.0


class Mode(StrEnum):
    PASS = "pass"  # forward everything
    FAIL = "fail"  # answer `status` without forwarding (500, 503, 429 ...)
    HANG = "hang"  # hold the request without forwarding, until released or MAX_HANG_SECONDS
    LOSE_ANSWER = "lose-answer"  # forward (the LRS stores the batch), then hang instead of answering


@dataclass(frozen=True)
class ForwardedPost:
    """One POST of statements that reached the LRS, and what the LRS answered."""

    statement_ids: tuple[str, ...]
    status: int


class LrsProxy:
    """A WSGI app forwarding to `upstream` (an LRS base URL such as Ralph's http://127.0.0.1:PORT)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""  # set by `serve_proxy` once the port is known
        self._http = httpx.Client(timeout=30)
        self._lock = threading.Lock()
        self._mode = Mode.PASS
        self._status = 500
        self._retry_after: str | None = None
        self._release = threading.Event()
        self._post_seen = threading.Event()
        self.forwarded: list[ForwardedPost] = []
        self.posts_received = 0
        self.delay_seconds = 0.0  # added before forwarding each POST, to make concurrent batches overlap

    @property
    def endpoint(self) -> str:
        return f"{self.url}/xAPI"

    # --- Switching --------------------------------------------------------------------------------

    def passthrough(self) -> None:
        self._switch(Mode.PASS)

    def fail(self, status: int = 500, *, retry_after: str | None = None) -> None:
        self._switch(Mode.FAIL, status=status, retry_after=retry_after)

    def hang(self) -> None:
        self._switch(Mode.HANG)

    def lose_answers(self) -> None:
        self._switch(Mode.LOSE_ANSWER)

    def _switch(self, mode: Mode, *, status: int = 500, retry_after: str | None = None) -> None:
        with self._lock:
            # Requests held by the previous mode give up (their client has timed out or been killed by now).
            self._release.set()
            self._release = threading.Event()
            self._mode, self._status, self._retry_after = mode, status, retry_after
            self._post_seen.clear()

    def wait_for_post(self, timeout: float = 30.0) -> bool:
        """Whether a POST of statements arrived (since the last switch) within `timeout` seconds."""
        return self._post_seen.wait(timeout)

    # --- What was forwarded -----------------------------------------------------------------------

    def forwarded_ids(self) -> list[str]:
        with self._lock:
            return [statement_id for post in self.forwarded for statement_id in post.statement_ids]

    def ids_forwarded_more_than_once(self) -> dict[str, int]:
        return {key: count for key, count in Counter(self.forwarded_ids()).items() if count > 1}

    # --- The WSGI app -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        is_post = method == "POST" and path.rstrip("/").endswith("/statements")
        with self._lock:
            mode, status, retry_after, release = self._mode, self._status, self._retry_after, self._release
            delay = self.delay_seconds
            if is_post:
                self.posts_received += 1
        if mode is Mode.FAIL:
            headers = [("Content-Type", "application/json")]
            if retry_after is not None:
                headers.append(("Retry-After", retry_after))
            self._saw_post(is_post)
            start_response(f"{status} Proxy Says So", headers)
            return [json.dumps({"detail": f"the test proxy answers {status}"}).encode()]
        if mode is Mode.HANG:
            self._saw_post(is_post)
            release.wait(MAX_HANG_SECONDS)
            start_response("504 Gateway Timeout", [("Content-Type", "text/plain")])
            return [b"held by the test proxy"]
        if is_post and delay:
            time.sleep(delay)
        response = self._forward(environ, method, path, body)
        if is_post:
            with self._lock:
                self.forwarded.append(ForwardedPost(_statement_ids(body), response.status_code))
        # Only now, in LOSE_ANSWER mode: the LRS holds the batch before anyone is told a POST arrived.
        self._saw_post(is_post)
        if mode is Mode.LOSE_ANSWER:
            release.wait(MAX_HANG_SECONDS)
            start_response("504 Gateway Timeout", [("Content-Type", "text/plain")])
            return [b"answer lost by the test proxy"]
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _SKIPPED_HEADERS]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]

    def _saw_post(self, is_post: bool) -> None:
        if is_post:
            self._post_seen.set()

    def _forward(self, environ: dict[str, Any], method: str, path: str, body: bytes) -> httpx.Response:
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _SKIPPED_HEADERS
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        query = environ.get("QUERY_STRING", "")
        url = f"{self.upstream}{path}" + (f"?{query}" if query else "")
        return self._http.request(method, url, content=body or None, headers=headers)

    def release_held(self) -> None:
        """Let every held request return (before the server stops, so no thread waits out MAX_HANG_SECONDS)."""
        with self._lock:
            self._release.set()

    def close(self) -> None:
        self.release_held()
        self._http.close()


def _statement_ids(body: bytes) -> tuple[str, ...]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return ()
    statements = parsed if isinstance(parsed, list) else [parsed]
    return tuple(s["id"] for s in statements if isinstance(s, dict) and isinstance(s.get("id"), str))


@contextmanager
def serve_proxy(upstream: str) -> Iterator[LrsProxy]:
    """The proxy on a free loopback port, in front of `upstream`; it passes everything through at first."""
    proxy = LrsProxy(upstream)
    try:
        with served(proxy) as server:
            proxy.url = server.url
            try:
                yield proxy
            finally:
                proxy.release_held()
    finally:
        proxy.close()
