"""Naming the people one would like to be matched with: found by a name search, never a list of the whole course,
with the same rule as before (the program's other participants with a complete profile), with or without
JavaScript."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from flask import Flask

from lti_tool.courses.models import Membership
from lti_tool.extensions import db
from lti_tool.profiles.services import ProfileError, save_profile
from lti_tool.programs.models import Program
from lti_tool.runtime import runtime
from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort, build_cohort, mentee_profile
from tests.profiles.helpers import create_program, csrf_token, field_errors, membership_id, participants, profile_data


@pytest.fixture
def cohort(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Priya and Lukas mentor, Amara, Chen and Sofia want a mentor; Kwame launched without a profile; Noah has a
    complete profile in another course's program."""
    found = build_cohort(app, new_browser)
    new_browser().launch(person="learner-06")
    new_browser().launch(course="lead-202", person="learner-13")
    other = create_program(app, "lead-202")
    with app.app_context():
        program = db.session.get(Program, other)
        membership = db.session.get(Membership, membership_id(app, "lead-202", "learner-13"))
        save_profile(program, membership, mentee_profile(), settings=runtime().settings, tool_base="http://tool/")
        db.session.commit()
    return found


def _search(cohort: Cohort, person: str, query: str) -> httpx.Response:
    browser = cohort.browsers[person]
    return browser.http.get(
        f"{browser.tool_url}/courses/{cohort.course_id}/me/profile/people",
        params={"q": query},
        headers={"Accept": "application/json"},
    )


def _form_post(cohort: Cohort, person: str, data: dict[str, object]) -> httpx.Response:
    browser = cohort.browsers[person]
    token = csrf_token(browser.get(f"/courses/{cohort.course_id}/me/profile"))
    return browser.http.post(
        f"{browser.tool_url}/courses/{cohort.course_id}/me/profile", data={**data, "csrf_token": token}
    )


def test_the_search_finds_by_name_only_the_people_one_may_choose(cohort: Cohort) -> None:
    lukas = cohort.participant("learner-02")
    found = _search(cohort, "learner-03", "BECK")
    assert found.status_code == 200
    assert found.json() == {
        "people": [{"id": lukas, "name": "Lukas Becker"}],
        "total": 1,
        "summary": "1 person matches “BECK”.",
    }
    everyone = _search(cohort, "learner-03", "").json()
    names = [person["name"] for person in everyone["people"]]
    assert len(names) == everyone["total"] == 4 and names == sorted(names)
    assert "Amara" not in " ".join(names)  # not herself
    # Nobody without a complete profile here (Kwame), nor another course's participant (Noah).
    for query in ("Kwame", "Noah", "%", "_"):
        assert _search(cohort, "learner-03", query).json()["people"] == [], query
    # Only members with a role in the program may search, and only in their own course.
    assert cohort.browsers["learner-03"].get("/courses/999999/me/profile/people?q=a").status_code == 403


def test_without_javascript_the_search_button_shows_the_people_found_and_keeps_every_answer(cohort: Cohort) -> None:
    amara_profile = profile_data(bio="Typed, not saved yet.", people_query="Lukas", find_people="y")
    before = row_counts(cohort.app)
    page = _form_post(cohort, "learner-03", amara_profile)
    assert page.status_code == 200
    assert row_counts(cohort.app) == before
    lukas = cohort.participant("learner-02")
    assert f'id="preferences-{lukas}" name="preferences" value="{lukas}"' in page.text
    assert "Priya" not in page.text.split('id="preferences-results"')[1]
    assert "Typed, not saved yet." in page.text and 'value="Lukas"' in page.text
    assert 'class="error-summary"' not in page.text

    saved = _form_post(cohort, "learner-03", profile_data(preferences=[str(lukas)]))
    assert saved.status_code == 303
    amara = next(p for p in participants(cohort.app) if p.id == cohort.participant("learner-03"))
    assert amara.preferred_ids == [lukas]
    # The choice stays on the form, ticked and removable, whatever the search shows.
    form = cohort.browsers["learner-03"].get(f"/courses/{cohort.course_id}/me/profile").text
    chosen = form.split('id="preferences-chosen"')[1].split('id="preferences-results"')[0]
    assert f'value="{lukas}" checked' in chosen and "Lukas Becker" in chosen


def test_a_choice_one_may_not_make_is_refused_and_the_form_keeps_what_was_typed(cohort: Cohort, app: Flask) -> None:
    amara = cohort.participant("learner-03")
    before = row_counts(app)
    for refused in ([str(amara)], ["999999"], ["not-a-number"]):
        page = _form_post(cohort, "learner-03", profile_data(preferences=refused, bio="Still here."))
        assert page.status_code == 422, refused
        assert field_errors(page)["preferences-errors"] == "Choose people from this program."
        assert "Still here." in page.text and 'href="#people_query"' in page.text
    others = [str(cohort.participant(p)) for p in ("learner-01", "learner-02", "learner-04", "learner-05")]
    page = _form_post(cohort, "learner-03", profile_data(preferences=others))
    assert field_errors(page)["preferences-errors"] == "Choose at most 3 people."
    assert row_counts(app) == before
    # The service holds the same rule for any caller: nobody names themself.
    with app.app_context(), pytest.raises(ProfileError, match="Choose people from this program"):
        program = db.session.get(Program, cohort.program_id)
        membership = db.session.get(Membership, membership_id(app, "ment-101", "learner-03"))
        save_profile(
            program, membership, mentee_profile(preferences=(amara,)), settings=runtime().settings, tool_base="x"
        )
