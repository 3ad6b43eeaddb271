"""Runs the tool under gunicorn: worker processes with threads, because a platform calls back into the tool
(JWKS, token requests) while one of its launches is being handled.

A gthread worker's thread reads a request's headers and body with blocking reads that no gunicorn setting bounds
in time, so workers x threads clients sending a byte a second stall everyone else. Production therefore runs behind
a proxy that buffers whole requests (README, "Running in production"); the limits here bound everything else."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.app.base import BaseApplication


class _ToolServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Each worker builds its own app (and database pool) after the fork; the environment carries the settings.
        from lti_tool import create_app

        app = create_app()
        set_startup_objects_aside()
        return app


def set_startup_objects_aside() -> None:
    """Leave what a worker builds at its start (the app, its settings, SQLAlchemy's mappers, compiled templates)
    out of the cyclic garbage collector's full scans: it lives as long as the worker, and a full collection
    rescans every object the collector tracks. In a process holding a large course's data one such scan took
    140-170 ms in the middle of a 20,000-row export that otherwise takes about 250 ms (issue 12). What is made
    later is collected as before."""
    gc.collect()  # garbage of the start is freed, not kept for good
    gc.freeze()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    _ToolServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            # gunicorn would take the scheme from X-Forwarded-Proto of any loopback client itself; the app's
            # ProxyFix does it for exactly TRUSTED_PROXIES proxies, so gunicorn must not.
            "secure_scheme_headers": {},
            "forwarded_allow_ips": "",
            # A worker whose main loop has not checked in for this long is killed and replaced. gthread threads
            # keep no heartbeat of their own: this is not a limit on one request's time.
            "timeout": 30,
            # On stop or restart, requests in progress get this long to finish.
            "graceful_timeout": 10,
            # An idle connection waits in the worker's poller (no thread) this long for its next (or first) request.
            "keepalive": 2,
            # Connections the kernel holds until a worker accepts them. Bounded, so that past it the proxy gives up
            # (its proxy_connect_timeout, then a 504) instead of queueing thousands that nobody waits for any more.
            "backlog": 256,
            # Request line (414 past it), header count and header size (431); checked before the app runs.
            "limit_request_line": 4094,
            "limit_request_fields": 100,
            "limit_request_field_size": 8190,
            "accesslog": "-",
            # No query strings in access logs: login hints and launch parameters identify people.
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms pid=%(p)s',
            "preload_app": False,
            # One shared control socket in $HOME would collide between instances on one machine.
            "control_socket_disable": True,
        }
    ).run()
