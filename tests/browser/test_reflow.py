"""Reflow (WCAG 1.4.10, issue 15) in Chromium: with the LMS's tool iframe 320 CSS px wide, every page an instructor
and a learner open — with a pair, a logged session, a graded round with a rating and an open survey in them — needs
no sideways scrolling, the round page's Grade, Gradebook and Rate stay in view, and axe finds nothing serious.
The setup goes through the services and over HTTP, as in the other browser tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Frame, Page
from sqlalchemy import func, select

from lti_tool.assessments.models import AssessmentRound
from lti_tool.extensions import db
from lti_tool.mentoring.models import MentoringSession, Relationship
from tests.browser.conftest import assert_no_serious_axe_violations
from tests.browser.test_gradebook import AMARA, ROUND, graded_round_with_a_self_rating
from tests.browser.test_mentoring_in_practice import ZONE
from tests.browser.test_mentorship_flow import launch, tool_document
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair
from tests.mentoring.test_sessions import session_data
from tests.surveys.conftest import create_survey, open_survey

WIDTH = 320  # WCAG 1.4.10: 320 CSS px, the width of a 1280 px window zoomed to 400 %


def _narrow(page: Page, tool_url: str) -> Frame:
    """The LMS's tool iframe made 320 CSS px wide; answers its document."""
    page.locator("#tool-frame").evaluate("(frame, width) => { frame.style.width = width + 'px'; }", WIDTH)
    document = tool_document(page, tool_url)
    assert document.evaluate("() => window.innerWidth") == WIDTH
    return document


def _page_width(document: Frame, tool_url: str, path: str) -> int:
    """Open `path` in the tool's frame; answers the document's scroll width once axe has checked the page."""
    document.goto(f"{tool_url}{path}")
    assert_no_serious_axe_violations(document)
    return int(document.evaluate("() => document.documentElement.scrollWidth"))


def _too_wide(document: Frame, tool_url: str, paths: list[str]) -> dict[str, int]:
    """The pages among `paths` wider than the frame, with their widths (all are visited, so a failure lists each)."""
    widths = {path: _page_width(document, tool_url, path) for path in paths}
    return {path: width for path, width in widths.items() if width > WIDTH}


@dataclass
class Busy:
    """A pair with something on every page, and the ids the pages' URLs need."""

    pair: Pair
    round_id: int
    session_id: int
    survey_id: int


@pytest.fixture
def busy(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Busy:
    """Priya mentors Amara; a graded round is open with Amara's self-rating, Amara logged a session, an end-of-
    program survey is open."""
    cohort = graded_round_with_a_self_rating(app, new_browser)
    with app.app_context():
        round_id = db.session.execute(select(AssessmentRound.id).where(AssessmentRound.title == ROUND)).scalar_one()
        relationship_id = db.session.execute(
            select(Relationship.id).where(Relationship.program_id == cohort.program_id)
        ).scalar_one()
    pair = Pair(cohort, relationship_id, mentor="learner-01", mentee="learner-03", outsider="")
    met = datetime.now(ZONE) - timedelta(hours=3)
    logged = pair.post(
        "learner-03",
        "/sessions",
        session_data(
            **{"session-day": met.date().isoformat(), "session-start": f"{met.hour:02d}:{met.minute // 15 * 15:02d}"}
        ),
    )
    assert logged.status_code == 200, logged.text[:2000]
    with app.app_context():
        session_id = int(db.session.execute(select(func.max(MentoringSession.id))).scalar_one())
    survey_id = create_survey(pair, "end")
    open_survey(pair, survey_id)
    return Busy(pair, round_id, session_id, survey_id)


def test_every_instructor_page_reflows_at_320_px_and_the_round_page_keeps_its_grades_in_view(
    page: Page, sandbox: Sandbox, tool_url: str, busy: Busy
) -> None:
    pair = busy.pair
    course = f"/courses/{pair.course_id}"
    launch(page, sandbox, "Ada Okafor", "Program setup")
    document = _narrow(page, tool_url)
    pages = [
        f"{course}/program",
        f"{course}/program/settings",
        f"{course}/program/skills",
        f"{course}/program/matching",
        f"{course}/program/health",  # with its exports
        f"{course}/program/pairs/{pair.relationship_id}",
        f"{course}/assessments/manage",
        f"{course}/program/surveys",
        f"{course}/program/surveys/{busy.survey_id}",
    ]
    assert _too_wide(document, tool_url, pages) == {}

    # The round page last: Amara's row shows her grade, its gradebook state and the Rate link within the frame.
    assert _page_width(document, tool_url, f"{course}/assessments/manage/{busy.round_id}") <= WIDTH
    row = document.get_by_role("row", name=AMARA)
    for part in (row.locator("td[data-label='Grade']"), row.locator("td[data-label='Gradebook']"),
                 row.get_by_role("link", name=f"Rate {AMARA}")):  # fmt: skip
        box = part.bounding_box()
        assert box is not None and box["width"] > 0, part
        frame_box = page.locator("#tool-frame").bounding_box()
        assert frame_box is not None
        assert frame_box["x"] <= box["x"] and box["x"] + box["width"] <= frame_box["x"] + WIDTH, (box, frame_box)
    # Each cell says which column it is in.
    assert row.locator("td[data-label='Grade']").evaluate("cell => getComputedStyle(cell, '::before').content") == (
        '"Grade: " / ""'
    )


def test_every_learner_page_reflows_at_320_px(page: Page, sandbox: Sandbox, tool_url: str, busy: Busy) -> None:
    pair = busy.pair
    course = f"/courses/{pair.course_id}"
    amara = pair.cohort.participant("learner-03")
    launch(page, sandbox, AMARA, "My mentorship")
    document = _narrow(page, tool_url)
    pages = [
        f"{course}/me",
        f"{course}/me/profile",
        pair.path,
        f"{pair.path}/sessions/{busy.session_id}",
        f"{pair.path}/sessions/{busy.session_id}/edit",
        f"{course}/assessments",
        f"{course}/assessments/rounds/{busy.round_id}/people/{amara}",
        f"{course}/assessments/people/{amara}",
        f"{course}/surveys/{busy.survey_id}",
    ]
    assert _too_wide(document, tool_url, pages) == {}

    # The availability grid keeps its day-by-time columns, and they fit: its scroll region has nothing to scroll.
    document.goto(f"{tool_url}{course}/me/profile")
    grid = document.get_by_role("region", name="Availability grid")
    assert grid.evaluate("region => region.scrollWidth <= region.clientWidth"), grid.evaluate(
        "region => [region.scrollWidth, region.clientWidth]"
    )
