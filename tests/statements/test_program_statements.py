"""Program events reach the LRS: profile completed, match published and rematch requested, each read back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import db
from lti_tool.programs.models import Match
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import build_cohort
from tests.statements.helpers import delivered_statements_about, lrs_settings, sandbox_agent

MATCHED = "https://mentor-lti.example/xapi/verbs/matched"


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def test_profiles_matches_and_rematch_requests_arrive_in_the_lrs(
    app: Flask, lrs: RalphLrs, new_browser: Callable[[], LtiBrowser]
) -> None:
    cohort = build_cohort(app, new_browser)
    cohort.post("instructor", "/run")
    cohort.post("instructor", "/publish")
    mentor, mentee, *_ = cohort.matches()[0]
    with app.app_context():
        match_id = db.session.execute(select(Match.id).order_by(Match.id)).scalars().first()
    cohort.post(mentee, f"/{match_id}/rematch-request", {"reason": "We keep missing each other every week."})

    about_mentee = delivered_statements_about(app, lrs, agent=sandbox_agent(app, mentee))
    verbs = sorted(s["verb"]["display"]["en-US"] for s in about_mentee)
    assert verbs == ["completed", "launched", "matched", "requested rematch"]
    matched = next(s for s in about_mentee if s["verb"]["id"] == MATCHED)
    # The mentor is named in the context, pseudonymously like the actor.
    assert matched["context"]["instructor"] == sandbox_agent(app, mentor)
    assert (
        matched["context"]["extensions"]["https://mentor-lti.example/xapi/extensions/mentoring-model"] == "one-on-one"
    )
    # One enrolment ties the program's statements together; the program is the grouping of each.
    program_events = [s for s in about_mentee if s["verb"]["display"]["en-US"] != "launched"]
    assert len({s["context"]["registration"] for s in program_events}) == 1
    assert len({s["context"]["contextActivities"]["grouping"][0]["id"] for s in program_events}) == 1
    for statement in about_mentee:
        assert set(statement["actor"]) == {"objectType", "account"}
        assert "We keep missing" not in str(statement)  # the rematch reason stays in the tool
