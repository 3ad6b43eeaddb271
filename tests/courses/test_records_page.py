"""Staff see their course's statement delivery; the xAPI Profile is served at a stable URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select, update

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.statements.models import OutboxState, StatementOutbox
from tests.conftest import tool_environment
from tests.lti_browser import LtiBrowser, heading


def _course_id(app: Flask, context_id: str = "ment-101") -> int:
    with app.app_context():
        return db.session.execute(select(Course.id).where(Course.context_id == context_id)).scalar_one()


def test_instructor_sees_waiting_statements_when_no_lrs_is_configured(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="learner-01")
    browser.launch(person="instructor")
    page = browser.get(f"/courses/{_course_id(app)}/records")
    assert page.status_code == 200
    assert heading(page) == "Learning records"
    assert "No LRS is configured yet" in page.text
    assert "<dt>Waiting to be sent</dt><dd>2</dd>" in page.text


def test_refused_statements_are_listed_with_the_lrs_answer_escaped(app: Flask, browser: LtiBrowser) -> None:
    browser.launch(person="instructor")
    with app.app_context():
        db.session.execute(
            update(StatementOutbox).values(
                state=OutboxState.DEAD.value, last_error="invalid, HTTP 400: <script>alert(1)</script>"
            )
        )
        db.session.commit()
    page = browser.get(f"/courses/{_course_id(app)}/records")
    assert "<dt>Refused by the LRS</dt><dd>1</dd>" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)</script>" not in page.text


def test_learners_and_other_courses_cannot_see_records(app: Flask, new_browser: Callable[[], LtiBrowser]) -> None:
    new_browser().launch("ment-101", "instructor")
    course = _course_id(app)
    learner = new_browser()
    learner.launch("ment-101", "learner-02")
    assert learner.get(f"/courses/{course}/records").status_code == 403
    other = new_browser()
    other.launch("lead-202", "instructor-2")
    assert other.get(f"/courses/{course}/records").status_code == 403


def test_profile_is_served_as_json_ld(tool_url: str) -> None:
    response = httpx.get(f"{tool_url}/xapi/profile")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    assert document["type"] == "Profile"
    assert document["id"] == "https://mentor-lti.example/xapi/profile"
    assert any(t["type"] == "StatementTemplate" for t in document["templates"])


def test_profile_follows_the_configured_iri_base(tool_settings: dict[str, Any]) -> None:
    base = "https://lrs-vocab.university.example/mentoring"
    with tool_environment({**tool_settings, "xapi_base_iri": base}) as env:
        document = httpx.get(f"{env.tool_url}/xapi/profile").json()
    assert document["id"] == f"{base}/profile"
    assert "https://mentor-lti.example/xapi" not in str(document)  # every IRI of ours moved
