"""Fixtures of the deep linking tests: ment-101 with its program, and its baseline and follow-up rounds."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lti_tool.assessments.models import AssessmentRound, RoundKind
from lti_tool.extensions import db
from lti_tool.programs.services import program_for_course
from tests.programs.conftest import course, instructor  # noqa: F401  (ment-101's instructor and program)

# Not the default name: every page and message of a content selection names the tool as it is configured.
TOOL_NAME = "Skills Compass"


@pytest.fixture
def tool_settings(tool_settings: dict[str, Any]) -> dict[str, Any]:
    return {**tool_settings, "tool_name": TOOL_NAME}


@pytest.fixture
def rounds(app: Flask, course: int) -> dict[str, int]:  # noqa: F811  (the fixture imported above)
    """A graded baseline round and an ungraded follow-up round of ment-101's program, by kind."""
    with app.app_context():
        program = program_for_course(course)
        assert program is not None
        baseline = AssessmentRound(
            program_id=program.id, title="Baseline self-check", kind=RoundKind.BASELINE.value, position=1, graded=True
        )
        follow_up = AssessmentRound(
            program_id=program.id, title="Midterm follow-up", kind=RoundKind.FOLLOW_UP.value, position=2
        )
        db.session.add_all([baseline, follow_up])
        db.session.commit()
        return {"baseline": baseline.id, "follow-up": follow_up.id}
