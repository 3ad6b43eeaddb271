"""A published pair (see tests/mentoring/conftest.py) and helpers to act on the survey pages as a person would."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.surveys.models import Survey, SurveyResponse
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair, publish_pairs

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@pytest.fixture
def pair(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Pair:
    return publish_pairs(app, new_browser)


def token_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:2000]
    return found.group(1)


def submit(browser: LtiBrowser, form_page: str, action: str, data: dict[str, Any] | None = None) -> httpx.Response:
    """Open `form_page` as the browser's person, then POST `data` to `action` with the page's CSRF token."""
    token = token_of(browser.get(form_page))
    return browser.http.post(
        f"{browser.tool_url}{action}", data={"csrf_token": token, **(data or {})}, follow_redirects=True
    )


def staff_path(pair: Pair, rest: str = "") -> str:
    return f"/courses/{pair.course_id}/program/surveys{rest}"


def create_survey(pair: Pair, kind: str = "end") -> int:
    """The instructor creates a survey of `kind` with the default questions; returns its id."""
    created = submit(pair.browser("instructor"), staff_path(pair), staff_path(pair), {"kind": kind})
    assert created.status_code == 200, created.text[:2000]
    found = re.search(r"/program/surveys/(\d+)/open", created.text)
    assert found, created.text[:3000]
    return int(found.group(1))


def open_survey(pair: Pair, survey_id: int) -> httpx.Response:
    page = staff_path(pair, f"/{survey_id}")
    return submit(pair.browser("instructor"), page, f"{page}/open")


def close_survey(pair: Pair, survey_id: int) -> httpx.Response:
    page = staff_path(pair, f"/{survey_id}")
    return submit(pair.browser("instructor"), page, f"{page}/close")


def answer_path(pair: Pair, survey_id: int) -> str:
    return f"/courses/{pair.course_id}/surveys/{survey_id}"


def answer(pair: Pair, person: str, survey_id: int, data: dict[str, Any]) -> httpx.Response:
    path = answer_path(pair, survey_id)
    return submit(pair.browser(person), f"/courses/{pair.course_id}/me/profile", path, data)


END_ANSWERS: dict[str, Any] = {
    "q-satisfaction": "4",
    "q-confidence": "5",
    "q-goal-progress": "3",
    "q-career-outcomes": ["promotion", "certification"],
    "q-recommend": "yes",
    "q-proudest-outcome": "My mentor Ada helped me <script>alert(1)</script> lead the migration.",
}


def responses(app: Flask, survey_id: int) -> list[SurveyResponse]:
    with app.app_context():
        rows = list(
            db.session.execute(
                select(SurveyResponse).where(SurveyResponse.survey_id == survey_id).order_by(SurveyResponse.id)
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def survey(app: Flask, survey_id: int) -> Survey:
    with app.app_context():
        found = db.session.get(Survey, survey_id)
        db.session.expunge(found)
        return found


def survey_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count(Survey.id))).scalar_one())
