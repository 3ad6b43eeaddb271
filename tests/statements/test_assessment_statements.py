"""Skill assessment statements reach the LRS: each submission `scored`, a replaced one voided, read back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from lti_tool.devlrs import RalphLrs
from tests.assessments.conftest import Assessing
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import publish_pairs
from tests.profiles.helpers import outbox_events
from tests.statements.helpers import (
    assert_statement_in_lrs,
    delivered_statements_about,
    lrs_settings,
    sandbox_agent,
)

SCORED = "http://adlnet.gov/expapi/verbs/scored"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SCORES = "https://mentor-lti.example/xapi/extensions/skill-scores"


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def test_self_and_mentor_assessments_arrive_in_the_lrs_with_the_grade(
    app: Flask, lrs: RalphLrs, new_browser: Callable[[], LtiBrowser]
) -> None:
    assessing = Assessing(publish_pairs(app, new_browser), {}, 0)
    round_id = assessing.create_round("Baseline", graded="y", grade_rule="average-level")
    assessing.open_round(round_id)
    assessing.rate(assessing.mentee, round_id, assessing.mentee, {"python": 1, "sql": 1})
    assessing.rate(assessing.mentee, round_id, assessing.mentee, {"python": 2, "sql": 3}, "Not shared with the LRS")
    assessing.rate(assessing.mentor, round_id, assessing.mentee, {"python": 4, "sql": 3})

    mine = delivered_statements_about(app, lrs, agent=sandbox_agent(app, assessing.mentee))
    scored = [s for s in mine if s["verb"]["id"] == SCORED]
    assert sorted(s["result"]["extensions"][SCORES]["python"] for s in scored) == [1, 2]
    assert {s["result"]["score"]["raw"] for s in scored} == {20.0, 50.0}
    voiding = [s for s in mine if s["verb"]["id"] == VOIDED]
    first = next(s for s in scored if s["result"]["extensions"][SCORES]["python"] == 1)
    assert [s["object"] for s in voiding] == [{"objectType": "StatementRef", "id": first["id"]}]

    [by_mentor] = delivered_statements_about(app, lrs, agent=sandbox_agent(app, assessing.mentor), verb=SCORED)
    assert by_mentor["result"]["extensions"][SCORES] == {"python": 4, "sql": 3}
    assert by_mentor["result"]["score"] == {"raw": 70.0, "min": 0, "max": 100.0, "scaled": 0.7}
    # The same activity (this round, this mentee) and the mentee's enrolment as registration: comparable.
    latest_own = next(s for s in scored if s["id"] != first["id"])
    assert by_mentor["object"]["id"] == latest_own["object"]["id"]
    assert by_mentor["context"]["registration"] == latest_own["context"]["registration"]
    for row in outbox_events(app, "assessment-submitted"):
        assert_statement_in_lrs(lrs, row.statement_id, verb=SCORED)
    assert "Not shared with the LRS" not in str(mine)
