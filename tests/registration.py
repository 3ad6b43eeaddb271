"""The tool's administrator invites an LMS to register: a one-time registration link, as the admin page and
`mentor-lti platform register-url` create it."""

from __future__ import annotations

from flask import Flask

from lti_tool.extensions import db
from lti_tool.lti.invitations import create_invitation


def invite(app: Flask, tool_url: str) -> str:
    with app.app_context():
        secret, _ = create_invitation()
        db.session.commit()
    return f"{tool_url}/lti/register/{secret}"
