"""What the instructor sees of the gradebook and does about it: a refused score, a change of grading, a resync,
a column placed by deep linking, and the commands that deliver scores. Only the course's staff may resync."""

from __future__ import annotations

import html
import threading
import time

import httpx
import pytest
from flask import Flask

from lti_tool.cli import main
from lti_tool.courses.models import ResourceLink
from lti_tool.extensions import db
from lti_tool.gradebook.delivery import run_score_worker
from lti_tool.runtime import runtime
from lti_tool.sandbox.advantage import Preset
from lti_tool.sandbox.platform import PlacedLink
from tests.assessments.conftest import Assessing
from tests.conftest import Sandbox
from tests.deep_linking.helpers import answer_of, choose, open_placed, select_content
from tests.gradebook.conftest import (
    columns,
    deleted_column_is_made_again,
    deliver,
    lms_score,
    make_due,
    queued,
    score_posts,
    sub_of,
)


def _round_page(assessing: Assessing, round_id: int) -> str:
    page = assessing.page("instructor", f"/manage/{round_id}")
    assert page.status_code == 200
    return " ".join(html.unescape(page.text).split())


def _resync(assessing: Assessing, person: str, round_id: int) -> int:
    return assessing.post(person, f"/manage/{round_id}/gradebook/resync").status_code


@pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE, Preset.CANVAS], ids=["moodle", "canvas"])
def test_a_refused_score_is_shown_and_a_resync_sends_it_after_the_fix(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    sandbox.platform.advantage.removed["ment-101"] = {assessing.mentee}  # unenrolled in the LMS meanwhile

    report = deliver(app)
    assert (report.delivered, report.refused) == (0, 1)
    refused = queued(app, sandbox, assessing.mentee)
    assert refused is not None and refused.state == "dead"
    page = _round_page(assessing, graded)
    assert "Refused by the LMS" in page and "userId is not an active member of this course" in page
    assert deliver(app).claimed == 0  # parked: no retry can change the LMS's answer

    sandbox.platform.advantage.removed.clear()  # re-enrolled
    assert _resync(assessing, "instructor", graded) == 200
    assert deliver(app).delivered == 1
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 60.0
    assert "In the gradebook" in _round_page(assessing, graded)


def test_a_change_of_grading_and_a_resync_send_scores_again(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    deliver(app)
    before = queued(app, sandbox, assessing.mentee)
    assert before is not None and before.version == 1

    # Saving the settings unchanged changes no score: nothing is sent.
    settings = {"title": "Baseline", "kind": "baseline", "position": "1", "graded": "y"}
    assert (
        assessing.post("instructor", f"/manage/{graded}", {**settings, "grade_rule": "average-level"}).status_code
        == 200
    )
    assert deliver(app).claimed == 0
    # Completion grading: full marks for a submitted self-assessment.
    assert (
        assessing.post("instructor", f"/manage/{graded}", {**settings, "grade_rule": "completion"}).status_code == 200
    )
    assert deliver(app).delivered == 1
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 100.0

    # The LMS lost the grade (restored from a backup, say); the resync sends it again, newer than any before.
    sandbox.platform.advantage.line_items[columns(sandbox)[0].id].scores.clear()
    posts = score_posts(sandbox)
    assert _resync(assessing, "instructor", graded) == 200
    resent = queued(app, sandbox, assessing.mentee)
    assert resent is not None and resent.version == 3 and resent.state == "pending"
    assert deliver(app).delivered == 1
    assert score_posts(sandbox) == posts + 1
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 100.0


def test_only_the_courses_staff_can_resync(app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int) -> None:
    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    deliver(app)
    for person in (assessing.mentee, assessing.mentor, "stranger"):
        assert _resync(assessing, person, graded) == 403
    assert _resync(assessing, "other-instructor", graded) == 403
    # Their own course, somebody else's round: not found.
    other = assessing.post("other-instructor", f"/manage/{graded}/gradebook/resync", course=assessing.other_course_id)
    assert other.status_code == 404
    # Without the form's CSRF token.
    bare = assessing.browser("instructor").http.post(
        f"{assessing.browser('instructor').tool_url}/courses/{assessing.course_id}/assessments/manage/{graded}"
        "/gradebook/resync"
    )
    assert bare.status_code == 400
    unchanged = queued(app, sandbox, assessing.mentee)
    assert unchanged is not None and (unchanged.version, unchanged.state) == (1, "delivered")


def test_a_deep_linked_graded_item_receives_the_scores_in_its_own_column(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    instructor = assessing.browser("instructor")
    launch = select_content(instructor, "assignment_selection")
    answer = answer_of(choose(instructor, launch.location, {"items": [f"assessment-{graded}"], "add": "1"}))
    assert httpx.post(answer.return_url, data={"JWT": answer.token}).status_code == 200
    (link,) = [link for link in sandbox.platform.placed_links if link.line_item_id]
    placed = sandbox.platform.advantage.line_items[link.line_item_id]
    placed.resource_id = None  # an LMS that keeps no resourceId: only the placed link ties the column to the round
    open_placed(instructor, link.id, person="instructor")  # the launch tells the tool the link's line item

    assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
    assert deliver(app).delivered == 1
    assert [item.id for item in columns(sandbox)] == [placed.id]  # no second column
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 60.0

    # The placed item's column is deleted in the LMS: the next score makes a column of its own.
    deleted_column_is_made_again(app, sandbox, assessing, graded)


def _place_graded_round(sandbox: Sandbox, assessing: Assessing, round_id: int) -> PlacedLink:
    """The instructor places the round as a graded item (assignment selection): the LMS makes its own column."""
    instructor = assessing.browser("instructor")
    launch = select_content(instructor, "assignment_selection")
    answer = answer_of(choose(instructor, launch.location, {"items": [f"assessment-{round_id}"], "add": "1"}))
    assert httpx.post(answer.return_url, data={"JWT": answer.token}).status_code == 200
    link = sandbox.platform.placed_links[-1]
    assert link.line_item_id is not None
    return link


@pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE, Preset.CANVAS], ids=["moodle", "canvas"])
def test_scores_sent_before_the_round_was_placed_move_to_the_placed_column(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    mentee, sub = assessing.mentee, sub_of(sandbox, assessing.mentee)
    assert assessing.rate(mentee, graded, mentee, {"python": 2, "sql": 4}).status_code == 200
    assert deliver(app).delivered == 1
    (made,) = columns(sandbox)  # the tool's own column for the round

    link = _place_graded_round(sandbox, assessing, graded)
    placed = sandbox.platform.advantage.line_items[str(link.line_item_id)]
    assert placed.id != made.id and placed.scores == {}
    # The first launch of the placed link (the mentee's) tells the tool its column: every score is sent there.
    assert open_placed(assessing.browser(mentee), link.id, person=mentee).response.status_code == 303
    assert deliver(app).delivered == 1
    assert placed.scores[sub].score_given == 60.0
    assert "In the gradebook" in _round_page(assessing, graded)

    # Later scores go to the placed column only: the tool's column keeps what it had and is fed no more.
    posts = made.posts
    assert assessing.rate(assessing.mentor, graded, mentee, {"python": 4, "sql": 5}).status_code == 200
    assert deliver(app).delivered == 1
    assert placed.scores[sub].score_given == 90.0
    assert (made.posts, made.scores[sub].score_given) == (posts, 60.0)
    assert [item.id for item in columns(sandbox)] == [made.id, placed.id]  # left in the gradebook, not deleted
    # Further launches of the placed link move nothing and send nothing again.
    open_placed(assessing.browser("instructor"), link.id, person="instructor")
    assert deliver(app).claimed == 0


def test_a_resync_moves_scores_to_a_placed_column_the_tool_had_not_followed(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    """A round placed while the tool did not yet follow placed columns: its scores went on to the tool's column."""
    mentee, sub = assessing.mentee, sub_of(sandbox, assessing.mentee)
    assert assessing.rate(mentee, graded, mentee, {"python": 2, "sql": 4}).status_code == 200
    deliver(app)
    (made,) = columns(sandbox)
    link = _place_graded_round(sandbox, assessing, graded)
    placed = sandbox.platform.advantage.line_items[str(link.line_item_id)]
    with app.app_context():
        # The placed link as an earlier version's launch recorded it, leaving the column as it was.
        db.session.add(
            ResourceLink(
                course_id=assessing.course_id,
                resource_link_id=link.id,
                custom=link.custom,
                line_item_url=sandbox.platform.advantage.line_item_url(placed, sandbox.platform.base_url),
            )
        )
        db.session.commit()

    assert _resync(assessing, "instructor", graded) == 200
    assert deliver(app).delivered == 1
    assert placed.scores[sub].score_given == 60.0
    assert made.posts == 1


def test_the_worker_delivers_as_scores_come_and_flush_reports(
    app: Flask, sandbox: Sandbox, assessing: Assessing, graded: int
) -> None:
    stop = threading.Event()
    with app.app_context():
        worker_settings = runtime().settings.model_copy(update={"scores_poll_interval_seconds": 0.1})

    def work() -> None:
        with app.app_context():
            run_score_worker(worker_settings, stop)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert assessing.rate(assessing.mentee, graded, assessing.mentee, {"python": 2, "sql": 4}).status_code == 200
        deadline = time.monotonic() + 20
        while lms_score(sandbox, assessing.mentee) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    score = lms_score(sandbox, assessing.mentee)
    assert score is not None and score.score_given == 60.0

    sandbox.platform.advantage.outage = True
    assert assessing.rate(assessing.mentor, graded, assessing.mentee, {"python": 4, "sql": 4}).status_code == 200
    runner = app.test_cli_runner()
    failed = runner.invoke(main, ["scores", "flush"])
    assert failed.exit_code == 1
    assert "0 scores delivered, 1 to retry" in failed.output and "The LMS answered 503" in failed.output
    sandbox.platform.advantage.outage = False
    make_due(app)
    done = runner.invoke(main, ["scores", "flush"])
    assert done.exit_code == 0, done.output
    assert "1 scores delivered, 0 to retry, 0 refused by the LMS" in done.output
