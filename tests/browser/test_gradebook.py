"""Gradebook scores as the instructor sees them in Chromium, inside the sandbox LMS's 800-px iframe: a graded
round's page says for each mentee whether the LMS has the latest score, the resync button works by keyboard, and
the LMS's own gradebook shows the score. Setup (program, pair, round, the mentee's rating) goes through the
services; delivery runs as the score worker runs it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from lti_tool.assessments import services as assessments
from lti_tool.assessments.models import AssessmentRound, GradeRule, RaterRole, RoundKind
from lti_tool.extensions import db
from lti_tool.programs.models import Participant
from lti_tool.runtime import runtime
from tests.browser.conftest import assert_no_serious_axe_violations
from tests.browser.test_mentoring_in_practice import published_pair
from tests.browser.test_mentorship_flow import launch, no_horizontal_scroll, tool_document
from tests.conftest import Sandbox
from tests.gradebook.conftest import deliver
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort

ROUND = "Graded baseline"
AMARA = "Amara Diallo"  # learner-03, the mentee


def graded_round_with_a_self_rating(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Priya mentors Amara; the graded round is open and Amara has rated herself in it."""
    settings = assessments.RoundSettings(ROUND, RoundKind.BASELINE, 1, True, GradeRule.AVERAGE_LEVEL)
    cohort = published_pair(app, new_browser, settings)
    with app.app_context():
        round_ = db.session.execute(select(AssessmentRound).where(AssessmentRound.title == ROUND)).scalar_one()
        amara = db.session.get_one(Participant, cohort.participant("learner-03"))
        assessments.submit_assessment(
            round_,
            amara,
            amara.membership,
            RaterRole.SELF,
            {"python": 2, "sql": 4},
            "",
            settings=runtime().settings,
            tool_base="http://tool.test/",
        )
        db.session.commit()
    return cohort


def test_the_instructor_sees_scores_reach_the_gradebook_and_resyncs_by_keyboard(
    page: Page, app: Flask, sandbox: Sandbox, tool_url: str, new_browser: Callable[[], LtiBrowser]
) -> None:
    graded_round_with_a_self_rating(app, new_browser)
    staff = launch(page, sandbox, "Ada Okafor", "Program setup")
    staff.get_by_role("link", name="Skill assessments", exact=True).press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Skill assessments")
    expect(staff.get_by_role("status").filter(has_text="not in the LMS gradebook yet")).to_contain_text(
        "1 score is not in the LMS gradebook yet"
    )
    staff.get_by_role("link", name=ROUND).press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text(ROUND)
    amara = staff.get_by_role("row", name=AMARA)
    expect(amara).to_contain_text("60 %")
    expect(amara).to_contain_text("Being sent")

    assert deliver(app).delivered == 1  # the score worker's round
    document = tool_document(page, tool_url)
    document.goto(document.url)
    expect(staff.get_by_role("row", name=AMARA)).to_contain_text("In the gradebook")
    no_horizontal_scroll(tool_document(page, tool_url))
    assert_no_serious_axe_violations(tool_document(page, tool_url))

    gradebook = staff.get_by_role("region", name="Gradebook")
    gradebook.get_by_role("button", name="Resync with the gradebook").press("Enter")
    expect(staff.locator("p.flash")).to_contain_text(f"Every score of “{ROUND}” is queued for the gradebook again.")
    expect(staff.get_by_role("row", name=AMARA)).to_contain_text("Being sent")
    assert deliver(app).delivered == 1

    # The LMS's own gradebook, on the course page around the tool.
    page.goto(f"{sandbox.url}/courses/ment-101")
    column = page.locator("#gradebook")
    expect(column.get_by_role("columnheader", name=ROUND)).to_be_visible()
    expect(column.get_by_role("row", name=AMARA)).to_contain_text("60 / 100")
