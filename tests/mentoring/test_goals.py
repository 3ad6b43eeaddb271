"""The mentee sets goals on the pair page; both members track them with milestones, status, progress and comments."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import func, select, update

from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.models import Goal, GoalComment, Milestone, Relationship, RelationshipMember
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair
from tests.profiles.helpers import course_id, create_program, outbox_events

_FIELD_ERROR = re.compile(r'<p class="field-error" id="([^"]+)-error">(.*?)</p>', re.S)


def field_errors(page: httpx.Response) -> dict[str, str]:
    """Error text by the id of the field it stands next to (programs/_form.html's `error` macro)."""
    return {
        name: html.unescape(re.sub(r"<[^>]+>", "", body)).replace("Error: ", "").strip()
        for name, body in _FIELD_ERROR.findall(page.text)
    }


def days_ahead(days: int) -> str:
    # Days ahead in UTC are days ahead in the learners' zone too, with a day to spare either way.
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def goal_data(**changes: Any) -> dict[str, Any]:
    data = {
        "new-goal-title": "Write unit tests for my own code",
        "new-goal-skill_key": "python",
        "new-goal-measure": "Twenty tests merged, reviewed by my mentor",
        "new-goal-target_on": days_ahead(60),
    }
    return {**data, **changes}


def rows(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def everything(app: Flask) -> tuple[int, ...]:
    """Row counts of everything a goal action can write, to check that a refused one wrote nothing."""
    return tuple(rows(app, model) for model in (Goal, Milestone, GoalComment, StatementOutbox))


def the_goal(app: Flask, goal_id: int) -> Goal:
    with app.app_context():
        goal = db.session.get(Goal, goal_id)
        assert goal is not None
        db.session.expunge(goal)
        return goal


def set_goal(pair: Pair, **changes: Any) -> int:
    response = pair.post(pair.mentee, "/goals", goal_data(**changes))
    assert response.status_code == 200, response.text[:2000]
    with pair.app.app_context():
        return int(db.session.execute(select(func.max(Goal.id))).scalar_one())


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


def test_mentee_sets_a_goal_the_mentor_sees_it_with_its_skill_measure_and_date(pair: Pair) -> None:
    goal_id = set_goal(pair, **{"new-goal-title": "Ship <script>alert(1)</script> safely"})
    goal = the_goal(pair.app, goal_id)
    assert (goal.skill_key, goal.status, goal.progress, goal.completed_at) == ("python", "not-started", 0, None)
    assert goal.owner_id == pair.cohort.participant(pair.mentee)

    mentor_view = pair.page(pair.mentor)
    assert "Ship &lt;script&gt;alert(1)&lt;/script&gt; safely" in mentor_view.text
    assert "<script>alert(1)" not in mentor_view.text
    text = text_of(mentor_view)
    assert "Twenty tests merged, reviewed by my mentor" in text
    assert "skill: <strong>Python</strong>" in text
    assert f'id="goal-{goal_id}"' in text and "Not started" in text
    assert 'class="bar-fill w-0"' in text
    # The mentor is not offered the form.
    assert "Set a goal" not in text and "Save progress" in text
    assert len(outbox_events(pair.app, "goal-set")) == 1


def test_a_goal_with_errors_is_refused_next_to_each_field_and_nothing_is_written(pair: Pair) -> None:
    before = everything(pair.app)
    refused = pair.post(
        pair.mentee,
        "/goals",
        goal_data(
            **{
                "new-goal-title": "  ",
                "new-goal-skill_key": "astrology",
                "new-goal-measure": "",
                "new-goal-target_on": (datetime.now(UTC).date() - timedelta(days=3)).isoformat(),
            }
        ),
    )
    assert refused.status_code == 422
    errors = field_errors(refused)
    assert errors["new-goal-title"] == "Say what you want to achieve."
    assert errors["new-goal-skill_key"] == "Choose one of the program's skills."
    assert errors["new-goal-measure"] == "Say how you and your mentor will know the goal is reached."
    assert errors["new-goal-target_on"].startswith("Choose a date that is not in the past")
    assert 'aria-invalid="true"' in refused.text and "Please correct these" in refused.text

    too_far = pair.post(pair.mentee, "/goals", goal_data(**{"new-goal-target_on": days_ahead(3 * 365)}))
    assert too_far.status_code == 422
    assert field_errors(too_far)["new-goal-target_on"].startswith("Choose a date within two years")
    not_a_date = pair.post(pair.mentee, "/goals", goal_data(**{"new-goal-target_on": "next spring"}))
    assert not_a_date.status_code == 422 and "new-goal-target_on" in field_errors(not_a_date)
    no_skill = pair.post(pair.mentee, "/goals", goal_data(**{"new-goal-skill_key": ""}))
    assert field_errors(no_skill) == {"new-goal-skill_key": "Choose the skill this goal develops."}
    long_title = pair.post(pair.mentee, "/goals", goal_data(**{"new-goal-title": "x" * 201}))
    assert field_errors(long_title) == {"new-goal-title": "At most 200 characters."}
    assert everything(pair.app) == before


def test_the_mentor_cannot_set_a_goal_for_the_mentee(pair: Pair) -> None:
    before = everything(pair.app)
    refused = pair.post(pair.mentor, "/goals", goal_data())
    assert refused.status_code == 403
    assert "Mentees set their own goals." in text_of(refused)
    assert everything(pair.app) == before


def test_the_owner_adds_milestones_and_either_member_ticks_them(pair: Pair) -> None:
    goal_id = set_goal(pair)
    path = f"/goals/{goal_id}/milestones"
    added = pair.post(pair.mentee, path, {f"goal-{goal_id}-milestone-title": "First five tests"})
    assert added.status_code == 200
    pair.post(
        pair.mentee,
        path,
        {f"goal-{goal_id}-milestone-title": "Ten tests", f"goal-{goal_id}-milestone-due_on": days_ahead(20)},
    )
    with pair.app.app_context():
        first, second = db.session.execute(select(Milestone.id).order_by(Milestone.id)).scalars()
    mentor_view = pair.page(pair.mentor).text
    due = date.fromisoformat(days_ahead(20)).strftime("%d %b %Y")
    assert "First five tests" in mentor_view and "no due date" in mentor_view and f"due {due}" in mentor_view

    ticked = pair.post(pair.mentor, f"{path}/{first}", {"done": "y"})
    assert ticked.status_code == 200
    assert "Ticked off “First five tests”." in text_of(ticked)
    with pair.app.app_context():
        assert db.session.get(Milestone, first).done_at is not None
        assert db.session.get(Milestone, second).done_at is None
    assert 'class="done"' in pair.page(pair.mentee).text

    unticked = pair.post(pair.mentee, f"{path}/{first}")
    assert "is marked not done" in text_of(unticked)
    with pair.app.app_context():
        assert db.session.get(Milestone, first).done_at is None


def test_milestone_errors_and_the_mentor_adding_one_are_refused_with_nothing_written(pair: Pair) -> None:
    goal_id = set_goal(pair)
    before = everything(pair.app)
    path = f"/goals/{goal_id}/milestones"
    refused = pair.post(
        pair.mentee,
        path,
        {
            f"goal-{goal_id}-milestone-title": "",
            f"goal-{goal_id}-milestone-due_on": (datetime.now(UTC).date() - timedelta(days=2)).isoformat(),
        },
    )
    assert refused.status_code == 422
    errors = field_errors(refused)
    assert set(errors) == {f"goal-{goal_id}-milestone-title", f"goal-{goal_id}-milestone-due_on"}
    assert errors[f"goal-{goal_id}-milestone-title"] == "Name the step."
    assert errors[f"goal-{goal_id}-milestone-due_on"].startswith("Choose a date that is not in the past")
    assert "<details open>\n      <summary>Add a milestone</summary>" in refused.text  # the form with errors is open

    by_mentor = pair.post(pair.mentor, path, {f"goal-{goal_id}-milestone-title": "Mentor's idea"})
    assert by_mentor.status_code == 403
    assert everything(pair.app) == before


def test_both_members_update_status_and_progress(pair: Pair) -> None:
    goal_id = set_goal(pair)
    path = f"/goals/{goal_id}/progress"
    by_mentor = pair.post(
        pair.mentor, path, {f"goal-{goal_id}-status": "in-progress", f"goal-{goal_id}-progress": "40"}
    )
    assert by_mentor.status_code == 200
    assert "is now in progress, at 40%" in text_of(by_mentor)
    assert 'class="bar-fill w-40"' in pair.page(pair.mentee).text

    by_mentee = pair.post(
        pair.mentee, path, {f"goal-{goal_id}-status": "in-progress", f"goal-{goal_id}-progress": "63"}
    )
    assert by_mentee.status_code == 200
    page = pair.page(pair.mentor)
    assert 'class="bar-fill w-65"' in page.text and ">63%<" in page.text
    goal = the_goal(pair.app, goal_id)
    assert (goal.status, goal.progress) == ("in-progress", 63)

    before = everything(pair.app)
    refused = pair.post(pair.mentor, path, {f"goal-{goal_id}-status": "abandoned", f"goal-{goal_id}-progress": "150"})
    assert refused.status_code == 422
    assert field_errors(refused) == {
        f"goal-{goal_id}-status": "Choose one of the statuses listed.",
        f"goal-{goal_id}-progress": "Enter a whole number from 0 to 100.",
    }
    assert (the_goal(pair.app, goal_id).progress, everything(pair.app)) == (63, before)


def test_completing_records_once_and_a_reopened_goal_completed_again_records_anew(pair: Pair) -> None:
    goal_id = set_goal(pair)
    path = f"/goals/{goal_id}/progress"
    done = {f"goal-{goal_id}-status": "completed", f"goal-{goal_id}-progress": "80"}
    completed = pair.post(pair.mentee, path, done)
    assert "is completed. Well done!" in text_of(completed)
    goal = the_goal(pair.app, goal_id)
    assert goal.status == "completed" and goal.progress == 100 and goal.completed_at is not None
    first_completion = goal.completed_at
    assert len(outbox_events(pair.app, "goal-completed")) == 1

    pair.post(pair.mentor, path, done)  # completed again: nothing new happened
    assert the_goal(pair.app, goal_id).completed_at == first_completion
    assert len(outbox_events(pair.app, "goal-completed")) == 1

    reopened = pair.post(pair.mentor, path, {f"goal-{goal_id}-status": "in-progress", f"goal-{goal_id}-progress": "90"})
    assert "is open again, at 90%" in text_of(reopened)
    assert the_goal(pair.app, goal_id).completed_at is None

    pair.post(pair.mentee, path, done)
    statements = outbox_events(pair.app, "goal-completed")
    assert len(statements) == 2
    assert statements[0].statement_id != statements[1].statement_id
    assert "Completed on" in pair.page(pair.mentor).text


def test_members_comment_on_a_goal_shown_as_text(pair: Pair) -> None:
    goal_id = set_goal(pair)
    path = f"/goals/{goal_id}/comments"
    posted = pair.post(pair.mentor, path, {f"goal-{goal_id}-comment-text": "Good start <script>steal()</script>"})
    assert posted.status_code == 200
    assert "Your comment on" in text_of(posted)
    mentee_view = pair.page(pair.mentee)
    assert "Good start &lt;script&gt;steal()&lt;/script&gt;" in mentee_view.text
    assert "<script>steal()" not in mentee_view.text
    pair.post(pair.mentee, path, {f"goal-{goal_id}-comment-text": "Thanks!"})
    with pair.app.app_context():
        authors = list(db.session.execute(select(GoalComment.author_id).order_by(GoalComment.id)).scalars())
    assert authors == [pair.cohort.participant(pair.mentor), pair.cohort.participant(pair.mentee)]

    before = everything(pair.app)
    empty = pair.post(pair.mentor, path, {f"goal-{goal_id}-comment-text": "   "})
    assert empty.status_code == 422
    assert field_errors(empty) == {f"goal-{goal_id}-comment-text": "Write your comment first."}
    assert everything(pair.app) == before


def _goal_routes(goal_id: int, milestone_id: int) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/goals", goal_data()),
        (f"/goals/{goal_id}/progress", {f"goal-{goal_id}-status": "dropped", f"goal-{goal_id}-progress": "0"}),
        (f"/goals/{goal_id}/milestones", {f"goal-{goal_id}-milestone-title": "Sneaky"}),
        (f"/goals/{goal_id}/milestones/{milestone_id}", {"done": "y"}),
        (f"/goals/{goal_id}/comments", {f"goal-{goal_id}-comment-text": "Sneaky"}),
    ]


def _goal_with_milestone(pair: Pair) -> tuple[int, int]:
    goal_id = set_goal(pair)
    pair.post(pair.mentee, f"/goals/{goal_id}/milestones", {f"goal-{goal_id}-milestone-title": "Step"})
    with pair.app.app_context():
        return goal_id, int(db.session.execute(select(func.max(Milestone.id))).scalar_one())


def test_outsiders_the_instructor_and_guessed_ids_get_not_found_with_nothing_changed(pair: Pair) -> None:
    goal_id, milestone_id = _goal_with_milestone(pair)
    before = everything(pair.app)
    for person in (pair.outsider, "instructor"):
        assert pair.page(person).status_code == 404
        for path, data in _goal_routes(goal_id, milestone_id):
            assert pair.post(person, path, data).status_code == 404, (person, path)

    # The outsider's own pair: its members cannot reach this pair's goal through their own pair's address.
    with pair.app.app_context():
        outsider_pair = db.session.execute(
            select(RelationshipMember.relationship_id).where(
                RelationshipMember.participant_id == pair.cohort.participant(pair.outsider)
            )
        ).scalar_one()
    own = Pair(pair.cohort, outsider_pair, mentor="learner-02", mentee=pair.outsider, outsider=pair.mentee)
    for path, data in _goal_routes(goal_id, milestone_id)[1:]:
        assert own.post(pair.outsider, path, data).status_code == 404, path

    # Guessed ids on the member's own pair: no such goal, or a milestone of another goal.
    other_goal = set_goal(pair, **{"new-goal-title": "Another goal"})
    before = everything(pair.app)
    assert pair.post(pair.mentee, "/goals/99999/progress", {"goal-99999-progress": "5"}).status_code == 404
    assert pair.post(pair.mentee, f"/goals/{other_goal}/milestones/{milestone_id}", {"done": "y"}).status_code == 404
    assert pair.post(pair.mentee, f"/goals/{goal_id}/milestones/99999", {"done": "y"}).status_code == 404
    assert everything(pair.app) == before
    goal = the_goal(pair.app, goal_id)
    assert (goal.status, goal.progress) == ("not-started", 0)
    with pair.app.app_context():
        assert db.session.get(Milestone, milestone_id).done_at is None


def test_another_course_cannot_reach_the_pairs_goals(
    pair: Pair, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    goal_id, milestone_id = _goal_with_milestone(pair)
    intruder = new_browser()
    intruder.launch("lead-202", "learner-13")
    own_course = course_id(app, "lead-202")
    create_program(app, "lead-202")  # their own course's program gives them a form, hence a valid CSRF token
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', intruder.get(f"/courses/{own_course}/me/profile").text)
    assert token
    before = everything(app)
    for path, data in _goal_routes(goal_id, milestone_id):
        for course in (pair.course_id, own_course):
            response = intruder.http.post(
                f"{intruder.tool_url}/courses/{course}/pairs/{pair.relationship_id}{path}",
                data={"csrf_token": token.group(1), **data},
            )
            # Not launched into the pair's course: forbidden; through their own course: no such pair.
            assert response.status_code == (403 if course == pair.course_id else 404), (course, path)
    assert everything(app) == before


def test_an_ended_pair_keeps_its_goals_as_a_record_that_no_longer_changes(pair: Pair) -> None:
    goal_id, milestone_id = _goal_with_milestone(pair)
    with pair.app.app_context():
        db.session.execute(
            update(Relationship).values(ended_at=utcnow()).where(Relationship.id == pair.relationship_id)
        )
        db.session.execute(
            update(RelationshipMember)
            .values(left_at=utcnow())
            .where(RelationshipMember.relationship_id == pair.relationship_id)
        )
        db.session.commit()
    page = pair.page(pair.mentee)
    assert page.status_code == 200 and "Write unit tests for my own code" in text_of(page)
    assert "Set a goal" not in page.text and "Save progress" not in page.text
    before = everything(pair.app)
    for path, data in _goal_routes(goal_id, milestone_id):
        refused = pair.post(pair.mentee, path, data)
        assert refused.status_code == 403, path
    assert "This pair has ended" in text_of(refused)
    assert everything(pair.app) == before


def test_a_goal_past_its_target_date_is_marked(pair: Pair) -> None:
    goal_id = set_goal(pair)
    with pair.app.app_context():
        db.session.execute(update(Goal).values(target_on=date(2020, 1, 31)).where(Goal.id == goal_id))
        db.session.commit()
    assert "31 Jan 2020" in pair.page(pair.mentor).text and "(passed)" in pair.page(pair.mentor).text
