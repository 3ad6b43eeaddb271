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


LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


def recorded(app: Flask) -> tuple[User, Course, ResourceLink, Membership]:
    with app.app_context():
        return (
            db.session.execute(select(User)).scalar_one(),
            db.session.execute(select(Course)).scalar_one(),
            db.session.execute(select(ResourceLink)).scalar_one(),
            db.session.execute(select(Membership)).scalar_one(),
        )


def test_a_relaunch_brings_what_changed_in_the_lms(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    response = browser.signed_launch(
        person="learner-01",
        claims={
            "name": "Priya N.",
            "email": "priya@school.example",
            LTI + "context": {"id": "ment-101", "title": "Mentoring Practice 102", "label": "MENT-102"},
            LTI + "resource_link": {"id": "ment-101-link-1", "title": "Mentoring, week 2"},
            LTI + "custom": {"week": "2"},
            LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
            AGS: {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                "lineitems": "https://lms.example/li",
            },
            NRPS: {"context_memberships_url": "https://lms.example/members", "service_versions": ["2.0"]},
        },
    )
    assert response.status_code == 303, response.text
    user, course, link, membership = recorded(app)
    assert (user.name, user.given_name, user.email) == ("Priya N.", "Priya", "priya@school.example")
    assert (course.title, course.label, course.nrps_url) == (
        "Mentoring Practice 102",
        "MENT-102",
        "https://lms.example/members",
    )
    assert (course.ags_lineitems_url, course.ags_scopes) == (
        "https://lms.example/li",
        ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
    )
    assert (link.title, link.custom) == ("Mentoring, week 2", {"week": "2"})
    assert membership.course_role == "instructor"
    assert row_counts(app)["membership"] == 1


def test_a_relaunch_that_leaves_out_names_titles_and_services_keeps_them(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    before = recorded(app)
    # As an LMS whose privacy settings withhold names, and a placement without the AGS and NRPS claims.
    response = browser.signed_launch(
        person="learner-01",
        claims={
            LTI + "context": {"id": "ment-101"},
            LTI + "resource_link": {"id": "ment-101-link-1"},
            LTI + "custom": {"week": "3"},
        },
        drop=("name", "given_name", "family_name", "email", AGS, NRPS),
    )
    assert response.status_code == 303, response.text
    user, course, link, _ = recorded(app)
    assert (user.name, user.given_name, user.family_name, user.email) == (
        before[0].name,
        before[0].given_name,
        before[0].family_name,
        before[0].email,
    )
    assert (course.title, course.label, course.nrps_url, course.ags_lineitems_url, course.ags_scopes) == (
        before[1].title,
        before[1].label,
        before[1].nrps_url,
        before[1].ags_lineitems_url,
        before[1].ags_scopes,
    )
    # Custom parameters are the placement's current ones, whatever the launch before said.
    assert (link.title, link.custom) == (before[2].title, {"week": "3"})


def test_a_first_launch_into_a_new_course_records_its_titles_and_services(app: Flask, browser: LtiBrowser) -> None:
    response = browser.signed_launch("lead-202", "learner-01", claims={LTI + "custom": {"week": "1"}})
    assert response.status_code == 303, response.text
    _, course, link, membership = recorded(app)
    assert (course.context_id, course.title) == ("lead-202", browser.platform.course("lead-202").title)
    assert course.nrps_url and course.ags_lineitems_url and course.ags_scopes
    assert (link.resource_link_id, link.custom) == ("lead-202-link-1", {"week": "1"})
    assert (membership.course_id, membership.course_role) == (course.id, "learner")
