"""LTI 1.3 endpoints: OIDC login initiation, the launch (redirect URI) and the tool's JWKS."""

from __future__ import annotations

import logging

from flask import Response, current_app, jsonify, make_response, redirect, render_template, request

from lti_tool import cookieless
from lti_tool.courses.access import remember_launch
from lti_tool.courses.services import record_launch
from lti_tool.database import state_only_transaction
from lti_tool.deep_linking.services import remember_request
from lti_tool.deep_linking.views import launch_destination
from lti_tool.extensions import db
from lti_tool.hosts import external_url, public_base_url
from lti_tool.lti.adapter import DEEP_LINKING_REQUEST, PlatformStorageCheck, ToolMessageLaunch, start_login
from lti_tool.roster.background import sync_after_launch
from lti_tool.runtime import runtime
from lti_tool.statements.events import record_lti_launch

log = logging.getLogger(__name__)


def login() -> Response:
    rt = runtime()
    state_only_transaction()
    rt.state.purge_expired()
    started = start_login(
        store=rt.state,
        settings=rt.settings,
        launch_url=external_url("lti.launch"),
        held=rt.login_registrations,
    )
    db.session.commit()
    if started.storage is None:
        return started.respond(redirect(started.auth_url))  # type: ignore[arg-type]
    # The LMS offers platform storage: a page keeps the state there (and goes on with the cookie if it cannot).
    return started.respond(make_response(render_template("lti/login_storage.html", login=started)))


def launch() -> Response:
    rt = runtime()
    tool_launch = ToolMessageLaunch(store=rt.state, settings=rt.settings, platform_keys=rt.platform_keys)
    try:
        claims = tool_launch.accept()
    except PlatformStorageCheck as check:
        # No state cookie: a page reads the login's secret from the LMS's storage and posts the launch again.
        return make_response(render_template("lti/launch_check.html", check=check))
    member = record_launch(claims)
    if claims.message_type == DEEP_LINKING_REQUEST:
        # Choosing content to place opens no resource link: no `launched` statement, the chooser keeps the request.
        remember_request(rt.state, claims, member, ttl_seconds=rt.settings.launch_data_ttl_seconds)
    else:
        record_lti_launch(claims, member, settings=rt.settings, tool_base=public_base_url())
    new_frame_origins = rt.frame_ancestors.learn_from_launch(claims)
    db.session.commit()
    if new_frame_origins:
        rt.frame_ancestors.learned(new_frame_origins)
    # In the background, so that the launch never waits for (or fails with) the LMS's roster service.
    sync_after_launch(current_app._get_current_object(), member, rt.settings)  # type: ignore[attr-defined]
    if tool_launch.via_platform_storage:
        cookieless.begin(member)  # the frame keeps no cookies: its links carry a session token instead
    remember_launch(member)
    # Identifiers only: no names or emails in logs.
    log.info(
        "launch accepted: platform=%s course=%s role=%s",
        claims.platform_id,
        member.course_id,
        member.course_role,
    )
    # A content selection opens the chooser; a placed link opens what its custom parameters name.
    destination = launch_destination(claims, member)
    if not tool_launch.via_platform_storage and cookieless.frame_may_drop_cookies(request):
        # The session cookie just set may not come back in this frame: the landing page can then go on without it.
        destination = cookieless.with_handoff(destination, member, state=request.form["state"])
    return redirect(destination, code=303)  # type: ignore[return-value]


def jwks() -> Response:
    response = jsonify(runtime().keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
