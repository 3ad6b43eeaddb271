"""Every course page is served only to a browser that launched into that course, in a role that allows it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from tests.lti_browser import LtiBrowser, heading


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
