"""Platform keys (cached, refetched on rotation) and launch state shared by every worker and instance."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from lti_tool import create_app
from lti_tool.extensions import db
from lti_tool.lti.models import LaunchState
from tests.conftest import Sandbox, row_counts, tool_environment
from tests.lti_browser import LtiBrowser, error_code, heading
from tests.servers import served

REDIS_URL = os.environ.get("MENTOR_LTI_TEST_REDIS_URL", "")


def test_platform_key_set_is_fetched_once_and_cached(browser: LtiBrowser, sandbox: Sandbox) -> None:
    browser.launch(person="instructor")
    browser.launch(person="learner-01")
    browser.launch(person="learner-02")
    assert sandbox.requests["/jwks"] == 1


def test_launch_succeeds_after_the_platform_rotates_its_signing_key(browser: LtiBrowser, sandbox: Sandbox) -> None:
    assert heading(browser.launch(person="learner-01")) == "My mentorship"
    old_kid = sandbox.platform.keys.signing_key().kid
    new_kid = sandbox.platform.keys.rotate(keep_old=False)
    assert new_kid != old_kid
    # The tool still holds the old key set in its cache; the unknown kid makes it refetch once.
    assert heading(browser.launch(person="learner-01")) == "My mentorship"
    assert sandbox.requests["/jwks"] == 2
    assert heading(browser.launch(person="learner-02")) == "My mentorship"
    assert sandbox.requests["/jwks"] == 2


@pytest.fixture
def second_instance(tool_settings: dict[str, Any]) -> Iterator[str]:
    """Another tool instance (as behind a load balancer) on the same database and instance folder."""
    other = create_app(tool_settings)
    with served(other) as server:
        yield server.url
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_login_on_one_instance_and_launch_on_another(browser: LtiBrowser, second_instance: str, app: Flask) -> None:
    fields = browser.authorize(browser.login(person="learner-07"))
    response = httpx.post(f"{second_instance}/lti/launch", data=fields, cookies=browser.http.cookies)
    assert response.status_code == 303
    # The launch session is a signed cookie: the first instance recognises it too.
    browser.http.cookies.update(response.cookies)
    assert heading(browser.get(response.headers["location"])) == "My mentorship"


def test_a_replay_is_refused_by_the_other_instance_too(browser: LtiBrowser, second_instance: str) -> None:
    fields = browser.authorize(browser.login(person="learner-08"))
    assert browser.post_launch(fields).status_code == 303
    replay = httpx.post(f"{second_instance}/lti/launch", data=fields, cookies=browser.http.cookies)
    assert replay.status_code == 400
    assert error_code(replay) == "replayed"


@pytest.mark.skipif(not REDIS_URL, reason="set MENTOR_LTI_TEST_REDIS_URL to test the Redis launch-state store")
def test_launch_state_can_live_in_redis(tool_settings: dict[str, Any]) -> None:
    with tool_environment({**tool_settings, "redis_url": REDIS_URL}) as env:
        client = LtiBrowser(env.tool_url, env.sandbox.platform)
        fields = client.authorize(client.login(person="learner-09"))
        # The login's browser secret lives in Redis too: a replay from a browser that forged the cookie fails.
        attacker = LtiBrowser(env.tool_url, env.sandbox.platform)
        attacker.http.cookies.set(f"lti1p3-{fields['state']}", fields["state"], domain="127.0.0.1")
        assert error_code(attacker.post_launch(fields)) == "state_mismatch"
        attacker.close()
        assert client.post_launch(fields).status_code == 303
        assert error_code(client.post_launch(fields)) == "replayed"
        client.close()
        assert row_counts(env.app)["lti_user"] == 1
        with env.app.app_context():
            state_rows = db.session.execute(sa.select(sa.func.count()).select_from(LaunchState)).scalar_one()
        assert state_rows == 0  # nothing went to the database's launch-state table


@pytest.mark.skipif(bool(os.environ.get("MENTOR_LTI_TEST_DATABASE_URL")), reason="a SQLite setting")
def test_after_a_login_every_pooled_connection_waits_for_the_disk_again(app: Flask, browser: LtiBrowser) -> None:
    # A login commits its state without waiting for the disk (state_only_transaction); any other commit must.
    for person in ("instructor", "learner-01", "learner-02"):
        browser.launch(person=person)
    with app.app_context():
        pool = db.engine.pool
        connections = [pool.connect() for _ in range(pool.checkedin())]
        try:
            levels = [c.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0] for c in connections]
        finally:
            for connection in connections:
                connection.close()
    assert levels and set(levels) == {2}  # FULL
