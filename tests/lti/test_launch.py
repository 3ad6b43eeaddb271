"""Good launches over HTTP: role-aware landing pages and what a launch records."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Course, Membership, ResourceLink, User
from lti_tool.extensions import db
from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser, heading


def test_instructor_lands_on_program_setup(browser: LtiBrowser) -> None:
    page = browser.launch(person="instructor")
    assert page.status_code == 200
    assert heading(page) == "Program setup"
    assert "Mentoring Practice 101" in page.text
    assert "Ada Okafor" in page.text


def test_teaching_assistant_lands_on_program_setup(browser: LtiBrowser) -> None:
    page = browser.launch(person="ta")
    assert heading(page) == "Program setup"
    assert "teaching assistant" in page.text


def test_learner_lands_on_their_own_mentorship_page(browser: LtiBrowser) -> None:
    page = browser.launch(person="learner-03")
    assert page.status_code == 200
    assert heading(page) == "My mentorship"
    assert "Amara Diallo" in page.text


def test_launch_records_user_course_link_and_membership(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.issuer == browser.platform.issuer
        assert user.sub == browser.platform.sub(browser.platform.course("ment-101").person("learner-01"))
        assert (user.given_name, user.family_name, user.email) == ("Priya", "Natarajan", "learner-01@sandbox.example")
        course = db.session.execute(select(Course)).scalar_one()
        assert (course.context_id, course.title, course.label) == ("ment-101", "Mentoring Practice 101", "MENT-101")
        link = db.session.execute(select(ResourceLink)).scalar_one()
        assert link.resource_link_id == "ment-101-link-1"
        membership = db.session.execute(select(Membership)).scalar_one()
        assert membership.course_role == "learner"
        assert "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner" in membership.roles


def test_relaunch_updates_rows_instead_of_duplicating_them(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="instructor")
    first = row_counts(app)
    browser.launch(person="instructor")
    second = row_counts(app)
    # Each launch is an event with its own statement; people, courses and memberships are not duplicated.
    assert second.pop("statement_outbox") == first.pop("statement_outbox") + 1
    assert second == first


def test_same_person_in_two_courses_is_one_user_with_two_memberships(app: Flask, browser: LtiBrowser) -> None:
    browser.launch("ment-101", "learner-01")
    browser.launch("lead-202", "learner-01")
    counts = row_counts(app)
    assert counts["lti_user"] == 1
    assert counts["course"] == 2
    assert counts["membership"] == 2


def test_canvas_style_institution_roles_do_not_promote_a_student(app: Flask, browser: LtiBrowser) -> None:
    # Canvas sends institution roles even for course students; only the course role may count.
    roles = [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    ]
    response = browser.signed_launch(
        person="learner-02", claims={"https://purl.imsglobal.org/spec/lti/claim/roles": roles}
    )
    assert response.status_code == 303
    assert heading(browser.get(response.headers["location"])) == "My mentorship"
