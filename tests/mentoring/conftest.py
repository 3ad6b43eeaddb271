"""A published one-on-one match through the real matching workflow, and helpers to act on its pair page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.mentoring.models import Relationship, RelationshipMember
from lti_tool.programs.models import Participant
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort, build_cohort

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@dataclass
class Pair:
    """A published pair: `mentor` and `mentee` name the sandbox people; `outsider` is matched in another pair."""

    cohort: Cohort
    relationship_id: int
    mentor: str
    mentee: str
    outsider: str

    @property
    def app(self) -> Flask:
        return self.cohort.app

    @property
    def course_id(self) -> int:
        return self.cohort.course_id

    @property
    def path(self) -> str:
        return f"/courses/{self.course_id}/pairs/{self.relationship_id}"

    def browser(self, person: str) -> LtiBrowser:
        return self.cohort.browsers[person]

    def page(self, person: str, path: str = "") -> httpx.Response:
        return self.browser(person).get(f"{self.path}{path}")

    def post(
        self, person: str, path: str, data: dict[str, Any] | None = None, *, follow: bool = True
    ) -> httpx.Response:
        """POST a form on the pair page as `person`, with their session's CSRF token."""
        browser = self.browser(person)
        page = browser.get(f"/courses/{self.course_id}/me/profile")
        token = CSRF.search(page.text)
        assert token, page.text[:2000]
        return browser.http.post(
            f"{browser.tool_url}{self.path}{path}",
            data={"csrf_token": token.group(1), **(data or {})},
            follow_redirects=follow,
        )

    def member(self, person: str) -> RelationshipMember:
        with self.app.app_context():
            found = db.session.execute(
                select(RelationshipMember).where(
                    RelationshipMember.relationship_id == self.relationship_id,
                    RelationshipMember.participant_id == self.cohort.participant(person),
                )
            ).scalar_one()
            db.session.expunge(found)
            return found


@pytest.fixture
def pair(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Pair:
    return publish_pairs(app, new_browser)


def publish_pairs(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Pair:
    """learner-01 mentors one of learner-03..05 and learner-02 another; matching runs and publishes over HTTP."""
    cohort = build_cohort(app, new_browser)
    assert cohort.post("instructor", "/run").status_code == 200
    assert cohort.post("instructor", "/publish").status_code == 200
    with app.app_context():
        rows = db.session.execute(
            select(Relationship.id, RelationshipMember.role, Participant.id)
            .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
            .join(Participant, Participant.id == RelationshipMember.participant_id)
            .where(Relationship.program_id == cohort.program_id)
            .order_by(Relationship.id, RelationshipMember.role)
        ).all()
    people = {cohort.participant(p): p for p in cohort.browsers if p != "instructor"}
    by_relationship: dict[int, dict[str, str]] = {}
    for relationship_id, role, participant_id in rows:
        by_relationship.setdefault(relationship_id, {})[role] = people[participant_id]
    first = next(rid for rid, members in by_relationship.items() if members["mentor"] == "learner-01")
    other = next(members for rid, members in by_relationship.items() if rid != first)
    return Pair(
        cohort,
        first,
        mentor="learner-01",
        mentee=by_relationship[first]["mentee"],
        outsider=other["mentee"],
    )
