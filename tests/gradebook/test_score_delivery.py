"""Scores of graded assessments reach the LMS gradebook over HTTP (LTI Assignment and Grade Services), shaped like
Moodle and like Canvas: the column is found or created once, an outage delays scores and loses none, retries send
exactly the same score, a newer score always wins, and the service token is reused."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta

import httpx
import pytest
from flask import Flask
from sqlalchemy import Connection, insert, select, update

from lti_tool.assessments.models import AssessmentRound, SkillAssessment, SkillRating
from lti_tool.courses.models import Course
from lti_tool.extensions import db, utcnow
from lti_tool.gradebook.delivery import claim_scores, send_claimed
from lti_tool.gradebook.models import GradebookColumn, ScoreOutbox
from lti_tool.programs.models import Participant
from lti_tool.runtime import runtime
from lti_tool.sandbox.advantage import Preset
from tests.assessments.conftest import Assessing
from tests.conftest import POSTGRES_URL, Sandbox
from tests.gradebook.conftest import (
    columns,
    deleted_column_is_made_again,
    deliver,
    iso,
    lms_score,
    make_due,
    queued,
    score_posts,
    sub_of,
    wait_for_new_versions,
    waits_for,
)
from tests.profiles.helpers import membership_id


@pytest.fixture(params=[Preset.MOODLE, Preset.CANVAS], ids=["moodle", "canvas"])
def sandbox_preset(request: pytest.FixtureRequest) -> Preset:
    preset: Preset = request.param
    return preset


def _round_page(assessing: Assessing, round_id: int) -> str:
    page = assessing.page("instructor", f"/manage/{round_id}")
    assert page.status_code == 200
    return " ".join(html.unescape(page.text).split())


def test_a_score_reaches_the_gradebook_and_a_changed_score_replaces_it(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    mentee = assessing.mentee
    assert assessing.rate(mentee, graded, mentee, {"python": 2, "sql": 4}).status_code == 200
    # Queued with the submission; the LMS has nothing until the worker delivers it.
    first = queued(app, sandbox, mentee)
    assert first is not None
    assert (first.score_given, first.activity_progress, first.grading_progress) == (60.0, "Completed", "FullyGraded")
    assert (first.version, first.delivered_version, first.state) == (1, None, "pending")
    assert columns(sandbox) == []
    assert "Being sent" in _round_page(assessing, graded)

    assert deliver(app).delivered == 1
    (column,) = columns(sandbox)
    assert (column.label, column.score_maximum, column.resource_id, column.tag) == (
        "Baseline",
        100.0,
        f"assessment-{graded}",
        "skill-assessment",
    )
    score = lms_score(sandbox, mentee)
    assert score is not None
    assert (score.score_given, score.score_maximum, score.activity_progress, score.grading_progress) == (
        60.0,
        100.0,
        "Completed",
        "FullyGraded",
    )
    assert score.timestamp == iso(first.scored_at)
    delivered = queued(app, sandbox, mentee)
    assert delivered is not None and (delivered.delivered_version, delivered.state) == (1, "delivered")
    assert "In the gradebook" in _round_page(assessing, graded)
    lms_page = httpx.get(f"{sandbox.url}/courses/ment-101").text
    assert "Baseline" in lms_page and "60 / 100" in lms_page

    # The mentor's rating changes the grade (mentors' levels count first): a new version, sent to the same column.
    assert assessing.rate(assessing.mentor, graded, mentee, {"python": 4, "sql": 5}).status_code == 200
    second = queued(app, sandbox, mentee)
    assert second is not None and (second.score_given, second.version, second.state) == (90.0, 2, "pending")
    assert second.scored_at > first.scored_at
    assert deliver(app).delivered == 1
    assert len(columns(sandbox)) == 1
    score = lms_score(sandbox, mentee)
    assert score is not None and (score.score_given, score.timestamp) == (90.0, iso(second.scored_at))
    assert score_posts(sandbox) == 2
    # One access token served every call of both deliveries (finding, creating, two scores).
    assert len(sandbox.platform.advantage.token_requests) == 1

    # Nobody else was rated: nobody else has a score, in the tool or the LMS.
    assert queued(app, sandbox, assessing.outsider) is None
    assert set(columns(sandbox)[0].scores) == {sub_of(sandbox, mentee)}


def test_an_ungraded_round_sends_nothing(app: Flask, sandbox: Sandbox, assessing: Assessing) -> None:
    round_id = assessing.create_round("Practice")
    assessing.open_round(round_id)
    assert assessing.rate(assessing.mentee, round_id, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    assert queued(app, sandbox, assessing.mentee) is None
    assert deliver(app).claimed == 0
    assert columns(sandbox) == []
    assert "Gradebook" not in _round_page(assessing, round_id)


def test_an_lms_outage_delays_scores_and_loses_none(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    sandbox.platform.advantage.outage = True
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 3, "sql": 3}).status_code == 200

    report = deliver(app)
    assert (report.delivered, report.retrying) == (0, 1)
    waiting = queued(app, sandbox, assessing.mentee)
    assert waiting is not None
    assert (waiting.state, waiting.attempts, waiting.delivered_version) == ("pending", 1, None)
    assert waiting.next_attempt_at > utcnow()  # backoff: not hammered while the LMS is down
    assert waiting.last_error is not None and "503" in waiting.last_error
    page = _round_page(assessing, graded)
    assert "Waiting for the LMS" in page and "The LMS answered 503" in page
    manage = " ".join(html.unescape(assessing.page("instructor", "/manage").text).split())
    assert "1 score is not in the LMS gradebook yet" in manage
    assert deliver(app).claimed == 0  # its next attempt has not come

    # Still down at the next attempt: the wait grows, the score stays.
    make_due(app)
    assert deliver(app).retrying == 1
    again = queued(app, sandbox, assessing.mentee)
    assert again is not None and again.attempts == 2

    sandbox.platform.advantage.outage = False
    make_due(app)
    assert deliver(app).delivered == 1
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 60.0
    assert score_posts(sandbox) == 1  # the outage answered before any score was taken
    done = queued(app, sandbox, assessing.mentee)
    assert done is not None and (done.state, done.attempts, done.last_error) == ("delivered", 0, None)
    assert "In the gradebook" in _round_page(assessing, graded)


def test_retries_send_the_same_score_and_the_newest_score_wins(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int, sandbox_preset: Preset
) -> None:
    mentee = assessing.mentee
    assert assessing.rate(mentee, graded, mentee, {"python": 2, "sql": 2}).status_code == 200
    assert deliver(app).delivered == 1  # the column exists from here on

    # A worker claims the next score (version 2); while it is in flight the mentor's rating makes version 3.
    assert assessing.rate(mentee, graded, mentee, {"python": 3, "sql": 3}).status_code == 200
    with app.app_context():
        wait_for_new_versions()
        in_flight = claim_scores(runtime().settings)
    assert [(row.version, row.score_given) for row in in_flight] == [(2, 60.0)]
    assert assessing.rate(assessing.mentor, graded, mentee, {"python": 5, "sql": 5}).status_code == 200
    newest = queued(app, sandbox, mentee)
    assert newest is not None and (newest.version, newest.score_given, newest.state) == (3, 100.0, "pending")

    # The in-flight send completes: the LMS has version 2 for now, and the tool knows version 3 is still owed.
    with app.app_context(), httpx.Client() as http:
        assert send_claimed(in_flight, runtime().settings, http).delivered == 1
    owed = queued(app, sandbox, mentee)
    assert owed is not None and (owed.delivered_version, owed.version, owed.state) == (2, 3, "pending")
    assert "Being sent" in _round_page(assessing, graded)
    assert deliver(app).delivered == 1
    score = lms_score(sandbox, mentee)
    assert score is not None and (score.score_given, score.timestamp) == (100.0, iso(newest.scored_at))

    # A late duplicate of version 2 (a worker that lost its lease) changes nothing: the LMS refuses a score older
    # than the one it holds (Moodle 409, Canvas 400), and the tool neither counts it nor thinks the LMS went back.
    with app.app_context(), httpx.Client() as http:
        late = send_claimed(in_flight, runtime().settings, http)
    assert (late.claimed, late.delivered, late.retrying, late.refused) == (1, 0, 0, 0)
    score = lms_score(sandbox, mentee)
    assert score is not None and score.score_given == 100.0
    kept = queued(app, sandbox, assessing.mentee)
    assert kept is not None and (kept.delivered_version, kept.state) == (3, "delivered")

    # A worker dies after claiming a score: after its lease the score is sent again, exactly as it was queued.
    assert assessing.rate(assessing.mentor, graded, mentee, {"python": 4, "sql": 4}).status_code == 200
    with app.app_context():
        wait_for_new_versions()
        (lost,) = claim_scores(runtime().settings)
        db.session.execute(update(ScoreOutbox).values(lease_until=utcnow()))
        db.session.commit()
    assert deliver(app).delivered == 1
    score = lms_score(sandbox, mentee)
    final = queued(app, sandbox, mentee)
    assert final is not None and score is not None
    assert (
        (score.score_given, score.timestamp) == (lost.score_given, iso(lost.scored_at)) == (80.0, iso(final.scored_at))
    )
    assert final.delivered_version == final.version == lost.version == 4


def test_a_retry_after_a_lost_answer_is_recognised_as_delivered(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    with app.app_context(), httpx.Client() as http:
        wait_for_new_versions()
        (claimed,) = claim_scores(runtime().settings)
        assert send_claimed([claimed], runtime().settings, http).delivered == 1
        # The LMS stored it, but its answer never arrived: the row is still claimed when its lease runs out.
        db.session.execute(update(ScoreOutbox).values(state="sending", delivered_version=None, lease_until=utcnow()))
        db.session.commit()
    # The retry posts the very same score. Moodle answers 409 (it holds a score as new); Canvas 400 (it updated the
    # result after the score's timestamp), and the learner's result, read then, holds this very score.
    report = deliver(app)
    assert (report.delivered, report.retrying, report.refused) == (1, 0, 0)
    assert score_posts(sandbox) == 2
    assert result_reads(sandbox) == (1 if sandbox.platform.advantage.preset is Preset.CANVAS else 0)
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and (score.score_given, score.timestamp) == (60.0, iso(claimed.scored_at))
    done = queued(app, sandbox, assessing.mentee)
    assert done is not None and (done.state, done.delivered_version) == ("delivered", 1)


RESULTS_PATH = re.compile(r"/api/courses/ment-101/line_items/[0-9a-f]+/results")


def result_reads(sandbox: Sandbox) -> int:
    return sum(count for path, count in sandbox.requests.items() if RESULTS_PATH.fullmatch(path))


def _in_flight_while_changed(app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int) -> None:
    """Version 2 of the mentee's score is claimed; the mentor's rating makes version 3; version 2 reaches the LMS
    only after version 3's timestamp (a slow post): the LMS's last update is later than version 3's timestamp."""
    mentee = assessing.mentee
    assert assessing.rate(mentee, graded, mentee, {"python": 3, "sql": 3}).status_code == 200
    with app.app_context():
        wait_for_new_versions()
        in_flight = claim_scores(runtime().settings)
    assert assessing.rate(assessing.mentor, graded, mentee, {"python": 5, "sql": 5}).status_code == 200
    newest = queued(app, sandbox, mentee)
    assert newest is not None and newest.version == 3
    while utcnow() <= newest.scored_at:  # at most the second between two versions' timestamps
        time.sleep(0.05)
    with app.app_context(), httpx.Client() as http:
        assert send_claimed(in_flight, runtime().settings, http).delivered == 1


