"""Staff see their course's statement delivery; the xAPI Profile is served at a stable URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select, update

from lti_tool.courses.models import Course
from lti_tool.extensions import db, utcnow
from lti_tool.lti.models import Platform
from lti_tool.lti.registrations import PlatformSpec, register_platform
from lti_tool.statements.models import LrsStatus, OutboxState, StatementOutbox
from lti_tool.statements.outbox import set_lrs
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


def _other_platform(app: Flask) -> str:
    """A second LMS registered with the tool, with an LRS of its own."""
    with app.app_context():
        register_platform(
            PlatformSpec(
                name="Other university",
                issuer="https://lms.other.example",
                client_id="other",
                deployment_ids=("1",),
                auth_login_url="https://lms.other.example/auth",
                auth_token_url="https://lms.other.example/token",
                key_set_url="https://lms.other.example/jwks",
            )
        )
        db.session.commit()
    return "Other university"


def _lrs_failed(app: Flask, endpoint: str, error: str) -> None:
    with app.app_context():
        db.session.add(LrsStatus(endpoint=endpoint, last_error=error, last_error_at=utcnow()))
        db.session.commit()


def test_instructors_see_only_the_lrs_of_their_own_platform(app: Flask, browser: LtiBrowser) -> None:
    other = _other_platform(app)
    with app.app_context():
        sandbox = db.session.execute(select(Platform.name).where(Platform.name != other)).scalar_one()
        set_lrs(endpoint="https://lrs.other.example/xapi", username="u", password="p", platform_name=other)
        db.session.commit()
    _lrs_failed(app, "https://lrs.other.example/xapi", "LRS at lrs.other.example answered 503")
    browser.launch(person="instructor")

    # The other platform's LRS never serves this course: neither its address nor its error is shown.
    page = browser.get(f"/courses/{_course_id(app)}/records")
    assert "lrs.other.example" not in page.text
    assert "No LRS is configured yet" in page.text

    # The LRS shared with all platforms serves it: its problems are shown.
    with app.app_context():
        set_lrs(endpoint="https://lrs.shared.example/xapi", username="u", password="p", platform_name=None)
        db.session.commit()
    _lrs_failed(app, "https://lrs.shared.example/xapi", "LRS at lrs.shared.example timed out")
    page = browser.get(f"/courses/{_course_id(app)}/records")
    assert "Last problem with https://lrs.shared.example/xapi" in page.text and "timed out" in page.text
    assert "lrs.other.example" not in page.text and "No LRS is configured yet" not in page.text

    # Its own LRS replaces the shared one for this course.
    with app.app_context():
        set_lrs(endpoint="https://lrs.own.example/xapi", username="u", password="p", platform_name=sandbox)
        db.session.commit()
    page = browser.get(f"/courses/{_course_id(app)}/records")
    assert "lrs.shared.example" not in page.text and "lrs.other.example" not in page.text
