"""Every course page is served only to a browser that launched into that course, in a role that allows it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Course, Membership
from lti_tool.extensions import db
from lti_tool.runtime import runtime
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import csrf_token


def _course_id(app: Flask, context_id: str) -> int:
    with app.app_context():
        return db.session.execute(select(Course.id).where(Course.context_id == context_id)).scalar_one()


def test_learner_cannot_open_the_program_setup_page(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    course = _course_id(app, "ment-101")
    response = browser.get(f"/courses/{course}/program")
    assert response.status_code == 403
    assert "instructors and teaching assistants" in response.text


def test_pages_need_a_launch(app: Flask, browser: LtiBrowser, tool_url: str) -> None:
    browser.launch(person="instructor")
    course = _course_id(app, "ment-101")
    for path in (f"/courses/{course}/", f"/courses/{course}/program", f"/courses/{course}/me"):
        response = httpx.get(f"{tool_url}{path}")
        assert response.status_code == 403, path
        assert "Open the tool again from your course" in response.text


def test_learner_cannot_see_another_course_by_guessing_its_id(
    app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    instructor = new_browser()
    instructor.launch("ment-101", "instructor")
    learner = new_browser()
    learner.launch("lead-202", "learner-13")
    other_course = _course_id(app, "ment-101")
    for path in (f"/courses/{other_course}/", f"/courses/{other_course}/me", f"/courses/{other_course}/program"):
        response = learner.get(path)
        assert response.status_code == 403, path
        assert "Mentoring Practice 101" not in response.text


def test_instructor_of_one_course_cannot_open_another_courses_setup(
    app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    new_browser().launch("ment-101", "instructor")
    other = new_browser()
    other.launch("lead-202", "instructor-2")
    response = other.get(f"/courses/{_course_id(app, 'ment-101')}/program")
    assert response.status_code == 403


def test_a_later_launch_in_the_same_browser_replaces_the_earlier_person(app: Flask, browser: LtiBrowser) -> None:
    assert heading(browser.launch(person="learner-02")) == "My mentorship"
    assert heading(browser.launch(person="instructor")) == "Program setup"
    course = _course_id(app, "ment-101")
    assert heading(browser.get(f"/courses/{course}/")) == "Program setup"


def test_another_persons_launch_on_a_shared_browser_ends_the_first_persons_access_everywhere(
    app: Flask, browser: LtiBrowser
) -> None:
    browser.launch("ment-101", "learner-01")
    browser.launch("lead-202", "learner-01")
    first, second = _course_id(app, "ment-101"), _course_id(app, "lead-202")
    assert browser.get(f"/courses/{second}/me").status_code == 200

    browser.launch("ment-101", "learner-02")
    # learner-02 never opened the tool in lead-202: learner-01's pages there are gone with learner-01.
    for path in (f"/courses/{second}/", f"/courses/{second}/me", f"/courses/{second}/me/profile"):
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "Open the tool again from your course" in response.text
    assert browser.get(f"/courses/{first}/me").status_code == 200


def test_the_tool_admin_sign_in_survives_a_change_of_lms_user(app: Flask, browser: LtiBrowser) -> None:
    with app.app_context():
        token = runtime().settings.admin_token.get_secret_value()
    locked = browser.get("/lti/admin")
    signed_in = browser.http.post(
        f"{browser.tool_url}/lti/admin/sign-in", data={"csrf_token": csrf_token(locked), "token": token}
    )
    assert signed_in.status_code == 303
    browser.launch("ment-101", "learner-01")
    browser.launch("ment-101", "learner-02")
    assert browser.get("/lti/admin").status_code == 200


def test_a_session_naming_someone_elses_membership_is_refused(
    app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    # A session cookie signed with the tool's key that pairs one user with another user's membership (a bug
    # elsewhere, or a leaked key) still does not open that membership's pages.
    victim, intruder = new_browser(), new_browser()
    victim.launch("ment-101", "learner-01")
    intruder.launch("ment-101", "learner-02")
    course = _course_id(app, "ment-101")
    with app.app_context():
        (victim_membership, _), (_, intruder_user) = db.session.execute(
            select(Membership.id, Membership.user_id).where(Membership.course_id == course).order_by(Membership.id)
        ).all()
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    forged = serializer.dumps({"user_id": intruder_user, "courses": {str(course): victim_membership}})
    intruder.http.cookies.clear()
    intruder.http.cookies.set("mentor_lti_session", forged)
    response = intruder.get(f"/courses/{course}/me")
    assert response.status_code == 403
    assert "Open the tool again from your course" in response.text


def test_one_browser_keeps_separate_courses_apart(app: Flask, browser: LtiBrowser) -> None:
    browser.launch("ment-101", "learner-01")
    browser.launch("lead-202", "learner-01")
    first, second = _course_id(app, "ment-101"), _course_id(app, "lead-202")
    assert "Mentoring Practice 101" in browser.get(f"/courses/{first}/me").text
    assert "Leadership Lab 202" in browser.get(f"/courses/{second}/me").text


def test_free_text_from_the_lms_is_escaped(app: Flask, browser: LtiBrowser) -> None:
    response = browser.signed_launch(
        person="learner-03",
        claims={"given_name": "<script>alert(1)</script>", "name": "<script>alert(1)</script>"},
    )
    page = browser.get(response.headers["location"])
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