@pytest.mark.parametrize("sandbox_preset", [Preset.CANVAS], ids=["canvas"])
def test_a_grade_changed_while_the_previous_was_on_its_way_reaches_canvas(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    mentee = assessing.mentee
    assert assessing.rate(mentee, graded, mentee, {"python": 2, "sql": 2}).status_code == 200
    assert deliver(app).delivered == 1
    _in_flight_while_changed(app, sandbox, assessing, graded)
    stamped = queued(app, sandbox, mentee)
    assert stamped is not None and (stamped.delivered_version, stamped.version) == (2, 3)
    posts = score_posts(sandbox)

    # Canvas refuses version 3 (400: its timestamp is before Canvas's update of version 2); the result holds
    # version 2's grade and version 3 is the tool's newest, so it goes once more with the current time.
    report = deliver(app)
    assert (report.delivered, report.retrying, report.refused) == (1, 0, 0)
    assert score_posts(sandbox) == posts + 2 and result_reads(sandbox) == 1
    done = queued(app, sandbox, mentee)
    assert done is not None and (done.state, done.delivered_version, done.version) == ("delivered", 3, 3)
    assert done.scored_at > stamped.scored_at
    score = lms_score(sandbox, mentee)
    assert score is not None and (score.score_given, score.timestamp) == (100.0, iso(done.scored_at))
    assert "In the gradebook" in _round_page(assessing, graded)


@pytest.mark.parametrize("sandbox_preset", [Preset.CANVAS], ids=["canvas"])
def test_canvas_refusing_a_current_timestamp_parks_the_score_with_its_reason(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    mentee = assessing.mentee
    sandbox.platform.advantage.clock_ahead = timedelta(minutes=5)  # Canvas's clock runs ahead of the tool's
    assert assessing.rate(mentee, graded, mentee, {"python": 2, "sql": 2}).status_code == 200
    assert deliver(app).delivered == 1
    assert assessing.rate(assessing.mentor, graded, mentee, {"python": 5, "sql": 5}).status_code == 200

    # Refused, then refused again with the current time: the tool parks it rather than post it forever.
    report = deliver(app)
    assert (report.delivered, report.retrying, report.refused) == (0, 0, 1)
    parked = queued(app, sandbox, mentee)
    assert parked is not None and (parked.state, parked.delivered_version, parked.version) == ("dead", 1, 2)
    assert parked.last_error is not None and "its clock may be ahead of the tool's" in parked.last_error
    page = _round_page(assessing, graded)
    assert "Refused by the LMS" in page and "holds another grade (40 / 100)" in page
    score = lms_score(sandbox, mentee)
    assert score is not None and score.score_given == 40.0
    assert deliver(app).claimed == 0


def test_throttling_waits_as_long_as_the_lms_asks(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    sandbox.platform.advantage.throttle_seconds = 120
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    before = utcnow()
    assert deliver(app).retrying == 1
    waiting = queued(app, sandbox, assessing.mentee)
    assert waiting is not None and waiting.last_error is not None and "429" in waiting.last_error
    assert waiting.next_attempt_at >= before + timedelta(seconds=120)
    sandbox.platform.advantage.throttle_seconds = None
    make_due(app)
    assert deliver(app).delivered == 1


def test_a_line_item_deleted_in_the_lms_is_made_again(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    deliver(app)
    # An LMS admin deletes the column: the 404 makes the tool forget it, and the retry makes a new one.
    new = deleted_column_is_made_again(app, sandbox, assessing, graded)
    with app.app_context():
        column = db.session.execute(select(GradebookColumn)).scalar_one()
        assert column.line_item_url == sandbox.platform.advantage.line_item_url(new, sandbox.platform.base_url)


def test_scores_wait_while_the_lms_offers_no_gradebook_service(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    with app.app_context():
        db.session.execute(update(Course).values(ags_lineitems_url=None))  # a launch without the AGS claim
        db.session.commit()
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    assert deliver(app).waiting == 1
    waiting = queued(app, sandbox, assessing.mentee)
    assert waiting is not None and (waiting.state, waiting.attempts) == ("pending", 0)
    page = _round_page(assessing, graded)
    assert "has not offered its gradebook service in this course yet" in page
    assert sandbox.platform.advantage.token_requests == []

    # The instructor's next launch brings the service; the waiting score goes at its next attempt.
    assessing.browser("instructor").launch(course="ment-101", person="instructor")
    make_due(app)
    assert deliver(app).delivered == 1
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 60.0


PG_ONLY = pytest.mark.skipif(not POSTGRES_URL, reason="row locks serialise these on PostgreSQL; SQLite, its writers")


@PG_ONLY
@pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE], ids=["moodle"])
def test_submissions_about_one_mentee_wait_for_each_other_so_the_score_counts_both(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    mentee = assessing.participant(assessing.mentee)
    own = membership_id(app, "ment-101", assessing.mentee)

    def self_assessment_under_way(connection: Connection) -> None:
        # The mentee's own submission, as submit_assessment makes it: the lock, then the ratings, not committed.
        connection.execute(select(Participant.id).where(Participant.id == mentee).with_for_update(key_share=True))
        assessment = connection.execute(
            insert(SkillAssessment)
            .values(round_id=graded, subject_id=mentee, rater_id=own, rater_role="self", comment="")
            .returning(SkillAssessment.id)
        ).scalar_one()
        connection.execute(
            insert(SkillRating),
            [{"assessment_id": assessment, "skill_key": key, "level": 2} for key in ("python", "sql")],
        )

    waits_for(
        app,
        self_assessment_under_way,
        lambda: assessing.rate(assessing.mentor, graded, assessing.mentee, {"python": 4, "sql": 4}),
    )
    # The mentor's submission saw the mentee's: her activity is complete, and the grade is the mentor's levels.
    score = queued(app, sandbox, assessing.mentee)
    assert score is not None and (score.score_given, score.activity_progress) == (80.0, "Completed")


@PG_ONLY
@pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE], ids=["moodle"])
def test_a_submission_during_a_change_of_grading_is_scored_by_the_new_rule(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    def change_to_completion_under_way(connection: Connection) -> None:
        connection.execute(update(AssessmentRound).where(AssessmentRound.id == graded).values(grade_rule="completion"))

    waits_for(
        app,
        change_to_completion_under_way,
        lambda: assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}),
    )
    score = queued(app, sandbox, assessing.mentee)
    assert score is not None and score.score_given == 100.0  # completion, not the average level's 60
