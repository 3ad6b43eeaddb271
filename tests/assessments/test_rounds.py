"""The instructor creates assessment rounds, opens and closes them; nobody else can."""

from __future__ import annotations

import html

from flask import Flask

from lti_tool.assessments.models import AssessmentRound
from lti_tool.extensions import db
from tests.assessments.conftest import Assessing, assessment_rows, field_errors
from tests.conftest import row_counts


def _round(app: Flask, round_id: int) -> AssessmentRound:
    with app.app_context():
        found = db.session.get(AssessmentRound, round_id)
        db.session.expunge(found)
        return found


def test_instructor_creates_opens_closes_and_reopens_a_round(assessing: Assessing) -> None:
    empty = assessing.page("instructor", "/manage")
    assert empty.status_code == 200
    assert "create the baseline round below" in html.unescape(empty.text)
    assert 'value="1"' in empty.text  # the first round's order is filled in

    created = assessing.post(
        "instructor",
        "/manage",
        {"title": "Baseline, week 1", "kind": "baseline", "position": "1", "graded": "y", "grade_rule": "completion"},
    )
    assert created.status_code == 200
    text = html.unescape(created.text)
    assert "Created “Baseline, week 1”" in text
    assert "Not opened yet: learners do not see it." in text
    round_id = int(str(created.url).rstrip("/").rsplit("/", 1)[1])
    stored = _round(assessing.app, round_id)
    assert (stored.title, stored.kind, stored.position, stored.graded, stored.grade_rule) == (
        "Baseline, week 1",
        "baseline",
        1,
        True,
        "completion",
    )
    assert stored.opened_at is None
    # Learners do not see a round before it opens.
    assert "Baseline, week 1" not in assessing.page(assessing.mentee).text

    opened = assessing.post("instructor", f"/manage/{round_id}/open")
    assert "is open" in html.unescape(opened.text)
    assert _round(assessing.app, round_id).opened_at is not None
    assert "Baseline, week 1" in assessing.page(assessing.mentee).text

    closed = assessing.post("instructor", f"/manage/{round_id}/close")
    assert "is closed" in html.unescape(closed.text)
    assert _round(assessing.app, round_id).closed_at is not None

    reopened = assessing.post("instructor", f"/manage/{round_id}/open")
    assert "Close the round" in reopened.text
    assert _round(assessing.app, round_id).closed_at is None

    listing = html.unescape(assessing.page("instructor", "/manage").text)
    assert "Baseline, week 1" in listing and "Completion" in listing and "0 of 3" in listing


def test_the_next_round_is_ordered_after_the_last_and_settings_can_change(assessing: Assessing) -> None:
    first = assessing.create_round("Baseline")
    assert 'value="2"' in assessing.page("instructor", "/manage").text
    saved = assessing.post(
        "instructor",
        f"/manage/{first}",
        {"title": "Start of cohort", "kind": "baseline", "position": "3", "grade_rule": "average-level"},
    )
    assert saved.status_code == 200
    stored = _round(assessing.app, first)
    assert (stored.title, stored.position, stored.graded) == ("Start of cohort", 3, False)


def test_invalid_round_settings_show_errors_next_to_fields_and_save_nothing(assessing: Assessing) -> None:
    before = assessment_rows(assessing.app)
    refused = assessing.post(
        "instructor",
        "/manage",
        {"title": "  ", "kind": "midterm", "position": "100", "grade_rule": "vibes"},
    )
    assert refused.status_code == 422
    errors = field_errors(refused)
    assert errors["title-error"] == "Give the round a title."
    assert "kind-error" in errors
    assert errors["position-error"] == "Enter a whole number from 1 to 99."
    assert "grade_rule-error" in errors
    assert 'class="error-summary"' in refused.text
    assert assessment_rows(assessing.app) == before

    round_id = assessing.create_round("Baseline")
    overlong = assessing.post(
        "instructor", f"/manage/{round_id}", {"title": "x" * 121, "kind": "baseline", "position": "1"}
    )
    assert overlong.status_code == 422
    assert field_errors(overlong)["title-error"] == "At most 120 characters."
    assert _round(assessing.app, round_id).title == "Baseline"


def test_opening_an_open_round_or_closing_an_unopened_one_is_a_conflict(assessing: Assessing) -> None:
    round_id = assessing.create_round("Baseline")
    not_open = assessing.post("instructor", f"/manage/{round_id}/close")
    assert not_open.status_code == 409
    assert "is not open, so it cannot be closed" in html.unescape(not_open.text)
    assessing.open_round(round_id)
    opened_at = _round(assessing.app, round_id).opened_at
    again = assessing.post("instructor", f"/manage/{round_id}/open")
    assert again.status_code == 409
    assert "is already open" in html.unescape(again.text)
    assert _round(assessing.app, round_id).opened_at == opened_at


def test_learners_cannot_manage_rounds(assessing: Assessing) -> None:
    round_id = assessing.create_round("Baseline")
    before = row_counts(assessing.app)
    for person in (assessing.mentee, assessing.mentor):
        assert assessing.page(person, "/manage").status_code == 403
        assert assessing.page(person, f"/manage/{round_id}").status_code == 403
        assert (
            assessing.post(person, "/manage", {"title": "Mine", "kind": "baseline", "position": "2"}).status_code == 403
        )
        assert assessing.post(person, f"/manage/{round_id}/open").status_code == 403
    assert row_counts(assessing.app) == before
    assert _round(assessing.app, round_id).opened_at is None


def test_another_course_cannot_see_or_change_this_courses_rounds(assessing: Assessing) -> None:
    round_id = assessing.create_round("Baseline")
    before = row_counts(assessing.app)
    # Their launch is for another course: this course's pages refuse them.
    assert assessing.page("other-instructor", f"/manage/{round_id}").status_code == 403
    assert assessing.post("other-instructor", f"/manage/{round_id}/open").status_code == 403
    # In their own course the id is simply not one of theirs.
    own = assessing.other_course_id
    assert assessing.page("other-instructor", f"/manage/{round_id}", course=own).status_code == 404
    assert assessing.post("other-instructor", f"/manage/{round_id}/open", course=own).status_code == 404
    assert assessing.page("instructor", "/manage/999999").status_code == 404
    assert row_counts(assessing.app) == before
    assert _round(assessing.app, round_id).opened_at is None
