"""Response headers every answer carries: CSP with the LMS origins that may frame the tool, no caching of
personal pages, HSTS over HTTPS."""

from __future__ import annotations

from flask import Flask, Response, request

from lti_tool.runtime import runtime

_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'{form_action}; frame-ancestors {frame_ancestors}"
)
HSTS = "max-age=31536000; includeSubDomains"
# Static assets are not fingerprinted: a short public lifetime, so a new release's CSS and scripts arrive soon.
STATIC_MAX_AGE_SECONDS = 600


def content_security_policy(*, form_action: str = "", page: bool = True, any_frame: bool = False) -> str:
    """The tool's policy; `form_action` adds one origin forms may post to (the LMS's deep linking return).
    Only pages (`page`) are framed by the LMS; anything else (JSON, files) may be framed by the tool alone.
    `any_frame`: a page that any origin may frame (see `registration_views`)."""
    if any_frame:
        frame_ancestors = "*"
    elif page:
        frame_ancestors = runtime().frame_ancestors.sources()
    else:
        frame_ancestors = "'self'"
    return _POLICY.format(form_action=f" {form_action}" if form_action else "", frame_ancestors=frame_ancestors)


def init_app(app: Flask) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE_SECONDS

    @app.after_request
    def security_headers(response: Response) -> Response:
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy(page=response.mimetype == "text/html")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # Course pages show personal data: nothing dynamic is cached by the browser or a proxy unless a view
        # says so (the JWKS, static assets).
        response.headers.setdefault("Cache-Control", "no-store")
        # As the browser sees it: behind a TLS-terminating proxy, `is_secure` follows the trusted X-Forwarded-Proto.
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
