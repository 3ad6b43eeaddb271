"""Which Host names the tool answers to, and the one public base URL it builds xAPI ids and links under.

A forged `Host` (or, behind trusted proxies, `X-Forwarded-Host`) must not reach ids and links: Flask's
TRUSTED_HOSTS refuses any other host before a view runs, and ids and links prefer PUBLIC_BASE_URL anyway.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request, url_for
from werkzeug.exceptions import SecurityError

from lti_tool.runtime import runtime
from lti_tool.settings import Settings

log = logging.getLogger(__name__)

# Werkzeug ignores the port. It cannot match a bracketed IPv6 name ([::1]), so development uses these two.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")

_UNTRUSTED = (
    "This server does not answer to the host name this request was sent to.\n"
    "Administrators: set MENTOR_LTI_PUBLIC_BASE_URL to the tool's public URL, or list the host names it is "
    "reached under in MENTOR_LTI_TRUSTED_HOSTS (behind a proxy, the host it forwards in X-Forwarded-Host).\n"
)


def trusted_hosts(settings: Settings) -> list[str]:
    """`trusted_hosts` and the host of `public_base_url`; with neither set, only loopback names (development)."""
    hosts = list(settings.trusted_hosts)
    if settings.public_base_url:
        hosts.append(urlsplit(settings.public_base_url).hostname or "")
    return hosts or list(LOOPBACK_HOSTS)


def init_app(app: Flask, settings: Settings) -> None:
    """Refuse untrusted hosts with a plain 400; call before any extension adds its own before-request checks."""
    app.config["TRUSTED_HOSTS"] = trusted_hosts(settings)

    @app.before_request
    def refuse_untrusted_host() -> None:
        # Flask records the refusal as a routing error, but before-request hooks (CSRF) would still run first.
        if isinstance(request.routing_exception, SecurityError):
            raise request.routing_exception

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError) -> Response:
        # Plain text: without a trusted host Flask builds no URLs, so the HTML error pages cannot render.
        log.warning("request refused: untrusted host")
        return Response(_UNTRUSTED, status=400, mimetype="text/plain")


def public_base_url() -> str:
    """The tool's public URL without a trailing slash: PUBLIC_BASE_URL, else this (trusted) request's root."""
    return runtime().settings.public_base_url or request.url_root.rstrip("/")


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of one of the tool's endpoints, under `public_base_url()` (which includes any prefix)."""
    return public_base_url() + url_for(endpoint, **values)[len(request.script_root) :]
