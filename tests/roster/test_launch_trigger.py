"""An instructor's or TA's launch syncs the roster in the background when the last sync is older than the
configured interval; the launch itself never waits for the LMS, nor fails when it is down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from lti_tool.courses.models import Course
from lti_tool.extensions import db, utcnow
from lti_tool.roster.background import background_syncs
from tests.conftest import Sandbox, tool_environment
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import course_id
from tests.roster.helpers import COURSE, NRPS_PATH, people, synced_at

HOUR = 3600


@pytest.fixture
def tool_settings(tool_settings: dict[str, Any]) -> dict[str, Any]:
    return {**tool_settings, "roster_sync_interval_seconds": HOUR}


def _launch(app: Flask, browser: LtiBrowser, person: str) -> str:
    """Launch as `person`; the heading of the page the launch lands on, once any sync it started has ended."""
    page = browser.launch(COURSE, person)
    assert page.status_code == 200, page.text[:500]
    background_syncs(app).wait(timeout=30)
    return heading(page)


def test_an_instructor_launch_syncs_a_roster_never_synced(app: Flask, sandbox: Sandbox, browser: LtiBrowser) -> None:
    sandbox.platform.advantage.max_page_size = 4
    assert _launch(app, browser, "instructor") == "Program setup"
    course = course_id(app, COURSE)
    assert sandbox.requests[NRPS_PATH] == 4
    assert synced_at(app, course) is not None
    assert len(people(app, sandbox, course)) == 14


def test_a_sync_is_repeated_only_once_the_interval_has_passed(
    app: Flask, sandbox: Sandbox, browser: LtiBrowser, new_browser: Callable[[], LtiBrowser]
) -> None:
    _launch(app, browser, "instructor")
    course = course_id(app, COURSE)
    first = synced_at(app, course)
    requests = sandbox.requests[NRPS_PATH]

    # A teaching assistant, and the instructor again, within the hour: the roster is fresh enough.
    assert _launch(app, new_browser(), "ta") == "Program setup"
    _launch(app, browser, "instructor")
    assert sandbox.requests[NRPS_PATH] == requests
    assert synced_at(app, course) == first

    with app.app_context():
        an_hour_ago = utcnow() - timedelta(seconds=HOUR)
        db.session.execute(update(Course).where(Course.id == course).values(roster_synced_at=an_hour_ago))
        db.session.commit()
    _launch(app, new_browser(), "ta")
    assert sandbox.requests[NRPS_PATH] == 2 * requests
    assert synced_at(app, course) > first  # type: ignore[operator]


def test_a_learner_launch_does_not_sync(app: Flask, sandbox: Sandbox, browser: LtiBrowser) -> None:
    _launch(app, browser, "learner-01")
    assert NRPS_PATH not in sandbox.requests
    assert synced_at(app, course_id(app, COURSE)) is None


def test_an_lms_outage_never_fails_the_launch(
    app: Flask,
    sandbox: Sandbox,
    browser: LtiBrowser,
    new_browser: Callable[[], LtiBrowser],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox.platform.advantage.outage = True
    with caplog.at_level(logging.WARNING, logger="lti_tool.roster"):
        assert _launch(app, browser, "instructor") == "Program setup"
    course = course_id(app, COURSE)
    assert sandbox.requests[NRPS_PATH] == 1  # the sync was tried, and the LMS answered 503
    assert synced_at(app, course) is None
    assert set(people(app, sandbox, course)) == {"instructor"}
    failure = next(r.getMessage() for r in caplog.records if "roster sync after launch failed" in r.getMessage())
    assert f"course={course}" in failure and "503" in failure
    assert "Ada" not in caplog.text and "@sandbox.example" not in caplog.text

    # Once the LMS is back, the next staff launch syncs: the roster was never synced.
    sandbox.platform.advantage.outage = False
    _launch(app, new_browser(), "ta")
    assert len(people(app, sandbox, course)) == 14


def test_an_interval_of_zero_turns_launch_syncs_off(tool_settings: dict[str, Any]) -> None:
    with tool_environment({**tool_settings, "roster_sync_interval_seconds": 0}) as env:
        browser = LtiBrowser(env.tool_url, env.sandbox.platform)
        try:
            assert _launch(env.app, browser, "instructor") == "Program setup"
        finally:
            browser.close()
        assert NRPS_PATH not in env.sandbox.requests
        assert synced_at(env.app, course_id(env.app, COURSE)) is None
