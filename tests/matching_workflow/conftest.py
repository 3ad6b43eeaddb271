"""A program with complete profiles, built through the real services, for the matching workflow tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Membership
from lti_tool.extensions import db
from lti_tool.profiles.services import ProfileInput, save_profile
from lti_tool.programs.models import Match, Participant, Program
from lti_tool.runtime import runtime
from tests.lti_browser import LtiBrowser
from tests.profiles.helpers import course_id, create_program, membership_id

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
EVENINGS = ["mon-18", "wed-18"]


def mentor_profile(**changes: Any) -> ProfileInput:
    data: dict[str, Any] = {
        "wants_to_mentor": True,
        "wants_to_be_mentored": False,
        "skill_levels": {"python": 5, "sql": 4, "data-viz": 3, "communication": 4, "feedback": 4},
        "goals": [],
        "expertise": ["python", "sql"],
        "availability": EVENINGS,
        "timezone": "Europe/Paris",
        "languages": ["en"],
        "capacity": 1,
    }
    return ProfileInput(**{**data, **changes})


def mentee_profile(**changes: Any) -> ProfileInput:
    data: dict[str, Any] = {
        "wants_to_mentor": False,
        "wants_to_be_mentored": True,
        "skill_levels": {"python": 1, "sql": 1, "data-viz": 1, "communication": 2, "feedback": 2},
        "goals": ["python", "sql"],
        "expertise": [],
        "availability": EVENINGS,
        "timezone": "Europe/Paris",
        "languages": ["en"],
    }
    return ProfileInput(**{**data, **changes})


@dataclass
class Cohort:
    app: Flask
    course_id: int
    program_id: int
    browsers: dict[str, LtiBrowser]

    def participant(self, person: str) -> int:
        with self.app.app_context():
            return db.session.execute(
                select(Participant.id).where(
                    Participant.membership_id == membership_id(self.app, "ment-101", person),
                    Participant.program_id == self.program_id,
                )
            ).scalar_one()

    def profile(self, person: str, data: ProfileInput) -> None:
        with self.app.app_context():
            program = db.session.get(Program, self.program_id)
            membership = db.session.get(Membership, membership_id(self.app, "ment-101", person))
            tool_base = f"{self.browsers['instructor'].tool_url}/"
            save_profile(program, membership, data, settings=runtime().settings, tool_base=tool_base)
            db.session.commit()

    def post(self, person: str, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """POST a form as `person`, with the CSRF token of their session, following the redirect."""
        browser = self.browsers[person]
        # Any page with a form of this person's session carries their CSRF token.
        form_page = "program/matching" if person == "instructor" else "me/profile"
        page = browser.get(f"/courses/{self.course_id}/{form_page}")
        token = CSRF.search(page.text)
        assert token, page.text[:3000]
        return browser.http.post(
            f"{browser.tool_url}/courses/{self.course_id}/program/matching{path}",
            data={"csrf_token": token.group(1), **(data or {})},
            follow_redirects=True,
        )

    def matches(self) -> list[tuple[str, str, str, bool]]:
        """(mentor email, mentee email, status, locked) for every match of the program."""
        with self.app.app_context():
            rows = db.session.execute(select(Match).where(Match.program_id == self.program_id).order_by(Match.id))
            return [
                (m.mentor.membership.user.email.split("@")[0], m.mentee.membership.user.email.split("@")[0],
                 m.status, m.locked)
                for m in rows.scalars()
            ]  # fmt: skip


@pytest.fixture
def cohort(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    return build_cohort(app, new_browser)


def build_cohort(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Instructor and five learners have launched; learner-01 and -02 mentor, -03 to -05 want a mentor."""
    browsers = {}
    for person in ("instructor", "learner-01", "learner-02", "learner-03", "learner-04", "learner-05"):
        browsers[person] = new_browser()
        browsers[person].launch(person=person)
    program_id = create_program(app)
    found = Cohort(app, course_id(app, "ment-101"), program_id, browsers)
    found.profile("learner-01", mentor_profile())
    found.profile("learner-02", mentor_profile(skill_levels={"python": 4, "sql": 5, "data-viz": 2,
                                                             "communication": 3, "feedback": 3}))  # fmt: skip
    for person in ("learner-03", "learner-04", "learner-05"):
        found.profile(person, mentee_profile())
    return found
