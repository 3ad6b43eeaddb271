"""The tool administrator's sign-in for the admin page: the admin token from the settings (generated into the
instance folder unless set) opens a server-side record in the shared state store. The session cookie carries only
the record's random id, and the store only its hash: signing out deletes the record, so a copy of the cookie is
dead too; the record names a keyed fingerprint of the token, so changing the token signs every administrator out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from lti_tool.lti.state import LaunchStateStore
from lti_tool.settings import Settings

SESSION_KEY = "tool_admin"


def token_matches(settings: Settings, candidate: str) -> bool:
    return hmac.compare_digest(candidate.encode(), settings.admin_token.get_secret_value().encode())


def _fingerprint(settings: Settings) -> str:
    return hmac.new(
        settings.secret_key.encode(), settings.admin_token.get_secret_value().encode(), hashlib.sha256
    ).hexdigest()


def _record_key(sign_in_id: str) -> str:
    return f"admin-sign-in:{hashlib.sha256(sign_in_id.encode()).hexdigest()}"


def sign_in(
    settings: Settings, store: LaunchStateStore, session: MutableMapping[str, Any], *, lifetime_seconds: int
) -> None:
    """Open a sign-in record that lives as long as the session may. The database store writes it in the caller's
    transaction: the caller commits."""
    sign_in_id = secrets.token_urlsafe(32)
    store.put(_record_key(sign_in_id), _fingerprint(settings), lifetime_seconds)
    session[SESSION_KEY] = sign_in_id


def sign_out(store: LaunchStateStore, session: MutableMapping[str, Any]) -> None:
    """Delete the sign-in record (the caller commits) and forget its id."""
    sign_in_id = session.pop(SESSION_KEY, None)
    if isinstance(sign_in_id, str):
        store.take(_record_key(sign_in_id))


def is_signed_in(settings: Settings, store: LaunchStateStore, session: MutableMapping[str, Any]) -> bool:
    sign_in_id = session.get(SESSION_KEY)
    if not isinstance(sign_in_id, str):
        return False
    recorded = store.get(_record_key(sign_in_id))
    return isinstance(recorded, str) and hmac.compare_digest(recorded, _fingerprint(settings))


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
