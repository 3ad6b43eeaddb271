"""Program setup shows who is in the course and when the roster was synced; staff sync it with "Sync now"."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from flask import Flask

from lti_tool.sandbox.advantage import Membership, Preset
from tests.conftest import Sandbox, row_counts
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import course_id, create_program, text_of
from tests.roster.helpers import COURSE, NRPS_PATH, people, synced_at

NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def sandbox_preset() -> Preset:
    return Preset.CANVAS


def _token(browser: LtiBrowser, path: str) -> str:
    page = browser.get(path)
    found = _TOKEN.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def _sync_now(browser: LtiBrowser, course: int, token: str | None) -> int:
    data = {"csrf_token": token} if token else {}
    return browser.http.post(f"{browser.tool_url}/courses/{course}/roster/sync", data=data).status_code


def test_staff_sync_the_roster_and_see_who_has_opened_the_tool(
    app: Flask, sandbox: Sandbox, browser: LtiBrowser
) -> None:
    browser.launch(COURSE, "instructor")
    course = course_id(app, COURSE)
    overview = f"/courses/{course}/program"
    before = text_of(browser.get(overview))
    assert "People who have opened the tool" in before
    assert "or once the roster is synced from the LMS" in before

    assert _sync_now(browser, course, _token(browser, overview)) == 303

    page = text_of(browser.get(overview))
    assert "Roster synced from the LMS. 14 active members in the LMS roster: 13 added, 0 updated" in page
    assert "People in the course" in page
    assert "Learners 12 (0 opened the tool)" in page
    assert "Instructors 1 (1 opened the tool)" in page
    assert re.search(r"Roster synced \d\d \w+ \d{4}, \d\d:\d\d UTC from the LMS \(14 members\)", page)
    assert synced_at(app, course) is not None

    # With a program, learners known from the roster count towards its figures.
    create_program(browser, course, title="Spring mentoring")
    assert "Complete profiles 0 of 14" in text_of(browser.get(overview))


def test_an_lms_outage_is_reported_and_changes_nothing(app: Flask, sandbox: Sandbox, browser: LtiBrowser) -> None:
    browser.launch(COURSE, "instructor")
    course = course_id(app, COURSE)
    overview = f"/courses/{course}/program"
    token, rows = _token(browser, overview), row_counts(app)
    sandbox.platform.advantage.max_page_size = 4  # 14 people: the LMS fails on the second of four pages
    sandbox.platform.advantage.outage_after_pages = 1

    assert _sync_now(browser, course, token) == 303

    page = text_of(browser.get(overview))
    assert "The roster was not synced; nothing changed. The LMS answered 503" in page
    assert row_counts(app) == rows
    assert set(people(app, sandbox, course)) == {"instructor"}


LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def test_a_member_with_a_nul_character_is_cleaned_or_skipped_and_the_rest_syncs(
    app: Flask, sandbox: Sandbox, browser: LtiBrowser, caplog: pytest.LogCaptureFixture
) -> None:
    # PostgreSQL cannot store a NUL in text: a NUL in a name or email is removed, and a member whose user_id has one
    # is skipped (no launch can carry that id, so they are no one the tool knows).
    sandbox.platform.advantage.also_listed[COURSE] = [
        Membership("nul-in-name", [LEARNER, "urn:x\x00"], "Zed\x00 Null", "Zed\x00", "Null", "zed\x00@lms.example"),
        Membership("nul-\x00-in-id", [LEARNER], "Yara Void", "Yara", "Void", "yara@lms.example"),
    ]
    browser.launch(COURSE, "instructor")
    course = course_id(app, COURSE)
    overview = f"/courses/{course}/program"
    token = _token(browser, overview)

    with caplog.at_level(logging.DEBUG):
        assert _sync_now(browser, course, token) == 303

    page = text_of(browser.get(overview))
    assert "Roster synced from the LMS. 15 active members in the LMS roster: 14 added, 0 updated" in page
    found = people(app, sandbox, course)
    assert len(found) == 15 and all(p.active for p in found.values())
    zed = found["nul-in-name"]
    assert (zed.name, zed.given_name, zed.email, zed.roles) == ("Zed Null", "Zed", "zed@lms.example", (LEARNER,))
    assert not any("Yara" in (p.name or "") for p in found.values())
    assert "skipped a member whose user_id has a NUL character" in caplog.text
    for personal in ("Zed", "Yara", "lms.example", "nul-"):
        assert personal not in caplog.text


def test_sync_now_needs_a_csrf_token_and_a_staff_role(
    app: Flask, sandbox: Sandbox, browser: LtiBrowser, new_browser: Callable[[], LtiBrowser]
) -> None:
    browser.launch(COURSE, "instructor")
    course = course_id(app, COURSE)
    create_program(browser, course, title="Spring mentoring")
    assert _sync_now(browser, course, None) == 400

    learner = new_browser()
    learner.launch(COURSE, "learner-01")
    assert _sync_now(learner, course, _token(learner, f"/courses/{course}/me/profile")) == 403
    assert NRPS_PATH not in sandbox.requests
    assert synced_at(app, course) is None


def test_without_a_roster_endpoint_there_is_no_sync_button(app: Flask, browser: LtiBrowser) -> None:
    assert browser.signed_launch(COURSE, "instructor", drop=(NRPS_CLAIM,)).status_code == 303
    course = course_id(app, COURSE)
    page = browser.get(f"/courses/{course}/program")
    assert "People appear here once they have opened the tool from the course." in text_of(page)
    assert "Sync now" not in page.text
    # Posted anyway (a stale page): refused with the reason, nothing changed.
    assert _sync_now(browser, course, _token(browser, f"/courses/{course}/program")) == 303
    assert "has no roster endpoint from the LMS yet" in text_of(browser.get(f"/courses/{course}/program"))
