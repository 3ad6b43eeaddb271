"""Installing the tool in an LMS: LTI Dynamic Registration, the Canvas developer key JSON, and the admin page that
shows what to paste and which platforms are registered."""

from __future__ import annotations

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from lti_tool.errors import MentorLtiError, RegistrationError
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.lti import admin as admin_access
from lti_tool.lti import throttle
from lti_tool.lti.admin import AdminSignInForm, DeploymentForm
from lti_tool.lti.dynamic_registration import (
    ASK_FOR_INVITATION,
    DynamicRegistrationError,
    add_deployment,
    recent_registrations,
    register_tool,
    registration_slot,
)
from lti_tool.lti.invitations import create_invitation, open_invitations, revoke_invitation
from lti_tool.lti.models import RegistrationInvitation
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.lti.registrations import list_platforms
from lti_tool.lti.tool_configuration import ToolConfiguration
from lti_tool.runtime import runtime
from lti_tool.security_headers import content_security_policy
from lti_tool.settings import Settings


def _tool(settings: Settings) -> ToolConfiguration:
    return ToolConfiguration(base_url=public_base_url(), name=settings.tool_name)


def _registration_page(body: str, status: int = 200) -> Response:
    """A registration page, which the LMS shows in its own admin page (Moodle in a frame, Canvas in a window).
    Any origin may frame it: until the registration is done the tool cannot know the LMS's origin (Moodle frames
    from its wwwroot, Canvas from the institution's domain), and these pages hold nothing a framing page could
    abuse: the registration happened on the GET that opened them, and their one button only tells the opener to
    close."""
    response = Response(body, status=status)
    response.headers["Content-Security-Policy"] = content_security_policy(any_frame=True)
    return response


def _registration_failed(error: DynamicRegistrationError) -> Response:
    response = _registration_page(render_template("lti/registration_failed.html", error=error), error.status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def register(invitation: str) -> ResponseReturnValue:
    """LTI Dynamic Registration: the LMS opens the invitation's link with its configuration URL and a registration
    token. Throttled per client address before anything else, so guessing links or flooding the tool is slow."""
    rt = runtime()
    tool = _tool(rt.settings)
    wait = throttle.wait_seconds(rt.state, throttle.REGISTRATION_PER_ADDRESS, request.remote_addr or "")
    if wait is not None:
        error = DynamicRegistrationError(
            "too_many_attempts",
            f"Too many registration attempts came from your address. Try again in {wait} seconds.",
            hint="Nothing was fetched or registered.",
            status=429,
            retry_after=wait,
        )
        return _registration_failed(error)
    try:
        with registration_slot(rt.registration_slots), PlatformHttp(rt.settings) as http:
            outcome = register_tool(
                invitation=invitation,
                configuration_url=request.args.get("openid_configuration", ""),
                registration_token=request.args.get("registration_token", ""),
                tool=tool,
                http=http,
            )
    except DynamicRegistrationError as error:
        return _registration_failed(error)
    return _registration_page(render_template("lti/registration_done.html", outcome=outcome, tool=tool))


def register_uninvited() -> ResponseReturnValue:
    """The registration URL without an invitation: it says how to get one, and fetches and writes nothing."""
    error = DynamicRegistrationError(
        "invitation_required",
        "The tool registers only with an LMS its administrator invited, through a one-time registration link. "
        "This address is not such a link.",
        hint=ASK_FOR_INVITATION,
        status=403,
    )
    return _registration_failed(error)


def canvas_json() -> Response:
    """The Canvas developer key configuration: the JSON URL of Apps > Install a New App > Enter URL, or of
    Developer Keys > + LTI Key > Enter URL."""
    response = jsonify(_tool(runtime().settings).canvas_developer_key())
    response.headers["Cache-Control"] = "no-cache"
    return response


def _signed_in() -> bool:
    rt = runtime()
    return admin_access.is_signed_in(rt.settings, rt.state, session)


def admin() -> ResponseReturnValue:
    if not _signed_in():
        return _sign_in_page(AdminSignInForm())
    return _admin_page(runtime().settings)


def admin_sign_in() -> ResponseReturnValue:
    rt = runtime()
    form = AdminSignInForm()
    if form.validate_on_submit():
        wait = throttle.wait_seconds(rt.state, throttle.SIGN_IN_PER_ADDRESS, request.remote_addr or "")
        if wait is not None:
            form.token.errors.append(
                f"Too many sign-in attempts. Try again in {wait} seconds; the token was not checked."
            )
            response = _sign_in_page(form, status=429)
            response.headers["Retry-After"] = str(wait)
            return response
        if admin_access.token_matches(rt.settings, form.token.data):
            lifetime = int(current_app.permanent_session_lifetime.total_seconds())
            admin_access.sign_in(rt.settings, rt.state, session, lifetime_seconds=lifetime)
            db.session.commit()
            return redirect(url_for("lti.admin"), code=303)
        form.token.errors.append("That is not the admin token.")
    return _sign_in_page(form)


def admin_sign_out() -> ResponseReturnValue:
    admin_access.sign_out(runtime().state, session)
    db.session.commit()
    return redirect(url_for("lti.admin"), code=303)


def admin_create_invitation() -> ResponseReturnValue:
    """A new one-time registration link, shown once on the page that answers (only its hash is kept)."""
    if not _signed_in():
        return _sign_in_page(AdminSignInForm())
    settings = runtime().settings
    secret, invitation = create_invitation()
    db.session.commit()
    new_link = (_tool(settings).registration_url(secret), invitation)
    return _admin_page(settings, new_link=new_link, status=201)


def admin_revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    if not _signed_in():
        return _sign_in_page(AdminSignInForm())
    try:
        revoke_invitation(invitation_id)
    except MentorLtiError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("Revoked the registration link: it no longer registers anything.", "success")
    return redirect(url_for("lti.admin", _anchor="invitations-title"), code=303)


def admin_add_deployment(platform_id: int) -> ResponseReturnValue:
    """Canvas assigns a deployment id when the app is installed: the admin copies it here."""
    settings = runtime().settings
    if not _signed_in():
        return _sign_in_page(AdminSignInForm())
    form = DeploymentForm()
    if form.validate_on_submit():
        try:
            platform = add_deployment(platform_id, form.deployment_id.data)
        except RegistrationError as error:
            form.deployment_id.errors.append(error.explanation)
        else:
            db.session.commit()
            flash(f"Added deployment {form.deployment_id.data.strip()} to {platform.name}.", "success")
            return redirect(url_for("lti.admin", _anchor=f"platform-{platform_id}"), code=303)
    return _admin_page(settings, failed_form=form, failed_platform_id=platform_id, status=400)


def _sign_in_page(form: AdminSignInForm, *, status: int = 401) -> Response:
    return Response(render_template("lti/admin_sign_in.html", form=form), status=status)


def _admin_page(
    settings: Settings,
    *,
    failed_form: DeploymentForm | None = None,
    failed_platform_id: int | None = None,
    new_link: tuple[str, RegistrationInvitation] | None = None,
    status: int = 200,
) -> Response:
    return Response(
        render_template(
            "lti/admin.html",
            tool=_tool(settings),
            platforms=list_platforms(),
            registrations=recent_registrations(),
            invitations=open_invitations(),
            new_link=new_link,
            failed_form=failed_form,
            failed_platform_id=failed_platform_id,
        ),
        status=status,
    )
