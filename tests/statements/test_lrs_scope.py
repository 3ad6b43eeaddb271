"""Whose statements an LRS receives is said explicitly: one platform's (`--platform NAME`), or every platform's
without an LRS of its own (`--all-platforms`); an LRS is never everyone's by default."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.lti.models import Platform
from lti_tool.statements.models import LrsEndpoint
from tests.statements.helpers import cli

ADD = ("lrs", "add", "--username", "mentor", "--password", "secret")


def _lrs_rows(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count(LrsEndpoint.id))).scalar_one())


def test_an_lrs_is_added_for_a_named_platform_or_explicitly_for_all(app: Flask) -> None:
    with app.app_context():
        sandbox = db.session.execute(select(Platform.name)).scalar_one()

    unscoped = cli(app, *ADD, "--endpoint", "https://lrs.example.edu/xapi")
    assert unscoped.exit_code == 2
    assert "Say whose statements: --platform NAME" in unscoped.output and "--all-platforms" in unscoped.output
    both = cli(app, *ADD, "--endpoint", "https://lrs.example.edu/xapi", "--platform", sandbox, "--all-platforms")
    assert both.exit_code == 2
    assert _lrs_rows(app) == 0

    own = cli(app, *ADD, "--endpoint", "https://own.example.edu/xapi", "--platform", sandbox)
    assert own.exit_code == 0, own.output
    assert f"Statements of platform {sandbox} go to https://own.example.edu/xapi." in own.output
    shared = cli(app, *ADD, "--endpoint", "https://shared.example.edu/xapi", "--all-platforms")
    assert shared.exit_code == 0, shared.output
    assert "Statements of all platforms without their own LRS go to https://shared.example.edu/xapi." in shared.output
    listed = cli(app, "lrs", "list").output.splitlines()
    assert sorted(listed) == [
        "all platforms  https://shared.example.edu/xapi  user mentor",
        f"platform {sandbox}  https://own.example.edu/xapi  user mentor",
    ]

    assert cli(app, "lrs", "remove").exit_code == 2
    assert _lrs_rows(app) == 2
    assert cli(app, "lrs", "remove", "--all-platforms").exit_code == 0
    assert cli(app, "lrs", "list").output.splitlines() == [
        f"platform {sandbox}  https://own.example.edu/xapi  user mentor"
    ]
