"""Instructors edit the program's settings: valid ones are saved, invalid ones are explained and change nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask

from lti_tool.programs.models import DEFAULT_RULES, DEFAULT_WEIGHTS
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import field_error, post_form, program_state, text_of

GOOD: dict[str, Any] = {
    "title": "  Autumn circles ",
    "model": "group",
    "mentor_eligibility": "staff",
    "mentee_eligibility": "opt-in",
    "default_capacity": "4",
    "starts_on": "2026-02-02",
    "ends_on": "2026-05-29",
    "checkin_every_days": "7",
    "agreement_text": "We meet every week.\r\nWe keep what is said between us.",
    "weight_goal_gain": "0.5",
    "weight_complementarity": "0.25",
    "weight_availability": "0.25",
    "weight_diversity": "0",
    "weight_preferences": "0",
    "weight_waking_hours": "0",
    "rule_same_language": "y",
    "rule_different_department": "y",
    "self_match": "y",
    "mentor_accepts": "y",
    "request_days": "5",
}


def _save(browser: LtiBrowser, course: int, data: dict[str, Any]) -> Any:
    path = f"/courses/{course}/program/settings"
    return post_form(browser, path, path, data)


def test_settings_page_shows_the_current_settings(instructor: LtiBrowser, course: int) -> None:
    page = instructor.get(f"/courses/{course}/program/settings")
    assert page.status_code == 200
    assert heading(page) == "Program settings"
    assert 'checked id="model-0"' in page.text
    assert "One-on-one: 1 is typical" in page.text
    # Each default weight's share of their sum, next to its input.
    text = text_of(page)
    for share in ("45%", "15%", "20%", "10%"):
        assert share in text
    assert 'src="/static/program-settings.js"' in page.text


def test_instructor_saves_valid_settings(app: Flask, instructor: LtiBrowser, course: int) -> None:
    response = _save(instructor, course, GOOD)
    assert response.status_code == 303
    overview = instructor.get(response.headers["location"])
    assert "Settings saved." in overview.text
    assert "Group mentoring" in text_of(overview)
    state = program_state(app, course)
    assert state is not None
    assert state["title"] == "Autumn circles"
    assert "Autumn circles" in text_of(overview)
    assert (state["model"], state["mentor_eligibility"], state["mentee_eligibility"]) == ("group", "staff", "opt-in")
    assert (state["default_capacity"], state["checkin_every_days"]) == (4, 7)
    assert (state["starts_on"], state["ends_on"]) == (date(2026, 2, 2), date(2026, 5, 29))
    assert state["agreement_text"] == "We meet every week.\nWe keep what is said between us."
    assert state["weights"] == {
        "goal_gain": 0.5,
        "complementarity": 0.25,
        "availability": 0.25,
        "diversity": 0.0,
        "preferences": 0.0,
        "waking_hours": 0.0,
    }
    assert set(state["weights"]) == set(DEFAULT_WEIGHTS)
    # Left empty: as many mentees matched as possible, and no time zone limit.
    assert (state["min_score"], state["max_hours_apart"]) == (0.0, None)
    assert state["rules"] == {
        "same_language": True,
        "shared_slot": False,
        "different_department": True,
        "never_repair_declined": False,
    }
    assert set(state["rules"]) == set(DEFAULT_RULES)
    assert (state["self_match"], state["require_reciprocity"]) == (True, False)
    assert (state["mentor_accepts"], state["request_days"]) == (True, 5)
    assert "Two-sided: mentees request one of their top suggestions, who answers within 5 days" in text_of(overview)
    # The page shows the saved values back, with the new shares.
    page = instructor.get(f"/courses/{course}/program/settings")
    assert 'value="2026-05-29"' in page.text
    assert "50%" in text_of(page)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Give the program a title."),
        ({"title": " \t "}, "title", "Give the program a title."),
        ({"title": "x" * 201}, "title", "At most 200 characters."),
        ({"default_capacity": "0"}, "default_capacity", "from 1 to 50"),
        ({"default_capacity": "51"}, "default_capacity", "from 1 to 50"),
        ({"default_capacity": "lots"}, "default_capacity", "Enter a whole number of mentees, such as 3."),
        ({"model": "group", "default_capacity": "1"}, "default_capacity", "at least 2"),
        ({"starts_on": "2026-05-01", "ends_on": "2026-05-01"}, "ends_on", "after the start date"),
        ({"ends_on": "2026-13-45"}, "ends_on", "Not a valid date"),
        ({"checkin_every_days": "91"}, "checkin_every_days", "from 1 to 90"),
        ({"request_days": "0"}, "request_days", "from 1 to 60"),
        ({"request_days": "61"}, "request_days", "from 1 to 60"),
        ({"request_days": ""}, "request_days", "Enter a whole number of days."),
        ({"agreement_text": "x" * 5001}, "agreement_text", "At most 5000 characters"),
        ({"weight_goal_gain": "1.5"}, "weight_goal_gain", "from 0 to 1"),
        ({"weight_diversity": "-0.1"}, "weight_diversity", "from 0 to 1"),
        ({f"weight_{key}": "0" for key in DEFAULT_WEIGHTS}, "weights", "At least one weight must be above 0"),
        ({"mentor_eligibility": "everyone"}, "mentor_eligibility", "Not a valid choice"),
        ({"min_score": "101"}, "min_score", "from 0 to 100"),
        ({"min_score": "-5"}, "min_score", "from 0 to 100"),
        ({"min_score": "sixty"}, "min_score", "Enter a whole number of points, such as 60, or leave it empty."),
        ({"min_score": "1e400"}, "min_score", "Enter a whole number of points, such as 60, or leave it empty."),
        ({"max_hours_apart": "13"}, "max_hours_apart", "from 0 to 12"),
        ({"max_hours_apart": "-1"}, "max_hours_apart", "from 0 to 12"),
        ({"max_hours_apart": "5.5"}, "max_hours_apart", "Enter a whole number of hours, such as 6, or leave it empty."),
        (
            {"max_hours_apart": "9" * 400},
            "max_hours_apart",
            "Enter a whole number of hours, such as 6, or leave it empty.",
        ),
        ({"default_capacity": "9" * 400}, "default_capacity", "Enter a whole number of mentees, such as 3."),
        ({"weight_preferences": "lots"}, "weight_preferences", "Enter a number from 0 to 1, such as 0.5."),
        ({"weight_waking_hours": "2"}, "weight_waking_hours", "from 0 to 1"),
    ],
)
def test_invalid_settings_are_explained_next_to_the_field_and_change_nothing(
    app: Flask, instructor: LtiBrowser, course: int, changes: dict[str, str], field: str, message: str
) -> None:
    before = program_state(app, course)
    response = _save(instructor, course, {**GOOD, **changes})
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert "Not a valid integer" not in response.text and "Not a valid float" not in response.text
    assert "Please correct" in response.text
    assert program_state(app, course) == before
    # What was typed stays in the form, so nothing has to be entered again.
    if "agreement_text" not in changes:
        assert "We keep what is said between us." in response.text


def test_instructor_chooses_quality_over_participation_and_a_time_zone_limit(
    app: Flask, instructor: LtiBrowser, course: int
) -> None:
    choices = {**GOOD, "min_score": "60", "max_hours_apart": "6", "weight_waking_hours": "0.5"}
    response = _save(instructor, course, choices)
    assert response.status_code == 303
    state = program_state(app, course)
    assert state is not None
    assert (state["min_score"], state["max_hours_apart"], state["weights"]["waking_hours"]) == (0.6, 6, 0.5)
    overview = text_of(instructor.get(response.headers["location"]))
    assert "Only matches scoring at least 60 of 100 points" in overview
    assert "At most 6 hours apart" in overview
    page = instructor.get(f"/courses/{course}/program/settings")
    assert 'name="min_score"' in page.text and 'value="60"' in page.text
    assert 'name="max_hours_apart"' in page.text and 'value="6"' in page.text
    assert "Waking hours in common" in text_of(page)
    # Back to participation: an emptied minimum is 0, an emptied limit is none.
    assert _save(instructor, course, {**choices, "min_score": "", "max_hours_apart": ""}).status_code == 303
    state = program_state(app, course)
    assert state is not None and (state["min_score"], state["max_hours_apart"]) == (0.0, None)
    assert "As many mentees matched as possible" in text_of(instructor.get(f"/courses/{course}/program"))


def test_a_title_of_200_characters_is_kept_whole(app: Flask, instructor: LtiBrowser, course: int) -> None:
    title = "é" * 200
    assert _save(instructor, course, {**GOOD, "title": title}).status_code == 303
    state = program_state(app, course)
    assert state is not None and state["title"] == title


def test_every_error_of_a_submission_is_shown_at_once(instructor: LtiBrowser, course: int) -> None:
    response = _save(
        instructor,
        course,
        {**GOOD, "model": "group", "default_capacity": "1", "ends_on": "2026-01-01", "checkin_every_days": "0"},
    )
    assert "at least 2" in field_error(response, "default_capacity")
    assert "after the start date" in field_error(response, "ends_on")
    assert "from 1 to 90" in field_error(response, "checkin_every_days")


def test_agreement_text_is_shown_escaped(instructor: LtiBrowser, course: int) -> None:
    attack = "<script>alert('agreement')</script>"
    assert _save(instructor, course, {**GOOD, "agreement_text": attack}).status_code == 303
    for path in (f"/courses/{course}/program", f"/courses/{course}/program/settings"):
        page = instructor.get(path)
        assert attack not in page.text
        assert "&lt;script&gt;alert(&#39;agreement&#39;)&lt;/script&gt;" in page.text
