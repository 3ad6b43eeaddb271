"""What the profile tests share: programs made directly in the database, the profile form's data, and reading
field errors, the CSRF token and outbox rows back."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import func, select

from lti_tool.courses.models import Course, Membership, User
from lti_tool.extensions import db
from lti_tool.programs import services as programs
from lti_tool.programs.models import MentoringModel, Participant
from lti_tool.statements.models import StatementOutbox

SKILLS = [
    programs.SkillSpec("python", "Python", "technical", "Writing Python programs.", ("a1", "a2", "a3", "a4", "a5")),
    programs.SkillSpec("sql", "SQL", "technical", "", ("b1", "b2", "b3", "b4", "b5")),
    programs.SkillSpec("data-viz", "Data visualisation", "technical", "", ("c1", "c2", "c3", "c4", "c5")),
    programs.SkillSpec("communication", "Communication", "soft", "", ("Shares ideas", "d2", "d3", "d4", "d5")),
    programs.SkillSpec("feedback", "Giving feedback", "soft", "", ("e1", "e2", "e3", "e4", "e5")),
]
_ERRORS = re.compile(r'<ul class="field-errors" id="([^"]+)">(.*?)</ul>', re.S)
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def course_id(app: Flask, context_id: str) -> int:
    with app.app_context():
        return db.session.execute(select(Course.id).where(Course.context_id == context_id)).scalar_one()


def create_program(app: Flask, context_id: str = "ment-101", **settings: Any) -> int:
    """A program in a course someone has already launched into, with the five-skill framework above."""
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == context_id)).scalar_one()
        program = programs.create_program(
            course, title="Peer mentoring", model=MentoringModel.ONE_ON_ONE, resource_link_id=None
        )
        programs.replace_framework(program, SKILLS)
        for name, value in settings.items():
            setattr(program, name, value)
        db.session.commit()
        return int(program.id)


def membership_id(app: Flask, context_id: str, person: str) -> int:
    with app.app_context():
        return db.session.execute(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .join(Course, Course.id == Membership.course_id)
            .where(Course.context_id == context_id, User.email == f"{person}@sandbox.example")
        ).scalar_one()


def profile_data(**changes: Any) -> dict[str, Any]:
    """A complete profile as the form posts it (a learner who wants to be mentored); `None` drops a field."""
    data: dict[str, Any] = {
        "wants_to_be_mentored": "y",
        "level-python": "1",
        "level-sql": "0",
        "level-data-viz": "2",
        "level-communication": "4",
        "level-feedback": "3",
        "goals": ["python", "sql"],
        "expertise": ["communication"],
        "availability": ["mon-06", "wed-18", "sun-21"],
        "timezone": "Europe/Paris",
        "languages": ["en", "fr"],
        "department": "Physics",
        "bio": "I study physics and want to learn to program.",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def csrf_token(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)


def field_errors(page: httpx.Response) -> dict[str, str]:
    """Error text by the id of the error list next to each field (e.g. "bio-errors"); several are joined by " | "."""
    return {
        name: " | ".join(
            html.unescape(re.sub(r"<[^>]+>", "", item)).replace("Error: ", "").strip()
            for item in re.findall(r"<li>(.*?)</li>", body, re.S)
        )
        for name, body in _ERRORS.findall(page.text)
    }


def participants(app: Flask) -> list[Participant]:
    with app.app_context():
        rows = list(db.session.execute(select(Participant).order_by(Participant.id)).scalars())
        db.session.expunge_all()
        return rows


def outbox_events(app: Flask, event: str) -> list[StatementOutbox]:
    with app.app_context():
        rows = list(db.session.execute(select(StatementOutbox).where(StatementOutbox.event == event)).scalars())
        db.session.expunge_all()
        return rows


def outbox_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count(StatementOutbox.id))).scalar_one())
