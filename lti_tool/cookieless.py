"""Sessions for LMS frames that keep no cookies: a signed, short-lived token in the tool's own links and forms
names a session kept on the server.

A launch that came through platform storage (its frame sent no state cookie), or whose landing page finds that the
session cookie set by the launch did not come back (the launch's *handoff*, below), starts a *frame session*: a
record in the launch state store (database or Redis) holding what the cookie session would hold (the LMS user, that
launch's membership, flashed messages, the CSRF token), for SESSION_HOURS at most. Its token, `lti_session=<token>`
in the query string of every URL `url_for` builds for the tool's course pages, is an itsdangerous signature (the
app's SECRET_KEY, a salt of its own) over the record's id and the launch's user, course and role, with the time it
was issued: a token is refused after `cookieless_token_ttl_seconds`, and each page carries a fresh one once its
token is ROTATE_SECONDS old, so a token left behind (in history, a copied link) stops working within that lifetime.
GET forms carry it in a hidden field (`frame_session_field()`); POST forms in their action URL, and CSRF tokens are
checked as with cookies (the CSRF secret lives in the record). Pages answered with a token say `Referrer-Policy: no-
referrer`, and neither the tool's logs nor gunicorn's access log carry query strings, so the token reaches no log
and no other site.

The handoff: a launch that did get its state cookie, in a cross-site frame (`Sec-Fetch-Dest: iframe`,
`Sec-Fetch-Site: cross-site`), may still lose the session cookie it sets (a browser that keeps partitioned cookies
and not others, `COOKIE_PARTITIONED=false`). Its redirect therefore names the launch in a signed `lti_launch`
parameter valid for HANDOFF_SECONDS; a landing page that finds no session for it starts a frame session, but
only for the browser that still presents that login's state cookie (its browser secret, lti_tool.lti.binding),
so the parameter alone, seen by anyone else, opens nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from flask import Flask, Request, Response, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from lti_tool.courses.access import COURSES_KEY, USER_KEY, remember_launch
from lti_tool.courses.models import Membership
from lti_tool.courses.services import LaunchedMember
from lti_tool.errors import LaunchError, NotAuthorised
from lti_tool.extensions import db
from lti_tool.lti.binding import check_browser_secret
from lti_tool.runtime import runtime

log = logging.getLogger(__name__)

TOKEN_PARAM = "lti_session"  # noqa: S105 (a parameter name)
SESSION_HOURS = 8
ROTATE_SECONDS = 300
_SALT = "mentor-lti frame session"
HANDOFF_PARAM = "lti_launch"
HANDOFF_SECONDS = 120
_HANDOFF_SALT = "mentor-lti launch handoff"
_RECORD = "frame-session-"
# Endpoints whose URLs never carry the token: static files (public, cached), the LTI endpoints (login, launch,
# JWKS, registration and the admin pages, which have their own sign-in), and the sandbox LMS.
_WITHOUT_TOKEN = ("static",)
_WITHOUT_TOKEN_BLUEPRINTS = ("lti.",)
_ENDED = "frame_session_ended"
_TOKEN = "frame_session_token"  # noqa: S105 (an attribute name)


class FrameSession(SecureCookieSession):
    """Flask's session dict; with a `record` (a frame session), saved to the store instead of a cookie."""

    def __init__(self, initial: Any = None, *, record: dict[str, Any] | None = None, token: bool = False) -> None:
        super().__init__(initial or {})
        self.record = record
        self.token = token  # the request carried a token (refused when there is no record): never set a cookie


class FrameSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, or a frame session for a request that carries a token."""

    session_class = FrameSession

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        token = request.args.get(TOKEN_PARAM)
        if token is None:
            return super().open_session(app, request)
        return _open(token)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FrameSession) or not (session.token or session.record):
            super().save_session(app, session, response)
            return
        response.headers["Referrer-Policy"] = "no-referrer"
        if session.record is not None and session.modified:
            _save(session)


def begin(member: LaunchedMember) -> None:
    """Start a frame session for this launch: this request's session becomes it, and every URL built from now on
    (the launch's redirect first) carries its token."""
    settings = runtime().settings
    record = {
        "id": secrets.token_urlsafe(16),
        "user": member.user_id,
        "course": member.course_id,
        "role": member.course_role,
        "ends": int(time.time()) + SESSION_HOURS * 3600,
    }
    current: Any = session
    current.clear()  # nothing of a cookie session (there is none in such a frame) goes over
    current.record = record
    current.modified = True
    setattr(g, _TOKEN, _serializer(settings.secret_key).dumps(_claims(record)))
    log.info("frame session started: course=%s role=%s", member.course_id, member.course_role)


def frame_may_drop_cookies(req: Request) -> bool:
    """A navigation inside another site's frame: there a browser may drop some of the tool's cookies."""
    return req.headers.get("Sec-Fetch-Dest") == "iframe" and req.headers.get("Sec-Fetch-Site") == "cross-site"


def with_handoff(url: str, member: LaunchedMember, *, state: str) -> str:
    """`url` with the signed handoff of this launch (see the module's docstring)."""
    claims = {"m": member.membership_id, "u": member.user_id, "c": member.course_id, "s": state}
    token = URLSafeTimedSerializer(runtime().settings.secret_key, salt=_HANDOFF_SALT).dumps(claims)
    return f"{url}{'&' if '?' in url else '?'}{HANDOFF_PARAM}={token}"


def _handed_off() -> LaunchedMember | None:
    """The membership a landing page's valid handoff names, when this browser started that launch's login and the
    session does not hold it already (its cookie did not come back)."""
    try:
        claims = URLSafeTimedSerializer(runtime().settings.secret_key, salt=_HANDOFF_SALT).loads(
            request.args[HANDOFF_PARAM], max_age=HANDOFF_SECONDS
        )
        if session.get(USER_KEY) == claims["u"] and session.get(COURSES_KEY, {}).get(str(claims["c"])) == claims["m"]:
            return None  # the session cookie came back: nothing to do
        secret = request.cookies.get(f"lti1p3-{claims['s']}")
        if not secret:
            return None
        check_browser_secret(runtime().state, str(claims["s"]), secret)
    except (BadSignature, LaunchError, KeyError, TypeError):
        return None
    membership = db.session.get(Membership, claims["m"])
    if membership is None or (membership.user_id, membership.course_id) != (claims["u"], claims["c"]):
        return None
    return LaunchedMember.of(membership)


def frame_session_field() -> Markup:
    """The hidden input a GET form needs (its submission replaces the action URL's query string)."""
    token = g.get(_TOKEN)
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(TOKEN_PARAM, token)


def init_app(app: Flask) -> None:
    app.session_interface = FrameSessionInterface()
    app.jinja_env.globals["frame_session_field"] = frame_session_field

    @app.url_defaults
    def carry_token(endpoint: str, values: dict[str, Any]) -> None:
        token = g.get(_TOKEN)
        if not token or TOKEN_PARAM in values or endpoint in _WITHOUT_TOKEN:
            return
        if endpoint.startswith(_WITHOUT_TOKEN_BLUEPRINTS):
            return
        values[TOKEN_PARAM] = token

    @app.before_request
    def continue_without_session_cookie() -> Any:
        if HANDOFF_PARAM not in request.args or TOKEN_PARAM in request.args or request.method != "GET":
            return None
        member = _handed_off()
        if member is None or request.endpoint is None:
            return None
        begin(member)
        remember_launch(member)
        log.info("frame session after a lost session cookie: course=%s", member.course_id)
        values: dict[str, Any] = {k: v for k, v in request.args.items() if k != HANDOFF_PARAM}
        return redirect(url_for(request.endpoint, **{**(request.view_args or {}), **values}), code=303)

    @app.before_request
    def refuse_ended_session() -> None:
        if g.get(_ENDED) and request.endpoint and not request.endpoint.startswith((*_WITHOUT_TOKEN, "lti.")):
            raise NotAuthorised(
                "Your session in this LMS frame has ended: the link you followed is too old, or the session's "
                f"{SESSION_HOURS} hours are over.",
                hint="Open the tool again from your course in the LMS.",
            )


def _open(token: str) -> FrameSession:
    settings = runtime().settings
    try:
        claims, issued = _serializer(settings.secret_key).loads(
            token, max_age=settings.cookieless_token_ttl_seconds, return_timestamp=True
        )
        record = runtime().state.get(_RECORD + str(claims["s"]))
        if not isinstance(record, dict) or _claims(record) != claims or record["ends"] <= time.time():
            raise BadSignature("no such session")
    except (BadSignature, SignatureExpired, KeyError, TypeError) as error:
        # Only the kind of refusal: a token is a credential and never reaches a log.
        log.info("frame session token refused: %s", type(error).__name__)
        g.setdefault(_ENDED, True)
        return FrameSession(token=True)
    fresh = time.time() - issued.timestamp() < ROTATE_SECONDS
    g.setdefault(_TOKEN, token if fresh else _serializer(settings.secret_key).dumps(claims))
    return FrameSession(record.get("data") or {}, record=record, token=True)


def _save(session: FrameSession) -> None:
    """Write the record at once, committed on its own. The view has committed its own work by now, or it failed
    and was rolled back, so what the database session still holds would be dropped at teardown anyway."""
    record = {**(session.record or {}), "data": dict(session)}
    ttl = max(int(record["ends"] - time.time()), 1)
    db.session.rollback()
    runtime().state.put(_RECORD + record["id"], record, ttl)
    db.session.commit()


def _claims(record: dict[str, Any]) -> dict[str, Any]:
    """What a token says, and its record must agree with: the record, and the launch's user, course and role."""
    return {"s": record["id"], "u": record["user"], "c": record["course"], "r": record["role"]}


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)
