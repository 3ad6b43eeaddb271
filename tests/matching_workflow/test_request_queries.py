"""Two-sided self-match at size: the mentor's and the instructor's lists of waiting requests run the same few SQL
statements for 10 requests as for 100 (an N+1 fails here), and show a page of them, not everything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import insert, select

from lti_tool.courses.models import Course, Membership, User
from lti_tool.extensions import db, utcnow
from lti_tool.matching.mentor_requests import PAGE_SIZE
from lti_tool.matching.models import MentorRequest
from lti_tool.programs.models import Participant, Program
from tests.lti_browser import LtiBrowser
from tests.scale.builder import CourseSize, build_course
from tests.scale.queries import CountedStatements, count_statements

MAX_STATEMENTS = 30


@dataclass
class WaitingCourse:
    course_id: int
    instructor: LtiBrowser
    mentor: LtiBrowser  # a sandbox learner mentoring in the program, asked by every waiting mentee
    requests: int

    @property
    def base(self) -> str:
        return f"/courses/{self.course_id}/program/matching/mentor-requests"


def _waiting(
    app: Flask, new_browser: Callable[[], LtiBrowser], context_id: str, staff: str, requests: int
) -> WaitingCourse:
    instructor, mentor = new_browser(), new_browser()
    instructor.launch(context_id, staff)
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == context_id)).scalar_one()
        built = build_course(course, replace(CourseSize.for_pairs(requests), drafts=0))
    mentor.launch(context_id, "learner-01")
    with app.app_context():
        program = db.session.get(Program, built.program_id)
        assert program is not None
        program.self_match, program.mentor_accepts = True, True
        membership_id = db.session.execute(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.course_id == built.course_id, User.email == "learner-01@sandbox.example")
        ).scalar_one()
        mentor_id = db.session.scalars(
            insert(Participant).returning(Participant.id),
            [{"program_id": program.id, "membership_id": membership_id, "wants_to_mentor": True,
              "capacity": requests, "completed_at": utcnow()}],
        ).one()  # fmt: skip
        mentees = db.session.execute(
            select(Participant.id)
            .where(Participant.program_id == program.id, Participant.wants_to_be_mentored.is_(True))
            .order_by(Participant.id)
            .limit(requests)
        ).scalars()
        now = utcnow()
        db.session.execute(
            insert(MentorRequest),
            [
                {"program_id": program.id, "mentor_id": mentor_id, "mentee_id": mentee, "score": 0.7,
                 "explanation": {}, "tool_base": "http://tool.example/", "created_at": now,
                 "expires_at": now + timedelta(days=7, minutes=n)}
                for n, mentee in enumerate(mentees)
            ],
        )  # fmt: skip
        db.session.commit()
    return WaitingCourse(built.course_id, instructor, mentor, requests)


@pytest.fixture
def courses(app: Flask, new_browser: Callable[[], LtiBrowser]) -> tuple[WaitingCourse, WaitingCourse]:
    """Two courses of one tool: 10 requests waiting for one mentor, and 100 (two pages)."""
    return (
        _waiting(app, new_browser, "ment-101", "instructor", 10),
        _waiting(app, new_browser, "lead-202", "instructor-2", 100),
    )


def _counted(
    app: Flask, courses: tuple[WaitingCourse, ...], get: Callable[[WaitingCourse], str]
) -> list[CountedStatements]:
    counted = []
    for course in courses:
        with count_statements(app) as statements:
            text = get(course)
        assert text.count('class="match"') == min(course.requests, PAGE_SIZE), text[:2000]
        counted.append(statements)
    return counted


def test_the_instructors_waiting_requests_run_the_same_few_statements_for_10_as_for_100(
    app: Flask, courses: tuple[WaitingCourse, WaitingCourse]
) -> None:
    small, large = _counted(app, courses, lambda c: c.instructor.get(f"{c.base}/waiting").text)
    assert large.total <= small.total <= MAX_STATEMENTS, large.report()
    second = courses[1].instructor.get(f"{courses[1].base}/waiting?page=2").text
    assert second.count('class="match"') == 100 - PAGE_SIZE and "Page 2 of 2" in second


def test_the_mentors_waiting_requests_run_the_same_few_statements_for_10_as_for_100(
    app: Flask, courses: tuple[WaitingCourse, WaitingCourse]
) -> None:
    small, large = _counted(app, courses, lambda c: c.mentor.get(c.base).text)
    assert large.total <= small.total <= MAX_STATEMENTS, large.report()
    assert "100 mentees asked you to be their mentor" in " ".join(courses[1].mentor.get(courses[1].base).text.split())
