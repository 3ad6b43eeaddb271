"""A course member's mentorship home and profile form, through real LTI launches over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flask import Flask

from lti_tool.extensions import db
from lti_tool.programs import services as programs
from lti_tool.programs.models import Eligibility, Program
from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser, heading
from tests.profiles.helpers import (
    SKILLS,
    course_id,
    create_program,
    csrf_token,
    field_errors,
    outbox_count,
    outbox_events,
    participants,
    profile_data,
)
from xapi.models import Statement
from xapi.profile import check_statement_against_profile, load_profile

MENTORING_ROLE = "https://mentor-lti.example/xapi/extensions/mentoring-role"


def _open_form(browser: LtiBrowser, course: int) -> str:
    page = browser.get(f"/courses/{course}/me/profile")
    assert page.status_code == 200, page.text[:500]
    return csrf_token(page)


def _post(browser: LtiBrowser, course: int, data: dict[str, Any], token: str | None) -> httpx.Response:
    fields = dict(data) if token is None else {**data, "csrf_token": token}
    return browser.http.post(f"{browser.tool_url}/courses/{course}/me/profile", data=fields)


def test_home_says_the_instructor_has_not_set_up_the_program(app: Flask, browser: LtiBrowser) -> None:
    page = browser.launch(person="learner-01")
    assert heading(page) == "My mentorship"
    assert "Priya Natarajan" in page.text and "Mentoring Practice 101" in page.text
    assert "hasn't set up the mentorship program" in page.text
    # The form waits for the program too: it sends the learner back to the explanation.
    form = browser.get(f"/courses/{course_id(app, 'ment-101')}/me/profile")
    assert form.status_code == 200
    assert "hasn't set up the mentorship program" in form.text


def test_learner_completes_their_profile_once(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    course = course_id(app, "ment-101")
    create_program(app)
    home = browser.get(f"/courses/{course}/me")
    assert heading(home) == "My mentorship"
    assert "Not started" in home.text and "Fill in your profile" in home.text
    assert "Matching has not been published yet" in home.text

    form = browser.get(f"/courses/{course}/me/profile")
    assert "I want to mentor" in form.text and "I want to be mentored" in form.text
    assert "No experience" in form.text and "Shares ideas" in form.text  # rubric descriptors
    assert 'value="en" checked' in form.text  # the launch's locale suggests a language
    response = _post(browser, course, profile_data(), csrf_token(form))
    assert response.status_code == 303
    home = browser.get(response.headers["location"])
    assert "Your profile is complete" in home.text and "Edit your profile" in home.text

    [participant] = participants(app)
    assert participant.wants_to_be_mentored and not participant.wants_to_mentor
    assert participant.skill_levels == {"python": 1, "sql": 0, "data-viz": 2, "communication": 4, "feedback": 3}
    assert participant.goals == ["python", "sql"] and participant.expertise == ["communication"]
    assert participant.availability == ["mon-06", "wed-18", "sun-21"]
    assert participant.timezone == "Europe/Paris" and participant.languages == ["en", "fr"]
    assert participant.department == "Physics" and participant.capacity is None
    assert participant.completed_at is not None

    [row] = outbox_events(app, "profile-completed")
    statement = Statement.model_validate_json(row.body)
    body = json.loads(row.body)
    assert check_statement_against_profile(body, load_profile()) == []
    assert str(statement.context.registration) == participant.registration  # type: ignore[union-attr]
    assert body["context"]["extensions"][MENTORING_ROLE] == "mentee"
    assert body["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
    assert row.course_id == course

    # Editing later saves the change but never records the completion again.
    form = browser.get(f"/courses/{course}/me/profile")
    assert heading(form) == "Edit your profile"
    assert 'value="wed-18" checked' in form.text and 'value="Europe/Paris" selected' in form.text
    before = outbox_count(app)
    response = _post(browser, course, profile_data(bio="Now also curious about SQL.", goals=["sql"]), csrf_token(form))
    assert response.status_code == 303
    assert "Your profile is saved." in browser.get(response.headers["location"]).text
    [edited] = participants(app)
    assert edited.bio == "Now also curious about SQL." and edited.goals == ["sql"]
    assert edited.completed_at == participant.completed_at
    assert outbox_count(app) == before
    assert len(outbox_events(app, "profile-completed")) == 1


def test_bad_submission_shows_every_error_next_to_its_field_and_saves_nothing(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    course = course_id(app, "ment-101")
    create_program(app)
    token = _open_form(browser, course)
    before = row_counts(app)
    bad = profile_data(
        **{"level-python": "7", "level-sql": None},
        goals=["python", "sql", "data-viz", "feedback"],
        availability=None,
        timezone="Mars/Olympus_Mons",
        languages=None,
        department="d" * 121,
        bio="x" * 1001,
    )
    page = _post(browser, course, bad, token)
    assert page.status_code == 422
    errors = field_errors(page)
    assert errors["level-python-errors"] == "Choose a level from 0 to 5."
    assert errors["level-sql-errors"] == "Choose your level in SQL."
    assert errors["goals-errors"] == "Choose at most 3 goal skills."
    assert errors["availability-errors"] == "Choose at least one time slot when you could meet."
    assert errors["timezone-errors"].startswith("Choose your time zone from the list")
    assert errors["languages-errors"] == "Choose at least one language."
    assert errors["department-errors"] == "Use at most 120 characters."
    assert errors["bio-errors"] == "Use at most 1000 characters (you wrote 1001)."
    assert "level-data-viz-errors" not in errors and "roles-errors" not in errors
    assert "Nothing was saved: please correct 8 problems" in page.text
    assert 'href="#level-python-0"' in page.text and 'href="#availability-mon-06"' in page.text
    assert 'aria-invalid="true"' in page.text
    assert "x" * 1001 in page.text  # what they typed is kept for them to correct
    assert row_counts(app) == before

    # Nor does a bad submission change a saved profile.
    assert _post(browser, course, profile_data(), token).status_code == 303
    saved, rows = participants(app), row_counts(app)
    page = _post(browser, course, profile_data(wants_to_be_mentored=None, bio="changed"), token)
    assert page.status_code == 422
    assert field_errors(page)["roles-errors"] == "Choose at least one role."
    page = _post(browser, course, profile_data(goals=None, capacity="3"), token)
    assert field_errors(page)["goals-errors"] == "Choose 1 to 3 skills you want to work on with a mentor."
    page = _post(browser, course, profile_data(wants_to_mentor="y", capacity="21"), token)
    assert field_errors(page)["capacity-errors"] == "Choose a number from 1 to 20."
    page = _post(browser, course, profile_data(goals=["python", "cooking"], languages=["en", "xx"]), token)
    assert field_errors(page)["goals-errors"] == "Choose goals from the program's skills."
    assert field_errors(page)["languages-errors"] == "Choose languages from the list."
    page = _post(browser, course, profile_data(availability=["mon-07"], **{"level-sql": "abc"}), token)
    assert field_errors(page)["availability-errors"] == "Choose time slots from the grid."
    assert field_errors(page)["level-sql-errors"] == "Choose a level from 0 to 5."
    assert participants(app)[0].bio == saved[0].bio
    assert row_counts(app) == rows


def test_roles_the_program_does_not_allow_are_refused(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-02")
    course = course_id(app, "ment-101")
    create_program(app, mentor_eligibility=Eligibility.STAFF.value)
    form = browser.get(f"/courses/{course}/me/profile")
    assert "I want to be mentored" in form.text and "I want to mentor" not in form.text
    assert "How many mentees" not in form.text
    before = row_counts(app)
    page = _post(browser, course, profile_data(wants_to_mentor="y", capacity="2"), csrf_token(form))
    assert page.status_code == 422
    assert field_errors(page)["roles-errors"] == "This program does not let you be a mentor."
    assert row_counts(app) == before


def test_member_without_any_role_cannot_open_or_post_the_form(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-02")
    course = course_id(app, "ment-101")
    program = create_program(app)
    token = _open_form(browser, course)
    # The instructor then reserves both sides for staff, while the learner still has the form open.
    with app.app_context():
        found = db.session.get(Program, program)
        assert found is not None
        found.mentor_eligibility = found.mentee_eligibility = Eligibility.STAFF.value
        db.session.commit()
    home = browser.get(f"/courses/{course}/me")
    assert "does not include a participant role for you" in home.text
    assert "Fill in your profile" not in home.text
    assert browser.get(f"/courses/{course}/me/profile").status_code == 403
    before = row_counts(app)
    assert _post(browser, course, profile_data(), token).status_code == 403
    assert row_counts(app) == before


def test_instructor_can_join_as_a_mentor_where_the_program_allows_it(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="instructor")
    course = course_id(app, "ment-101")
    create_program(app, default_capacity=4)
    form = browser.get(f"/courses/{course}/me/profile")
    # Default rules: anyone may mentor, only learners are mentored.
    assert "I want to mentor" in form.text and "I want to be mentored" not in form.text
    assert 'name="wants_to_mentor" value="y" checked' in form.text  # their only role, pre-chosen
    assert re.search(r'name="capacity"[^>]*value="4"', form.text)  # the program's default capacity
    data = profile_data(wants_to_be_mentored=None, wants_to_mentor="y", goals=None, capacity="4")
    response = _post(browser, course, data, csrf_token(form))
    assert response.status_code == 303
    [participant] = participants(app)
    assert participant.wants_to_mentor and participant.capacity == 4 and participant.goals == []
    [row] = outbox_events(app, "profile-completed")
    body = json.loads(row.body)
    assert body["context"]["extensions"][MENTORING_ROLE] == "mentor"
    assert check_statement_against_profile(body, load_profile()) == []


def test_both_roles_record_the_completion_once_as_a_mentee(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-03")
    course = course_id(app, "ment-101")
    create_program(app)
    token = _open_form(browser, course)
    assert _post(browser, course, profile_data(wants_to_mentor="y", capacity="2"), token).status_code == 303
    [row] = outbox_events(app, "profile-completed")
    assert json.loads(row.body)["context"]["extensions"][MENTORING_ROLE] == "mentee"
    [participant] = participants(app)
    assert participant.wants_to_mentor and participant.wants_to_be_mentored and participant.capacity == 2


def test_learner_cannot_see_or_post_another_courses_profile_pages(
    app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    owner = new_browser()
    owner.launch("ment-101", "learner-01")
    create_program(app, "ment-101")
    other_course = course_id(app, "ment-101")
    intruder = new_browser()
    intruder.launch("lead-202", "learner-13")
    own_course = course_id(app, "lead-202")
    create_program(app, "lead-202")
    token = _open_form(intruder, own_course)  # a valid token of their own session
    before = row_counts(app)
    for guess in (other_course, own_course + 1, 999_999):
        for path in (f"/courses/{guess}/me", f"/courses/{guess}/me/profile"):
            response = intruder.get(path)
            assert response.status_code == 403, path
            assert "Mentoring Practice 101" not in response.text
        assert _post(intruder, guess, profile_data(), token).status_code == 403
    assert row_counts(app) == before


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_post_without_a_valid_csrf_token_is_refused(app: Flask, browser: LtiBrowser, token: str | None) -> None:
    browser.launch(person="learner-01")
    course = course_id(app, "ment-101")
    create_program(app)
    _open_form(browser, course)
    before = row_counts(app)
    response = _post(browser, course, profile_data(), token)
    assert response.status_code == 400
    assert row_counts(app) == before


def test_markup_in_the_bio_is_shown_escaped(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    course = course_id(app, "ment-101")
    create_program(app)
    script = "<script>alert(1)</script>"
    token = _open_form(browser, course)
    assert _post(browser, course, profile_data(bio=script, department=script), token).status_code == 303
    assert participants(app)[0].bio == script
    form = browser.get(f"/courses/{course}/me/profile")
    assert script not in form.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form.text
    # And when the form comes back with errors.
    page = _post(browser, course, profile_data(bio=script, languages=None), token)
    assert page.status_code == 422
    assert script not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_a_skill_added_later_makes_the_profile_incomplete_until_rated(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    course = course_id(app, "ment-101")
    program = create_program(app)
    token = _open_form(browser, course)
    assert _post(browser, course, profile_data(), token).status_code == 303
    with app.app_context():
        found = db.session.get(Program, program)
        assert found is not None
        extra = programs.SkillSpec("git", "Version control", "technical", "", ("g1", "g2", "g3", "g4", "g5"))
        programs.replace_framework(found, [*SKILLS, extra])
        db.session.commit()
    home = browser.get(f"/courses/{course}/me")
    assert "status-incomplete" in home.text and "your level in Version control" in home.text
    page = _post(browser, course, profile_data(), token)
    assert field_errors(page)["level-git-errors"] == "Choose your level in Version control."
    assert _post(browser, course, profile_data(**{"level-git": "5"}), token).status_code == 303
    assert "status-complete" in browser.get(f"/courses/{course}/me").text
    assert participants(app)[0].skill_levels["git"] == 5
    assert len(outbox_events(app, "profile-completed")) == 1
