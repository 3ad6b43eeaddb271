"""The matching workflow at size: the review page, the mentor search, publish and a run of matching run the same
few SQL statements for 10 drafts as for 100 (an N+1 fails here), and the review page shows a page, not everything."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.matching.workflow import PAGE_SIZE, suggestions
from lti_tool.mentoring.models import Relationship, RelationshipMember
from lti_tool.programs.models import Match, MatchStatus, Participant, Program
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import CSRF
from tests.scale.builder import BuiltCourse, CourseSize, build_course
from tests.scale.queries import CountedStatements, count_statements

MAX_STATEMENTS = 50


@dataclass
class SizedCourse:
    built: BuiltCourse
    instructor: LtiBrowser
    drafts: int

    @property
    def base(self) -> str:
        return f"/courses/{self.built.course_id}/program/matching"

    def token(self) -> str:
        """The CSRF token of the instructor's session (from a form of the review page)."""
        found = CSRF.search(self.instructor.get(self.base).text)
        assert found
        return found.group(1)

    def post(self, path: str, data: dict[str, object] | None = None, *, token: str | None = None) -> httpx.Response:
        return self.instructor.http.post(
            f"{self.instructor.tool_url}{self.base}{path}",
            data={"csrf_token": token or self.token(), **(data or {})},
        )

    def first_draft(self, app: Flask) -> Match:
        with app.app_context():
            return db.session.execute(
                select(Match)
                .where(Match.program_id == self.built.program_id, Match.status == MatchStatus.DRAFT.value)
                .order_by(Match.id)
                .limit(1)
            ).scalar_one()


def _sized(app: Flask, browser: LtiBrowser, context_id: str, person: str, drafts: int) -> SizedCourse:
    """A course whose published pairs, waiting mentees and drafts grow with `drafts`."""
    browser.launch(context_id, person)
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == context_id)).scalar_one()
        size = replace(CourseSize.for_pairs(drafts), drafts=drafts)
        return SizedCourse(build_course(course, size), browser, drafts)


@pytest.fixture
def courses(app: Flask, new_browser: Callable[[], LtiBrowser]) -> tuple[SizedCourse, SizedCourse]:
    """Two courses of one tool: 10 drafts, and 100 (two pages)."""
    return (
        _sized(app, new_browser(), "ment-101", "instructor", 10),
        _sized(app, new_browser(), "lead-202", "instructor-2", 100),
    )


def _counted(
    app: Flask, courses: tuple[SizedCourse, SizedCourse], request: Callable[[SizedCourse], httpx.Response]
) -> list[CountedStatements]:
    counted: list[CountedStatements] = []
    for course in courses:
        with count_statements(app) as statements:
            response = request(course)
        assert response.status_code in (200, 303), response.text[:2000]
        counted.append(statements)
    return counted


def _posted(app: Flask, courses: tuple[SizedCourse, SizedCourse], path: str) -> list[CountedStatements]:
    """The statements of one POST per course (the CSRF token fetched before counting)."""
    tokens = {course.drafts: course.token() for course in courses}
    return _counted(app, courses, lambda c: c.post(path, token=tokens[c.drafts]))


@pytest.mark.parametrize("query", ["", "?q=mentee0&page=2", "?published_page=2"])
def test_the_review_page_runs_the_same_few_statements_for_10_drafts_as_for_100(
    app: Flask, courses: tuple[SizedCourse, SizedCourse], query: str
) -> None:
    small, large = _counted(app, courses, lambda c: c.instructor.get(f"{c.base}{query}"))
    assert large.total <= small.total, large.report()
    assert large.total <= MAX_STATEMENTS, large.report()


def test_the_review_page_shows_a_page_of_drafts_with_a_mentor_search_and_the_totals(
    courses: tuple[SizedCourse, SizedCourse],
) -> None:
    large = courses[1]
    page = large.instructor.get(large.base).text
    assert "Publish all 100 drafts" in page
    assert page.count('class="match"') == PAGE_SIZE  # drafts are articles; the rest of the 100 are on page 2
    assert 'rel="next"' in page and "page 1 of 2" in page
    assert "<option" not in page.split('id="swap-first"')[0]  # no dropdown of mentors in the drafts
    assert page.count('class="inline-form mentor-picker"') == PAGE_SIZE
    second = large.instructor.get(f"{large.base}?page=2").text
    assert f"{PAGE_SIZE + 1}. " in second and "page 2 of 2" in second
    # The search narrows the drafts (and the published matches) to those naming someone.
    found = large.instructor.get(f"{large.base}?q=Mentee00105").text
    assert found.count('class="match"') == 1 and "1 draft matches “Mentee00105”" in found


