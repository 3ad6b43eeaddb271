"""Mentees rate themselves, mentors their mentees and staff anyone assessed, while a round is open."""

from __future__ import annotations

import html
import json
from datetime import date

from flask import Flask
from sqlalchemy import select

from lti_tool.assessments.models import SkillAssessment
from lti_tool.extensions import db
from lti_tool.mentoring.models import Goal
from lti_tool.statements.models import StatementOutbox
from tests.assessments.conftest import Assessing, assessment_rows, field_errors
from tests.conftest import row_counts
from tests.profiles.helpers import outbox_events

SCORES = "https://mentor-lti.example/xapi/extensions/skill-scores"


def _statements(app: Flask, event: str) -> list[StatementOutbox]:
    """The outbox rows of `event` in the order they were written."""
    return sorted(outbox_events(app, event), key=lambda row: row.id)


def _assessments(app: Flask) -> list[tuple[str, str, dict[str, int], str]]:
    """(rater email name, role, levels, comment) of every stored assessment."""
    with app.app_context():
        rows = db.session.execute(select(SkillAssessment).order_by(SkillAssessment.id)).scalars()
        return [
            (
                a.rater.user.email.split("@")[0],
                a.rater_role,
                {r.skill_key: r.level for r in a.ratings},
                a.comment,
            )
            for a in rows
        ]


def test_the_rating_form_shows_each_focus_skill_with_its_rubric(assessing: Assessing, open_baseline: int) -> None:
    form = assessing.page(assessing.mentee, assessing.rate_path(open_baseline, assessing.mentee))
    assert form.status_code == 200
    text = html.unescape(form.text)
    assert "Rate yourself: Baseline" in text
    # The mentee's profile goals are python and sql: only those are rated, with every level's descriptor.
    assert "<legend>Python</legend>" in text and "<legend>SQL</legend>" in text
    assert "Data visualisation" not in text
    for descriptor in ("a1", "a2", "a3", "a4", "a5", "b5"):
        assert f"</strong> {descriptor}</label>" in text
    assert 'type="radio" id="level-python-0" name="level-python" value="1"' in form.text


def test_self_mentor_and_instructor_submit_and_each_submission_is_a_statement(
    assessing: Assessing, open_baseline: int
) -> None:
    mine = assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 2, "sql": 1}, "Nervous")
    assert mine.status_code == 200
    assert "Your self-assessment for “Baseline” is saved" in html.unescape(mine.text)
    assert "Submitted" in mine.text

    theirs = assessing.rate(assessing.mentor, open_baseline, assessing.mentee, {"python": 3, "sql": 2})
    assert theirs.status_code == 200
    assert "is saved" in html.unescape(theirs.text)

    staff = assessing.rate("instructor", open_baseline, assessing.mentee, {"python": 3, "sql": 3})
    assert staff.status_code == 200
    assert "Change your rating" in staff.text  # back on the round page

    assert _assessments(assessing.app) == [
        (assessing.mentee, "self", {"python": 2, "sql": 1}, "Nervous"),
        (assessing.mentor, "mentor", {"python": 3, "sql": 2}, ""),
        ("instructor", "instructor", {"python": 3, "sql": 3}, ""),
    ]
    statements = [json.loads(row.body) for row in _statements(assessing.app, "assessment-submitted")]
    assert [s["result"]["extensions"][SCORES] for s in statements] == [
        {"python": 2, "sql": 1},
        {"python": 3, "sql": 2},
        {"python": 3, "sql": 3},
    ]
    assert all("score" not in s["result"] for s in statements)  # the round is not graded
    assert len({s["object"]["id"] for s in statements}) == 1  # one activity: this round for this mentee
    assert len({s["context"]["registration"] for s in statements}) == 1  # the mentee's enrolment
    assert "Nervous" not in str(statements)  # comments stay in the tool


def test_submitting_again_replaces_the_ratings_and_voids_the_earlier_statement(
    assessing: Assessing, open_baseline: int
) -> None:
    assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 2, "sql": 1})
    again_form = assessing.page(assessing.mentee, assessing.rate_path(open_baseline, assessing.mentee))
    assert "submitting again replaces your earlier ratings" in again_form.text
    assert 'value="2" checked' in again_form.text  # the earlier choice is shown
    assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 3, "sql": 1}, "Better")
    assert _assessments(assessing.app) == [(assessing.mentee, "self", {"python": 3, "sql": 1}, "Better")]
    submitted = _statements(assessing.app, "assessment-submitted")
    voided = _statements(assessing.app, "assessment-voided")
    assert len(submitted) == 2 and len(voided) == 1
    assert submitted[0].statement_id != submitted[1].statement_id
    assert json.loads(voided[0].body)["object"] == {"objectType": "StatementRef", "id": submitted[0].statement_id}


