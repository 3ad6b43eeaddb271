"""Helpers of the program setup tests: read forms' CSRF tokens and errors, post forms, snapshot the program."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.programs.models import Program
from tests.lti_browser import LtiBrowser

_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def course_id(app: Flask, context_id: str) -> int:
    with app.app_context():
        return db.session.execute(select(Course.id).where(Course.context_id == context_id)).scalar_one()


def csrf_token(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on the page: {page.text[:500]}"
    return html.unescape(found.group(1))


def field_error(page: httpx.Response, field_id: str) -> str:
    """The error message shown next to a field (empty when there is none)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', page.text, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def post_form(
    browser: LtiBrowser, page_path: str, action_path: str, data: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    """Open a page, then submit one of its forms with the CSRF token the page carries, as a browser would."""
    page = browser.get(page_path)
    assert page.status_code == 200, page.text[:500]
    return browser.http.post(
        f"{browser.tool_url}{action_path}", data={"csrf_token": csrf_token(page), **data}, **kwargs
    )


def create_program(browser: LtiBrowser, course: int, *, title: str, model: str = "one-on-one") -> httpx.Response:
    path = f"/courses/{course}/program"
    response = post_form(browser, path, path, {"title": title, "model": model})
    assert response.status_code == 303, response.text[:1000]
    return response


def program_state(app: Flask, course: int) -> dict[str, Any] | None:
    """Every column of the course's program and its skills: a refused change must leave this unchanged."""
    with app.app_context():
        program = db.session.execute(select(Program).where(Program.course_id == course)).scalar_one_or_none()
        if program is None:
            return None
        columns = {c.key: getattr(program, c.key) for c in Program.__table__.columns}
        skills = [(s.key, s.name, s.category, s.description, list(s.descriptors), s.position) for s in program.skills]
        return {**columns, "skills": skills}


def skill_id(app: Flask, course: int, key: str) -> int:
    with app.app_context():
        program = db.session.execute(select(Program).where(Program.course_id == course)).scalar_one()
        return next(s.id for s in program.skills if s.key == key)


def text_of(page: httpx.Response) -> str:
    """The page's visible text, tags removed and whitespace collapsed (for reading sentences)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))