def test_the_mentor_search_offers_mentors_with_a_place_left_by_name_in_html_and_json(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    large = courses[1]
    draft = large.first_draft(app)
    # 25 mentors of capacity 10 carry 100 pairs and 100 drafts: 8 each, 2 places left.
    url = f"{large.base}/{draft.id}/mentors"
    listed = large.instructor.get(f"{url}?q=mentor0001").text
    assert "Mentor00010" in listed and "8 of 10 places taken" in listed and "Mentor00020" not in listed
    answer = large.instructor.http.get(
        f"{large.instructor.tool_url}{url}", params={"q": "Mentor00003"}, headers={"Accept": "application/json"}
    )
    assert answer.headers["content-type"].startswith("application/json")
    mentors = answer.json()["mentors"]
    assert [m["name"].split()[0] for m in mentors] == ["Mentor00003"]
    assert mentors[0]["places"] == "8 of 10 places taken"
    # A full mentor is not offered.
    with app.app_context():
        mentor_id = mentors[0]["id"]
        for mentee in db.session.execute(
            select(Match).where(Match.program_id == large.built.program_id, Match.mentor_id != mentor_id).limit(2)
        ).scalars():
            mentee.mentor_id = mentor_id
        db.session.commit()
    assert large.instructor.http.get(
        f"{large.instructor.tool_url}{url}", params={"q": "Mentor00003"}, headers={"Accept": "application/json"}
    ).json() == {"mentors": []}
    small, big = _counted(
        app, courses, lambda c: c.instructor.get(f"{c.base}/{c.first_draft(app).id}/mentors?q=mentor")
    )
    assert big.total <= small.total <= MAX_STATEMENTS, big.report()
    reassigned = large.post(f"/{draft.id}/reassign", {"mentor": re.findall(r'name="mentor" value="(\d+)"', listed)[0]})
    assert reassigned.status_code == 303


def test_publishing_runs_the_same_statements_for_10_drafts_as_for_100_and_records_each(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    before = {}
    with app.app_context():
        for course in courses:
            before[course.drafts] = _published_rows(course)
    small, large = _posted(app, courses, "/publish")
    assert large.total <= small.total, large.report()
    with app.app_context():
        for course in courses:
            relationships, members, statements = (
                after - was for after, was in zip(_published_rows(course), before[course.drafts], strict=True)
            )
            assert (relationships, members, statements) == (course.drafts, 2 * course.drafts, course.drafts)


def _published_rows(course: SizedCourse) -> tuple[int, int, int]:
    program_id = course.built.program_id
    return (
        db.session.execute(
            select(func.count(Relationship.id)).where(Relationship.program_id == program_id)
        ).scalar_one(),
        db.session.execute(
            select(func.count(RelationshipMember.id))
            .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
            .where(Relationship.program_id == program_id)
        ).scalar_one(),
        db.session.execute(
            select(func.count(StatementOutbox.id)).where(
                StatementOutbox.course_id == course.built.course_id, StatementOutbox.event == "match-published"
            )
        ).scalar_one(),
    )


def test_a_run_of_matching_runs_the_same_statements_for_10_drafts_as_for_100(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    small, large = _posted(app, courses, "/run")
    assert large.total <= small.total, large.report()
    with app.app_context():
        for course in courses:
            drafts = db.session.execute(
                select(func.count(Match.id)).where(
                    Match.program_id == course.built.program_id, Match.status == MatchStatus.DRAFT.value
                )
            ).scalar_one()
            assert drafts == round(1.5 * course.drafts)  # every waiting mentee: places are left for all


def test_the_manual_match_search_runs_the_same_few_statements_for_10_drafts_as_for_100(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    small, large = _counted(
        app, courses, lambda c: c.instructor.get(f"{c.base}/manual?mentor_q=mentor&mentee_q=Mentee")
    )
    assert large.total <= small.total <= MAX_STATEMENTS, large.report()
    page = courses[1].instructor.get(f"{courses[1].base}/manual?mentor_q=Mentor00001&mentee_q=Mentee00201").text
    assert page.count('name="mentor"') == 1 and page.count('name="mentee"') == 1


def test_a_mentees_self_match_suggestions_run_the_same_few_statements_for_10_drafts_as_for_100(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    """A waiting mentee's suggestions (the self-match page's) score them against the mentors with a place left,
    found in SQL, not against the whole course loaded on every view."""
    counted = []
    for course in courses:
        with app.app_context():
            program = db.session.get(Program, course.built.program_id)
            mentee = db.session.execute(
                select(Participant)
                .join(Match, Match.mentee_id == Participant.id)
                .where(Match.program_id == program.id, Match.status == MatchStatus.DRAFT.value)
                .limit(1)
            ).scalar_one()
            with count_statements(app) as statements:
                found = suggestions(program, mentee)
            assert found and all(mentor.membership.user.display_name for mentor, _ in found)
            counted.append(statements)
    small, large = counted
    assert large.total <= small.total <= 10, large.report()
