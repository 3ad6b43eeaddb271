"""The `mentor-lti` commands an administrator uses: platform registrations, tool keys, URLs, and what commands do
on a fresh instance or an older database."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import httpx
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import make_url, select

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


# --- A newcomer's first commands, on a fresh instance (real processes, as a shell runs them) ---------------------

REPOSITORY = Path(__file__).resolve().parents[1]
MOODLE = [
    "platform", "add", "--name", "Moodle", "--issuer", "https://moodle.example.edu", "--client-id", "abc",
    "--deployment-id", "1", "--auth-url", "https://moodle.example.edu/mod/lti/auth.php",
    "--token-url", "https://moodle.example.edu/mod/lti/token.php",
    "--jwks-url", "https://moodle.example.edu/mod/lti/certs.php",
]  # fmt: skip


def _command(instance: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`mentor-lti ARGS` in a process of its own, with nothing but the instance folder and database set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MENTOR_LTI_")}
    env |= {"MENTOR_LTI_INSTANCE_PATH": str(instance), "MENTOR_LTI_DATABASE_URL": database_url}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "lti_tool", *args],
        cwd=instance.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_first_command_on_a_fresh_instance_sets_up_the_database(tmp_path: Path, database_url: str) -> None:
    instance = tmp_path / "instance"

    added = _command(instance, database_url, *MOODLE)

    assert added.returncode == 0, added.stderr
    assert "Registered Moodle: issuer https://moodle.example.edu, client abc, deployments 1." in added.stdout
    assert "Set up a new database: " in added.stderr and "Traceback" not in added.stderr
    listed = _command(instance, database_url, "platform", "list")
    assert listed.returncode == 0, listed.stderr
    assert "client id  abc" in listed.stdout
    assert "Set up a new database" not in listed.stderr  # once


def test_a_command_on_a_database_of_an_earlier_version_says_what_to_run(tmp_path: Path, database_url: str) -> None:
    instance = tmp_path / "instance"
    assert _command(instance, database_url, "db", "upgrade", _previous_revision()).returncode == 0

    refused = _command(instance, database_url, *MOODLE)

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [_EARLIER % _shown(database_url)]
    assert _command(instance, database_url, "db", "upgrade").returncode == 0
    assert _command(instance, database_url, *MOODLE).returncode == 0


# Every command, by whether it uses the database. A new command must be put in one of the two.
DATABASE_COMMANDS = {
    "platform add": MOODLE[2:],
    "platform list": [],
    "platform remove": ["Moodle"],
    "platform register-url": ["--base-url", "https://mentor.example.edu"],
    "lrs add": ["--endpoint", "https://lrs.example.edu/xAPI", "--username", "u", "--password", "p", "--all-platforms"],
    "lrs list": [],
    "lrs remove": ["--all-platforms"],
    "xapi worker": [],
    "xapi flush": [],
    "xapi status": [],
    "xapi resend": [],
    "xapi backfill": [],
    "xapi export": ["--since", "2026-01-01", "-o", "statements.jsonl"],
    "scores worker": [],
    "scores flush": [],
    "jobs worker": [],
    "roster sync": ["--course", "1"],
}
# serve and sandbox upgrade the database themselves; demo runs serve; db is the migrations' own.
OTHER_COMMANDS = {
    "serve", "sandbox", "demo", "keys list", "keys rotate", "keys retire", "platform admin-token", "urls", "match",
    "run", "shell", "routes",
}  # fmt: skip


def _leaf_commands(group: click.Group, prefix: str = "") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        found |= _leaf_commands(command, f"{path} ") if isinstance(command, click.Group) else {path}
    return found


def test_every_command_that_uses_the_database_checks_its_schema_first(
    tool_settings: dict[str, object], tmp_path: Path
) -> None:
    from flask_migrate import upgrade

    from lti_tool import create_app

    assert _leaf_commands(main) == set(DATABASE_COMMANDS) | OTHER_COMMANDS
    app = create_app(tool_settings)
    with app.app_context():
        upgrade(directory=str(REPOSITORY / "migrations"), revision=_previous_revision())
        shown = _shown(str(db.engine.url))
    runner = app.test_cli_runner()
    for name, args in DATABASE_COMMANDS.items():
        result = runner.invoke(main, [*name.split(), *args])
        assert result.exit_code == 1, (name, result.output)
        assert result.output.strip().splitlines() == [_EARLIER % shown], name
    with app.app_context():
        db.engine.dispose()


_EARLIER = (
    "Error: The database %s has the schema of an earlier version: run `mentor-lti db upgrade` first "
    "(`mentor-lti serve` does it when it starts)."
)


def _previous_revision() -> str:
    """The migration before the latest: a database an earlier version of the tool left."""
    script = ScriptDirectory(str(REPOSITORY / "migrations"))
    head = script.get_revision(script.get_current_head())
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def _shown(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)
