"""An instructor creates the course's program from the overview and sees its settings, counts and next steps."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select, update

from lti_tool.courses.models import Membership, ResourceLink
from lti_tool.extensions import db, utcnow
from lti_tool.programs.models import Participant, Program
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import course_id, create_program, field_error, post_form, program_state, text_of


def test_instructor_without_a_program_is_offered_to_create_one(app: Flask, instructor: LtiBrowser) -> None:
    course = course_id(app, "ment-101")
    page = instructor.get(f"/courses/{course}/program")
    assert page.status_code == 200
    assert heading(page) == "Program setup"
    assert "Mentoring Practice 101" in page.text
    assert "Create the program" in page.text
    for explanation in (
        "Each mentee is paired with one mentor.",
        "One mentor meets several mentees together.",
        "Learners mentor each other in complementary skills.",
        "Who mentors is decided by skill, not by seniority.",
    ):
        assert explanation in page.text
    assert f'href="/courses/{course}/records"' in page.text


def test_instructor_creates_a_program_and_sees_it(app: Flask, instructor: LtiBrowser) -> None:
    course = course_id(app, "ment-101")
    response = create_program(instructor, course, title="Peer circles", model="peer")
    page = instructor.get(response.headers["location"])
    assert heading(page) == "Program setup"
    assert "Peer circles" in page.text
    assert "Peer-to-peer mentoring" in text_of(page)
    assert "Mentoring Practice 101" in page.text
    assert "Ask learners to fill in their profile" in page.text
    for link in (
        f'href="/courses/{course}/program/settings"',
        f'href="/courses/{course}/program/skills"',
        f'href="/courses/{course}/program/matching"',
        f'href="/courses/{course}/records"',
    ):
        assert link in page.text
    with app.app_context():
        program = db.session.execute(select(Program).where(Program.course_id == course)).scalar_one()
        link = db.session.execute(select(ResourceLink).where(ResourceLink.course_id == course)).scalar_one()
        assert (program.title, program.model, program.resource_link_id) == ("Peer circles", "peer", link.id)
        assert len(program.skills) == 18
        assert {"communication", "python"} <= {s.key for s in program.skills}


def test_a_program_needs_a_title(app: Flask, instructor: LtiBrowser) -> None:
    course = course_id(app, "ment-101")
    path = f"/courses/{course}/program"
    response = post_form(instructor, path, path, {"title": "  ", "model": "group"})
    assert response.status_code == 400
    assert field_error(response, "title") == "Error: Give the program a title."
    assert program_state(app, course) is None


def test_an_unknown_model_is_refused(app: Flask, instructor: LtiBrowser) -> None:
    course = course_id(app, "ment-101")
    path = f"/courses/{course}/program"
    response = post_form(instructor, path, path, {"title": "Mine", "model": "hierarchical"})
    assert response.status_code == 400
    assert field_error(response, "model")
    assert program_state(app, course) is None


def test_a_second_program_is_not_created(app: Flask, instructor: LtiBrowser, course: int) -> None:
    path = f"/courses/{course}/program"
    # The overview has no form once the program exists: the token comes from the settings page.
    response = post_form(
        instructor, f"{path}/settings", path, {"title": "Another", "model": "group"}, follow_redirects=True
    )
    assert "already has a mentorship program" in response.text
    with app.app_context():
        titles = db.session.execute(select(Program.title).where(Program.course_id == course)).scalars().all()
    assert titles == ["Spring mentoring"]


def test_overview_counts_complete_profiles_among_members_who_launched(
    app: Flask, course: int, new_browser: Callable[[], LtiBrowser], instructor: LtiBrowser
) -> None:
    for person in ("learner-01", "learner-02", "learner-03"):
        new_browser().launch("ment-101", person)
    with app.app_context():
        program = db.session.execute(select(Program).where(Program.course_id == course)).scalar_one()
        memberships = db.session.execute(
            select(Membership).where(Membership.course_id == course, Membership.course_role == "learner")
        ).scalars()
        for index, membership in enumerate(memberships):
            db.session.add(
                Participant(program=program, membership=membership, completed_at=utcnow() if index < 2 else None)
            )
        db.session.commit()
    page = instructor.get(f"/courses/{course}/program")
    text = text_of(page)
    assert "Complete profiles 2 of 4" in text  # three learners and the instructor have launched
    assert "Learners 3" in text
    assert "Profiles started 3" in text
    assert "Run matching" in text
    with app.app_context():
        db.session.execute(update(Participant).values(completed_at=None))
        db.session.commit()
    assert "Ask learners to fill in their profile" in instructor.get(f"/courses/{course}/program").text


def test_teaching_assistant_sees_the_program(app: Flask, course: int, new_browser: Callable[[], LtiBrowser]) -> None:
    assistant = new_browser()
    page = assistant.launch("ment-101", "ta")
    assert heading(page) == "Program setup"
    assert "Spring mentoring" in page.text
    assert assistant.get(f"/courses/{course}/program/settings").status_code == 200