def test_a_goal_on_the_pair_page_adds_its_skill_and_framework_order_is_kept(
    assessing: Assessing, open_baseline: int
) -> None:
    with assessing.app.app_context():
        db.session.add(
            Goal(
                relationship_id=assessing.pair.relationship_id,
                owner_id=assessing.participant(assessing.mentee),
                title="Present a chart",
                skill_key="data-viz",
                measure="A talk",
                target_on=date(2030, 1, 1),
            )
        )
        db.session.commit()
    form = html.unescape(assessing.page(assessing.mentee, assessing.rate_path(open_baseline, assessing.mentee)).text)
    assert (
        form.index("<legend>Python</legend>")
        < form.index("<legend>SQL</legend>")
        < form.index("<legend>Data visualisation</legend>")
    )
    missing = assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 2, "sql": 1})
    assert missing.status_code == 422
    assert field_errors(missing)["level-data-viz-errors"] == "Choose a level for Data visualisation."


def test_missing_or_out_of_range_levels_and_long_comments_are_refused_with_nothing_written(
    assessing: Assessing, open_baseline: int
) -> None:
    before = row_counts(assessing.app)
    refused = assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 6}, comment="x" * 2001)
    assert refused.status_code == 422
    errors = field_errors(refused)
    assert errors["level-python-errors"] == "Choose a level from 1 to 5."
    assert errors["level-sql-errors"] == "Choose a level for SQL."
    assert errors["comment-errors"] == "Use at most 2000 characters (you wrote 2001)."
    assert "Nothing was saved: please correct 3 problems" in refused.text
    zero = assessing.rate(assessing.mentor, open_baseline, assessing.mentee, {"python": 0, "sql": 2})
    assert zero.status_code == 422
    assert field_errors(zero)["level-python-errors"] == "Choose a level from 1 to 5."
    assert row_counts(assessing.app) == before


def test_closed_and_unopened_rounds_refuse_submissions_and_write_nothing(
    assessing: Assessing, open_baseline: int
) -> None:
    follow_up = assessing.create_round("Follow-up", kind="follow-up", position=2)
    assessing.close_round(open_baseline)
    before = row_counts(assessing.app)
    closed = assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 2, "sql": 1})
    assert closed.status_code == 409
    assert "“Baseline” is closed, so nothing was saved." in html.unescape(closed.text)
    early = assessing.rate(assessing.mentor, follow_up, assessing.mentee, {"python": 2, "sql": 1})
    assert early.status_code == 409
    assert "“Follow-up” has not opened yet, so nothing was saved." in html.unescape(early.text)
    # Even an invalid form gets the round's answer, not field errors.
    assert assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {}).status_code == 409
    assert row_counts(assessing.app) == before
    page = html.unescape(assessing.page(assessing.mentee, assessing.rate_path(open_baseline, assessing.mentee)).text)
    assert "This round closed on" in page and "<form" not in page.split("<main", 1)[1]


def test_only_the_mentee_their_mentor_and_staff_may_rate(assessing: Assessing, open_baseline: int) -> None:
    before = row_counts(assessing.app)
    mentee_path = assessing.rate_path(open_baseline, assessing.mentee)
    levels = {"level-python": "5", "level-sql": "5"}
    # Another pair's mentee, and the mentor of another pair (learner-02): not found, as for a guessed id.
    for person in (assessing.outsider, "learner-02"):
        assert assessing.page(person, mentee_path).status_code == 404
        assert assessing.post(person, mentee_path, levels).status_code == 404
    # A mentee does not rate their mentor, who is not assessed (a mentor only).
    mentor_path = assessing.rate_path(open_baseline, assessing.mentor)
    assert assessing.post(assessing.mentee, mentor_path, levels).status_code == 404
    # Another course's learner and instructor: refused before anything is looked up.
    assert assessing.post("stranger", mentee_path, levels).status_code == 403
    assert assessing.post("other-instructor", mentee_path, levels).status_code == 403
    # Guessed ids, and this course's ids asked from the other course.
    assert (
        assessing.post(
            assessing.mentee, f"/rounds/999999/people/{assessing.participant(assessing.mentee)}", levels
        ).status_code
        == 404
    )
    assert assessing.post(assessing.mentee, f"/rounds/{open_baseline}/people/999999", levels).status_code == 404
    assert assessing.post("other-instructor", mentee_path, levels, course=assessing.other_course_id).status_code == 404
    assert row_counts(assessing.app) == before
    assert outbox_events(assessing.app, "assessment-submitted") == []


def test_graded_rounds_put_the_score_in_the_statement(assessing: Assessing) -> None:
    round_id = assessing.create_round("Baseline", graded="y", grade_rule="average-level")
    assessing.open_round(round_id)
    assessing.rate(assessing.mentee, round_id, assessing.mentee, {"python": 2, "sql": 2})
    assessing.rate(assessing.mentor, round_id, assessing.mentee, {"python": 4, "sql": 3})
    scores = [json.loads(row.body)["result"]["score"] for row in _statements(assessing.app, "assessment-submitted")]
    # Self only: levels 2 and 2 -> 40 %; then the mentor's 4 and 3 count instead -> 70 %.
    assert scores == [
        {"raw": 40.0, "min": 0, "max": 100.0, "scaled": 0.4},
        {"raw": 70.0, "min": 0, "max": 100.0, "scaled": 0.7},
    ]
    assert assessment_rows(assessing.app)[1:] == (2, 4)
