"""Runs the tool under gunicorn: worker processes with threads, because a platform calls back into the tool
(JWKS, token requests) while one of its launches is being handled."""

from __future__ import annotations

import os
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

        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "127.0.0.1")
    _ToolServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": "-",
            # No query strings in access logs: login hints and launch parameters identify people.
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms pid=%(p)s',
            "preload_app": False,
            # One shared control socket in $HOME would collide between instances on one machine.
            "control_socket_disable": True,
        }
    ).run()
