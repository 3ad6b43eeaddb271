"""Goal and check-in events reach the LRS: goal set, goal completed (again after reopening), check-in requested."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import db
from lti_tool.mentoring.models import Goal
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import publish_pairs
from tests.statements.helpers import delivered_statements_about, lrs_settings, sandbox_agent

SET = "https://mentor-lti.example/xapi/verbs/set"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
REQUESTED_CHECKIN = "https://mentor-lti.example/xapi/verbs/requested-checkin"
GOAL = "http://id.tincanapi.com/activitytype/goal"
SKILL = "https://mentor-lti.example/xapi/extensions/skill"


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def test_goal_and_check_in_statements_arrive_in_the_lrs(
    app: Flask, lrs: RalphLrs, new_browser: Callable[[], LtiBrowser]
) -> None:
    pair = publish_pairs(app, new_browser)
    target = (datetime.now(UTC).date() + timedelta(days=45)).isoformat()
    pair.post(
        pair.mentee,
        "/goals",
        {
            "new-goal-title": "Private ambition",
            "new-goal-skill_key": "sql",
            "new-goal-measure": "Secret measure",
            "new-goal-target_on": target,
        },
    )
    with app.app_context():
        goal_id = db.session.execute(select(func.max(Goal.id))).scalar_one()
    done = {f"goal-{goal_id}-status": "completed", f"goal-{goal_id}-progress": "100"}
    reopen = {f"goal-{goal_id}-status": "in-progress", f"goal-{goal_id}-progress": "70"}
    for person, data in ((pair.mentee, done), (pair.mentor, reopen), (pair.mentor, done)):
        assert pair.post(person, f"/goals/{goal_id}/progress", data).status_code == 200
    assert pair.post(pair.mentee, "/checkin-requests", {"message": "Confidential worry"}).status_code == 200

    about_mentee = delivered_statements_about(app, lrs, agent=sandbox_agent(app, pair.mentee))
    by_verb = {
        verb: [s for s in about_mentee if s["verb"]["id"] == verb] for verb in (SET, COMPLETED, REQUESTED_CHECKIN)
    }
    (goal_set,) = by_verb[SET]
    assert goal_set["object"]["definition"]["type"] == GOAL
    assert goal_set["context"]["extensions"][SKILL] == "sql"
    goal_completions = [s for s in by_verb[COMPLETED] if s["object"]["id"] == goal_set["object"]["id"]]
    # Completed, reopened by the mentor, completed again: two completions, whoever marked them.
    assert len(goal_completions) == 2
    assert len({s["id"] for s in goal_completions}) == 2
    assert all(s["result"]["completion"] is True for s in goal_completions)
    (checkin,) = by_verb[REQUESTED_CHECKIN]
    assert checkin["context"]["instructor"] == sandbox_agent(app, pair.mentor)
    # One enrolment ties them together; what the mentee wrote stays in the tool.
    assert len({s["context"]["registration"] for s in [goal_set, *goal_completions, checkin]}) == 1
    for text in ("Private ambition", "Secret measure", "Confidential worry"):
        assert text not in str(about_mentee)
