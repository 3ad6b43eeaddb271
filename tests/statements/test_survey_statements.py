"""Survey answers reach the LRS as `answered` statements with coded answers only; a changed answer voids the
previous statement and sends the new one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from lti_tool.devlrs import RalphLrs
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import publish_pairs
from tests.statements.helpers import (
    assert_statement_in_lrs,
    delivered_statements_about,
    lrs_settings,
    sandbox_agent,
)
from tests.surveys.conftest import END_ANSWERS, answer, create_survey, open_survey

ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SURVEY_ANSWERS = "https://mentor-lti.example/xapi/extensions/survey-answers"


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def test_survey_answers_arrive_in_the_lrs_coded_and_a_change_voids_the_first(
    app: Flask, lrs: RalphLrs, new_browser: Callable[[], LtiBrowser]
) -> None:
    pair = publish_pairs(app, new_browser)
    survey_id = create_survey(pair, "end")
    open_survey(pair, survey_id)
    agent = sandbox_agent(app, pair.mentee)

    assert answer(pair, pair.mentee, survey_id, END_ANSWERS).status_code == 200
    [first] = delivered_statements_about(app, lrs, agent=agent, verb=ANSWERED)
    assert first["actor"] == agent
    assert first["object"]["definition"]["type"] == "http://id.tincanapi.com/activitytype/survey"
    assert first["result"]["completion"] is True
    assert first["result"]["extensions"][SURVEY_ANSWERS] == {
        "satisfaction": 4,
        "confidence": 5,
        "goal-progress": 3,
        "career-outcomes": "promotion[,]certification",
        "recommend": "yes",
    }
    assert "Ada helped me" not in str(first)  # the written answer stays in the tool

    assert answer(pair, pair.mentee, survey_id, {**END_ANSWERS, "q-recommend": "maybe"}).status_code == 200
    about = delivered_statements_about(app, lrs, agent=agent)
    [voiding] = [s for s in about if s["verb"]["id"] == VOIDED]
    assert voiding["object"] == {"objectType": "StatementRef", "id": first["id"]}
    latest = [s for s in about if s["verb"]["id"] == ANSWERED and s["id"] != first["id"]]
    assert [s["result"]["extensions"][SURVEY_ANSWERS]["recommend"] for s in latest] == ["maybe"]
    assert_statement_in_lrs(lrs, latest[0]["id"], verb=ANSWERED, actor=agent)
    # Same enrolment as the rest of the mentee's program statements.
    assert len({s["context"]["registration"] for s in [first, *latest, voiding]}) == 1
