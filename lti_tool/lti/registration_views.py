"""Installing the tool in an LMS: LTI Dynamic Registration, the Canvas developer key JSON, and the admin page that
shows what to paste and which platforms are registered."""

from __future__ import annotations

import httpx
from flask import Response, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from lti_tool.errors import RegistrationError
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.lti import admin as admin_access
from lti_tool.lti.admin import AdminSignInForm, DeploymentForm
from lti_tool.lti.dynamic_registration import (
    DynamicRegistrationError,
    add_deployment,
    recent_registrations,
    register_tool,
)
from lti_tool.lti.registrations import list_platforms
from lti_tool.lti.tool_configuration import ToolConfiguration
from lti_tool.runtime import runtime
from lti_tool.settings import Settings


def _tool(settings: Settings) -> ToolConfiguration:
    return ToolConfiguration(base_url=public_base_url(), name=settings.tool_name)


def _private(body: str, status: int = 200) -> Response:
    # Registration pages and the admin page must never be kept by a shared cache.
    response = Response(body, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def register() -> ResponseReturnValue:
    """LTI Dynamic Registration: the LMS opens this page with its configuration URL and a registration token."""
    settings = runtime().settings
    tool = _tool(settings)
    try:
        with httpx.Client(timeout=settings.platform_http_timeout_seconds) as http:
            outcome = register_tool(
                configuration_url=request.args.get("openid_configuration", ""),
                registration_token=request.args.get("registration_token", ""),
                tool=tool,
                http=http,
            )
    except DynamicRegistrationError as error:
        return _private(render_template("lti/registration_failed.html", error=error), error.status)
    return _private(render_template("lti/registration_done.html", outcome=outcome, tool=tool))


def canvas_json() -> Response:
    """The Canvas developer key configuration (LTI Key > Enter URL)."""
    response = jsonify(_tool(runtime().settings).canvas_developer_key())
    response.headers["Cache-Control"] = "no-cache"
    return response


def admin() -> ResponseReturnValue:
    settings = runtime().settings
    if not admin_access.is_signed_in(settings, session):
        return _sign_in_page(AdminSignInForm())
    return _admin_page(settings)


def admin_sign_in() -> ResponseReturnValue:
    settings = runtime().settings
    form = AdminSignInForm()
    if form.validate_on_submit():
        if admin_access.token_matches(settings, form.token.data):
            admin_access.sign_in(settings, session)
            return redirect(url_for("lti.admin"), code=303)
        form.token.errors.append("That is not the admin token.")
    return _sign_in_page(form)


def admin_sign_out() -> ResponseReturnValue:
    admin_access.sign_out(session)
    return redirect(url_for("lti.admin"), code=303)


def admin_add_deployment(platform_id: int) -> ResponseReturnValue:
    """Canvas assigns a deployment id when the app is installed: the admin copies it here."""
    settings = runtime().settings
    if not admin_access.is_signed_in(settings, session):
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


def _sign_in_page(form: AdminSignInForm) -> Response:
    return _private(render_template("lti/admin_sign_in.html", form=form), 401)


def _admin_page(
    settings: Settings,
    *,
    failed_form: DeploymentForm | None = None,
    failed_platform_id: int | None = None,
    status: int = 200,
) -> Response:
    return _private(
        render_template(
            "lti/admin.html",
            tool=_tool(settings),
            platforms=list_platforms(),
            registrations=recent_registrations(),
            failed_form=failed_form,
            failed_platform_id=failed_platform_id,
        ),
        status,
    )
