"""Self-match at size: a mentee's "Choose your mentor" page runs the same few SQL statements with 3 mentors, 3
suggestions and 2 requests waiting as with 25 mentors, 5 suggestions and 20 requests (an N+1 fails here), in
one-sided and in two-sided self-match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import insert, select

from lti_tool.courses.models import Course, Membership, User
from lti_tool.extensions import db, utcnow
from lti_tool.matching.models import MentorRequest
from lti_tool.programs.models import Match, Participant, Program
from tests.lti_browser import LtiBrowser
from tests.scale.builder import EVENINGS, CourseSize, build_course
from tests.scale.queries import count_statements

MAX_STATEMENTS = 30


@dataclass
class ChoosingCourse:
    course_id: int
    program_id: int
    mentee: LtiBrowser  # a sandbox learner with a complete mentee profile and no match yet
    mentors: int
    requests: int  # other mentees' requests waiting for a mentor's answer

    @property
    def url(self) -> str:
        return f"/courses/{self.course_id}/program/matching/choose"


def _choosing(
    app: Flask, new_browser: Callable[[], LtiBrowser], context_id: str, staff: str, pairs: int, requests: int
) -> ChoosingCourse:
    instructor, mentee = new_browser(), new_browser()
    instructor.launch(context_id, staff)
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == context_id)).scalar_one()
        size = CourseSize.for_pairs(pairs)
        built = build_course(course, replace(size, drafts=0))
    mentee.launch(context_id, "learner-01")
    with app.app_context():
        program = db.session.get_one(Program, built.program_id)
        program.self_match = True
        membership_id = db.session.execute(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.course_id == built.course_id, User.email == "learner-01@sandbox.example")
        ).scalar_one()
        skills = [s.key for s in program.skills]
        db.session.execute(
            insert(Participant),
            [{"program_id": program.id, "membership_id": membership_id, "wants_to_be_mentored": True,
              "skill_levels": dict.fromkeys(skills, 1), "goals": skills[:2], "availability": EVENINGS,
              "timezone": "Europe/Paris", "languages": ["en"], "completed_at": utcnow()}],
        )  # fmt: skip
        # Other mentees waiting without a match ask the mentors in turn: each request holds a place.
        matched = select(Match.mentee_id).where(Match.program_id == program.id)
        asking = db.session.execute(
            select(Participant.id)
            .where(
                Participant.program_id == program.id,
                Participant.wants_to_be_mentored.is_(True),
                Participant.completed_at < utcnow() - timedelta(days=1),  # the builder's, not this learner
                Participant.id.not_in(matched),
            )
            .order_by(Participant.id)
            .limit(requests)
        ).scalars()
        mentors = list(
            db.session.execute(
                select(Participant.id)
                .where(Participant.program_id == program.id, Participant.wants_to_mentor.is_(True))
                .order_by(Participant.id)
            ).scalars()
        )
        now = utcnow()
        db.session.execute(
            insert(MentorRequest),
            [
                {"program_id": program.id, "mentor_id": mentors[n % len(mentors)], "mentee_id": asker, "score": 0.7,
                 "explanation": {}, "tool_base": "http://tool.example/", "created_at": now,
                 "expires_at": now + timedelta(days=7)}
                for n, asker in enumerate(asking)
            ],
        )  # fmt: skip
        db.session.commit()
    return ChoosingCourse(built.course_id, built.program_id, mentee, len(mentors), requests)


@pytest.fixture
def courses(app: Flask, new_browser: Callable[[], LtiBrowser]) -> tuple[ChoosingCourse, ChoosingCourse]:
    """Two courses of one tool: 10 published pairs (3 mentors) and 2 requests waiting; 100 (25) and 20."""
    return (
        _choosing(app, new_browser, "ment-101", "instructor", 10, 2),
        _choosing(app, new_browser, "lead-202", "instructor-2", 100, 20),
    )


@pytest.mark.parametrize("mentor_accepts", [False, True], ids=["one-sided", "two-sided"])
def test_the_choose_page_runs_the_same_few_statements_for_3_mentors_as_for_25(
    app: Flask, courses: tuple[ChoosingCourse, ChoosingCourse], mentor_accepts: bool
) -> None:
    counted = []
    for course in courses:
        with app.app_context():
            db.session.get_one(Program, course.program_id).mentor_accepts = mentor_accepts
            db.session.commit()
        course.mentee.get(course.url)  # warm: what a first view sets up once is not the page's own
        with count_statements(app) as statements:
            page = course.mentee.get(course.url)
        assert page.status_code == 200, page.text[:2000]
        # Every mentor has a place left: the best five are suggested (all three in the small course).
        assert page.text.count('class="match"') == min(5, course.mentors), page.text[:3000]
        assert ("Ask " if mentor_accepts else "Choose ") + "Mentor" in page.text
        counted.append(statements)
    small, large = counted
    assert large.total <= small.total <= MAX_STATEMENTS, large.report()
