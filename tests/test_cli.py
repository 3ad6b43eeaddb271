"""The `mentor-lti` commands an administrator uses: platform registrations, tool keys, URLs."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
from flask import Flask
from sqlalchemy import select

from lti_tool.cli import main
from lti_tool.extensions import db
from lti_tool.lti.models import Platform
from tests.lti_browser import LtiBrowser

CANVAS = [
    "platform", "add", "--name", "Canvas prod", "--issuer", "https://canvas.instructure.com",
    "--client-id", "10000000000001", "--deployment-id", "1:abc", "--deployment-id", "2:def",
    "--auth-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "--token-url", "https://sso.canvaslms.com/login/oauth2/token",
    "--jwks-url", "https://sso.canvaslms.com/api/lti/security/jwks",
]  # fmt: skip


def test_platform_add_list_remove(app: Flask) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(main, CANVAS)
    assert added.exit_code == 0, added.output
    assert "deployments 1:abc, 2:def" in added.output
    # A second client id under the same issuer (Canvas: one issuer, many developer keys).
    second = [*CANVAS]
    second[second.index("Canvas prod")] = "Canvas test key"
    second[second.index("10000000000001")] = "10000000000002"
    assert runner.invoke(main, second).exit_code == 0
    listed = runner.invoke(main, ["platform", "list"])
    assert "Canvas prod" in listed.output and "Canvas test key" in listed.output
    assert runner.invoke(main, ["platform", "remove", "Canvas test key"]).exit_code == 0
    with app.app_context():
        names = set(db.session.execute(select(Platform.name)).scalars())
    assert "Canvas test key" not in names and "Canvas prod" in names


def test_platform_add_refuses_bad_urls_and_conflicts(app: Flask) -> None:
    runner = app.test_cli_runner()
    bad = [*CANVAS]
    bad[bad.index("https://sso.canvaslms.com/api/lti/security/jwks")] = "not a url"
    result = runner.invoke(main, bad)
    assert result.exit_code != 0
    assert "JWKS URL 'not a url' is not an http(s) URL" in result.output
    assert runner.invoke(main, CANVAS).exit_code == 0
    moved = [*CANVAS]
    moved[moved.index("https://sso.canvaslms.com/api/lti/security/jwks")] = "https://elsewhere.example/jwks"
    conflict = runner.invoke(main, moved)
    assert conflict.exit_code != 0
    assert "already registered with other endpoints" in conflict.output


def test_a_platform_with_course_data_cannot_be_removed(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="instructor")
    runner = app.test_cli_runner()
    with app.app_context():
        name = db.session.execute(select(Platform.name)).scalar_one()
    result = runner.invoke(main, ["platform", "remove", name])
    assert result.exit_code != 0
    assert "cannot be removed" in result.output


def test_keys_rotate_publishes_both_and_retire_removes_the_old(app: Flask, tool_url: str) -> None:
    runner = app.test_cli_runner()
    first = httpx.get(f"{tool_url}/lti/jwks").json()["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and "d" not in first[0]
    rotated = runner.invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0
    both = httpx.get(f"{tool_url}/lti/jwks").json()["keys"]
    assert both[0]["kid"] == first[0]["kid"] and len(both) == 2
    refused = runner.invoke(main, ["keys", "retire", both[1]["kid"]])
    assert refused.exit_code != 0 and "current signing key" in refused.output
    assert runner.invoke(main, ["keys", "retire", first[0]["kid"]]).exit_code == 0
    assert [k["kid"] for k in httpx.get(f"{tool_url}/lti/jwks").json()["keys"]] == [both[1]["kid"]]
    unknown = runner.invoke(main, ["keys", "retire", "-no-such-kid"])
    assert "No tool key has kid '-no-such-kid'" in unknown.output
    listed = runner.invoke(main, ["keys", "list"])
    assert both[1]["kid"] in listed.output and "signing" in listed.output


def test_private_keys_stay_private(app: Flask, tool_url: str) -> None:
    httpx.get(f"{tool_url}/lti/jwks")
    key_file = Path(app.instance_path) / "tool_keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_urls_prints_what_to_paste_into_an_lms(app: Flask) -> None:
    result = app.test_cli_runner().invoke(main, ["urls", "--base-url", "https://mentor.example.edu/"])
    assert "https://mentor.example.edu/lti/login" in result.output
    assert "https://mentor.example.edu/lti/jwks" in result.output


def test_sandbox_command_refuses_unless_enabled(tool_settings: dict[str, object]) -> None:
    from lti_tool import create_app

    app = create_app({**tool_settings, "sandbox_enabled": False})
    result = app.test_cli_runner().invoke(main, ["sandbox", "--port", "1"])
    assert result.exit_code != 0
    assert "sandbox LMS is off" in result.output
    with app.app_context():
        db.engine.dispose()
