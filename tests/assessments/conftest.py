"""A published pair with assessment rounds, and helpers to act on the assessment pages over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.assessments.models import AssessmentRound, SkillAssessment, SkillRating
from lti_tool.extensions import db
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair, publish_pairs
from tests.profiles.helpers import course_id, create_program

TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
FIELD_ERROR = re.compile(r'<(?:p class="field-error"|ul class="field-errors") id="([^"]+)">(.*?)</(?:p|ul)>', re.S)


@dataclass
class Assessing:
    """The pair of `tests.mentoring.conftest` (mentor learner-01, a mentee, an outsider mentee in learner-02's pair),
    plus people of the other course (lead-202) who launched into it: `stranger` (a learner), `other_instructor`."""

    pair: Pair
    browsers: dict[str, LtiBrowser]
    other_course_id: int

    @property
    def app(self) -> Flask:
        return self.pair.app

    @property
    def course_id(self) -> int:
        return self.pair.course_id

    @property
    def mentee(self) -> str:
        return self.pair.mentee

    @property
    def mentor(self) -> str:
        return self.pair.mentor

    @property
    def outsider(self) -> str:
        return self.pair.outsider

    def browser(self, person: str) -> LtiBrowser:
        return self.browsers.get(person) or self.pair.browser(person)

    def participant(self, person: str) -> int:
        return self.pair.cohort.participant(person)

    def url(self, path: str = "", course: int | None = None) -> str:
        return f"/courses/{course or self.course_id}/assessments{path}"

    def page(self, person: str, path: str = "", *, course: int | None = None) -> httpx.Response:
        return self.browser(person).get(self.url(path, course))

    def post(
        self, person: str, path: str, data: dict[str, Any] | None = None, *, course: int | None = None
    ) -> httpx.Response:
        """POST a form as `person` with their session's CSRF token (from a form page of their own course)."""
        browser = self.browser(person)
        own = self.other_course_id if person in ("stranger", "other-instructor") else self.course_id
        staff = person in ("instructor", "other-instructor")
        form_page = browser.get(f"/courses/{own}/assessments/manage" if staff else f"/courses/{own}/me/profile")
        token = TOKEN.search(form_page.text)
        assert token, form_page.text[:2000]
        return browser.http.post(
            f"{browser.tool_url}{self.url(path, course)}",
            data={"csrf_token": token.group(1), **(data or {})},
            follow_redirects=True,
        )

    def create_round(self, title: str = "Baseline", *, kind: str = "baseline", position: int = 1, **extra: Any) -> int:
        """A round made by the instructor over HTTP (`graded="y"`, `grade_rule=...` in `extra`); answers its id."""
        data = {"title": title, "kind": kind, "position": str(position), "grade_rule": "average-level", **extra}
        assert self.post("instructor", "/manage", data).status_code == 200
        with self.app.app_context():
            return int(
                db.session.execute(
                    select(func.max(AssessmentRound.id)).where(AssessmentRound.title == title)
                ).scalar_one()
            )

    def open_round(self, round_id: int) -> None:
        assert self.post("instructor", f"/manage/{round_id}/open").status_code == 200

    def close_round(self, round_id: int) -> None:
        assert self.post("instructor", f"/manage/{round_id}/close").status_code == 200

    def rate_path(self, round_id: int, subject: str) -> str:
        return f"/rounds/{round_id}/people/{self.participant(subject)}"

    def rate(
        self, person: str, round_id: int, subject: str, levels: dict[str, int], comment: str = ""
    ) -> httpx.Response:
        data = {f"level-{key}": str(level) for key, level in levels.items()}
        return self.post(person, self.rate_path(round_id, subject), {**data, "comment": comment})

    def growth_path(self, subject: str) -> str:
        return f"/people/{self.participant(subject)}"


def field_errors(page: httpx.Response) -> dict[str, str]:
    """Error text by the id of the error element next to each field (both form styles), tags removed."""
    return {
        name: " ".join(re.sub(r"<[^>]+>", " ", body).replace("Error:", "").split())
        for name, body in FIELD_ERROR.findall(page.text)
    }


def assessment_rows(app: Flask) -> tuple[int, int, int]:
    """(rounds, assessments, ratings) in the database."""
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (AssessmentRound, SkillAssessment, SkillRating)
        )


@pytest.fixture
def assessing(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Assessing:
    pair = publish_pairs(app, new_browser)
    browsers = {"stranger": new_browser(), "other-instructor": new_browser()}
    browsers["stranger"].launch(course="lead-202", person="learner-13")
    browsers["other-instructor"].launch(course="lead-202", person="instructor-2")
    create_program(app, "lead-202")
    return Assessing(pair, browsers, course_id(app, "lead-202"))


@pytest.fixture
def open_baseline(assessing: Assessing) -> int:
    """An open, ungraded baseline round: its id."""
    round_id = assessing.create_round("Baseline")
    assessing.open_round(round_id)
    return round_id
