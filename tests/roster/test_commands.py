"""`mentor-lti roster sync`: a progress bar while it reads and applies the roster, a summary, and exit code 1 with
the reason (nothing changed) when the course has no roster endpoint yet or the LMS fails."""

from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask

from lti_tool.cli import main
from tests.conftest import Sandbox, row_counts
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import course_id
from tests.roster.helpers import COURSE, NRPS_PATH, people, synced_at

NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


def cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(main, list(args))


@pytest.fixture
def course(app: Flask, sandbox: Sandbox, browser: LtiBrowser) -> int:
    sandbox.platform.advantage.max_page_size = 4
    browser.launch(COURSE, "instructor")
    return course_id(app, COURSE)


def test_the_command_syncs_a_course_with_progress_and_a_summary(app: Flask, sandbox: Sandbox, course: int) -> None:
    result = cli(app, "roster", "sync", "--course", str(course))
    assert result.exit_code == 0, result.output
    assert "Syncing the roster of “Mentoring Practice 101” (course 1) from the LMS." in result.output
    assert "Reading roster pages" in result.output
    assert "Applying 14 members" in result.output
    assert result.output.rstrip().endswith(
        "14 active members in the LMS roster: 13 added, 0 updated, 0 deactivated, 0 reactivated, 1 unchanged."
    )
    assert sandbox.requests[NRPS_PATH] == 4
    assert len(people(app, sandbox, course)) == 14

    sandbox.platform.advantage.removed[COURSE] = {"learner-05"}
    result = cli(app, "roster", "sync", "--context", COURSE)
    assert result.exit_code == 0, result.output
    assert "0 added, 0 updated, 1 deactivated, 0 reactivated, 13 unchanged." in result.output


def test_an_lms_outage_fails_the_command_and_changes_nothing(app: Flask, sandbox: Sandbox, course: int) -> None:
    rows = row_counts(app)
    sandbox.platform.advantage.outage_after_pages = 2
    result = cli(app, "roster", "sync", "--course", str(course))
    assert result.exit_code == 1
    assert "Error: The roster was not synced; nothing changed. The LMS answered 503" in result.output
    assert row_counts(app) == rows
    assert synced_at(app, course) is None


def test_a_course_without_a_roster_endpoint_is_explained(app: Flask, browser: LtiBrowser) -> None:
    assert browser.signed_launch(COURSE, "instructor", drop=(NRPS_CLAIM,)).status_code == 303
    result = cli(app, "roster", "sync", "--course", str(course_id(app, COURSE)))
    assert result.exit_code == 1
    assert "has no roster endpoint from the LMS yet" in result.output
    assert "Launch the tool from the course once as an instructor." in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--course", "999"], 1, "There is no course 999."),
        (["--context", "no-such-course"], 1, "No course has the LMS context id 'no-such-course'."),
        ([], 2, "Give either --course ID or --context CONTEXT_ID."),
        (["--course", "1", "--context", COURSE], 2, "Give either --course ID or --context CONTEXT_ID."),
    ],
)
def test_the_course_must_be_named_once_and_exist(
    app: Flask, course: int, args: list[str], code: int, message: str
) -> None:
    result = cli(app, "roster", "sync", *args)
    assert result.exit_code == code
    assert message in result.output
