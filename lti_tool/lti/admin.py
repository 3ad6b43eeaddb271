"""The tool administrator's sign-in for the admin page: the admin token from the settings (generated into the
instance folder unless set), remembered in the session as a keyed fingerprint, so changing the token signs every
administrator out."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import MutableMapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from lti_tool.settings import Settings

SESSION_KEY = "tool_admin"


def token_matches(settings: Settings, candidate: str) -> bool:
    return hmac.compare_digest(candidate.encode(), settings.admin_token.get_secret_value().encode())


def _fingerprint(settings: Settings) -> str:
    return hmac.new(
        settings.secret_key.encode(), settings.admin_token.get_secret_value().encode(), hashlib.sha256
    ).hexdigest()


def sign_in(settings: Settings, session: MutableMapping[str, Any]) -> None:
    session[SESSION_KEY] = _fingerprint(settings)


def sign_out(session: MutableMapping[str, Any]) -> None:
    session.pop(SESSION_KEY, None)


def is_signed_in(settings: Settings, session: MutableMapping[str, Any]) -> bool:
    remembered = session.get(SESSION_KEY)
    return isinstance(remembered, str) and hmac.compare_digest(remembered, _fingerprint(settings))


class AdminSignInForm(FlaskForm):  # type: ignore[misc]
    token = PasswordField(
        "Admin token",
        validators=[DataRequired(message="Enter the admin token.")],
        description="Printed by `mentor-lti platform admin-token` on the tool's server.",
    )


class DeploymentForm(FlaskForm):  # type: ignore[misc]
    deployment_id = StringField(
        "Deployment ID", validators=[DataRequired(message="Enter the deployment ID."), Length(max=500)]
    )
