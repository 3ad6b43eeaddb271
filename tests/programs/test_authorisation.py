"""Only the course's own staff reach the program setup: learners, other courses' instructors, requests
without a launch or without a CSRF token are refused and change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import course_id, create_program, csrf_token, program_state, skill_id

LEVELS = {f"level{n}": f"Level {n}" for n in range(1, 6)}


def _routes(course: int, skill: int) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, form data) for every program setup route of a course."""
    base = f"/courses/{course}/program"
    skill_form = {"name": "Hijacked", "category": "soft", **LEVELS}
    return [
        ("GET", base, {}),
        ("POST", base, {"title": "Hijacked", "model": "group"}),
        ("GET", f"{base}/settings", {}),
        (
            "POST",
            f"{base}/settings",
            {"title": "Hijacked", "model": "group", "default_capacity": "9", "checkin_every_days": "3"},
        ),
        ("GET", f"{base}/skills", {}),
        ("POST", f"{base}/skills", {"add-key": "hijack", "add-name": "Hijack", "add-category": "soft"}),
        ("GET", f"{base}/skills/{skill}", {}),
        ("POST", f"{base}/skills/{skill}", skill_form),
        ("POST", f"{base}/skills/{skill}/remove", {}),
        ("POST", f"{base}/skills/import", {}),
        ("GET", f"{base}/skills.json", {}),
    ]


def _request(browser: LtiBrowser, method: str, path: str, data: dict[str, str], token: str | None) -> int:
    url = f"{browser.tool_url}{path}"
    if method == "GET":
        return browser.http.get(url).status_code
    form = {**data, **({"csrf_token": token} if token else {})}
    files = {"framework": ("f.json", b'{"skills": []}')} if path.endswith("/import") else None
    return browser.http.post(url, data=form, files=files).status_code


def test_a_learner_is_refused_every_route(
    app: Flask, instructor: LtiBrowser, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    # The learner holds a valid CSRF token of their own (from their profile form), so each POST is refused for the
    # role, not for the token. (A token from a staff member's page earlier in the same browser no longer helps: a
    # launch by another person empties the session, tests/courses/test_access.py.)
    shared = new_browser()
    shared.launch("ment-101", "learner-01")
    token = csrf_token(shared.get(f"/courses/{course}/me/profile"))
    before, rows = program_state(app, course), row_counts(app)
    for method, path, data in _routes(course, skill_id(app, course, "python")):
        assert _request(shared, method, path, data, token) == 403, (method, path)
    page = shared.get(f"/courses/{course}/program/settings")
    assert "instructors and teaching assistants can open this page" in page.text
    assert program_state(app, course) == before
    assert row_counts(app) == rows


def test_another_courses_instructor_is_refused_every_route(
    app: Flask, instructor: LtiBrowser, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    other = new_browser()
    other.launch("lead-202", "instructor-2")
    own_course = course_id(app, "lead-202")
    create_program(other, own_course, title="Leadership circles")
    token = csrf_token(other.get(f"/courses/{own_course}/program/settings"))
    before, rows = program_state(app, course), row_counts(app)
    for method, path, data in _routes(course, skill_id(app, course, "python")):
        assert _request(other, method, path, data, token) == 403, (method, path)
    page = other.get(f"/courses/{course}/program/skills")
    assert "Spring mentoring" not in page.text
    assert "Python programming" not in page.text
    assert program_state(app, course) == before
    assert row_counts(app) == rows


def test_another_programs_skill_ids_are_not_found_from_ones_own_course(
    app: Flask, instructor: LtiBrowser, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    other = new_browser()
    other.launch("lead-202", "instructor-2")
    own_course = course_id(app, "lead-202")
    create_program(other, own_course, title="Leadership circles")
    token = csrf_token(other.get(f"/courses/{own_course}/program/settings"))
    before = program_state(app, course)
    foreign = skill_id(app, course, "python")
    base = f"{other.tool_url}/courses/{own_course}/program/skills/{foreign}"
    assert other.http.get(base).status_code == 404
    assert (
        other.http.post(base, data={"csrf_token": token, "name": "X", "category": "soft", **LEVELS}).status_code == 404
    )
    assert other.http.post(f"{base}/remove", data={"csrf_token": token}).status_code == 404
    assert program_state(app, course) == before


def test_pages_need_a_launch(
    app: Flask, instructor: LtiBrowser, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    stranger = new_browser()
    for method, path, data in _routes(course, skill_id(app, course, "python")):
        status = _request(stranger, method, path, data, None)
        # Without a session there is no CSRF token either: POSTs stop at the CSRF check.
        assert status == (403 if method == "GET" else 400), (method, path)


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    app: Flask, instructor: LtiBrowser, course: int, token: str
) -> None:
    before, rows = program_state(app, course), row_counts(app)
    for method, path, data in _routes(course, skill_id(app, course, "python")):
        if method == "POST":
            url = f"{instructor.tool_url}{path}"
            response = instructor.http.post(url, data={**data, **({"csrf_token": token} if token else {})})
            assert response.status_code == 400, path
            assert re.search(r"CSRF token is (missing|invalid)", response.text), path
    assert program_state(app, course) == before
    assert row_counts(app) == rows


def test_creating_a_program_needs_a_csrf_token(app: Flask, instructor: LtiBrowser) -> None:
    course = course_id(app, "ment-101")
    response = instructor.http.post(
        f"{instructor.tool_url}/courses/{course}/program", data={"title": "No token", "model": "group"}
    )
    assert response.status_code == 400
    assert program_state(app, course) is None
