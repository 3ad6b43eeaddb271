"""The profile form and the assessment pages run as many SQL statements for a course ten times larger, and list
a bounded page of people: an N+1, or a list of every learner, fails here rather than in a course of 10,000."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.assessments.models import AssessmentRound, SkillAssessment
from lti_tool.assessments.services import ROUND_PAGE_SIZE
from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.gradebook.models import GradebookColumn, ScoreOutbox
from lti_tool.profiles.services import PEOPLE_SHOWN
from tests.lti_browser import LtiBrowser
from tests.profiles.helpers import csrf_token
from tests.scale.builder import CourseSize, build_course
from tests.scale.queries import CountedStatements, count_statements

BUDGET = 50  # SQL statements a page may run, whatever the course size (issue 12)
# 62 and 573 members: past 500 people, a relationship loaded for every one of them takes a second statement.
SMALL, LARGE = CourseSize.for_pairs(22), CourseSize.for_pairs(220)
ROW = re.compile(r'<th scope="row"[ >]')
TO = "\N{EN DASH}"  # between the first and the last row's numbers


@dataclass
class SizedCourse:
    app: Flask
    size: CourseSize
    course_id: int
    open_round: int  # graded, so that the gradebook columns and statuses are on the page
    instructor: LtiBrowser
    learner: LtiBrowser  # a member without a profile yet: every other participant is a candidate
    last: httpx.Response | None = None  # the answer to the latest `counted` request

    def counted(self, browser: LtiBrowser, path: str, data: dict[str, object] | None = None) -> CountedStatements:
        """The statements of one request (a POST when `data` is given) to this course's `path`."""
        url = f"/courses/{self.course_id}{path}"
        with count_statements(self.app) as counted:
            response = browser.get(url) if data is None else browser.http.post(f"{browser.tool_url}{url}", data=data)
        assert response.status_code in (200, 303, 422), (url, response.status_code, response.text[:1000])
        self.last = response
        return counted


def _sized(app: Flask, new_browser: Callable[[], LtiBrowser], context: str, staff: str, learner: str,
           size: CourseSize) -> SizedCourse:  # fmt: skip
    instructor, member = new_browser(), new_browser()
    instructor.launch(context, staff)
    member.launch(context, learner)
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == context)).scalar_one()
        built = build_course(course, size)
        round_ = db.session.execute(
            select(AssessmentRound).where(
                AssessmentRound.program_id == built.program_id, AssessmentRound.closed_at.is_(None)
            )
        ).scalar_one()
        round_.graded = True
        db.session.commit()
        return SizedCourse(app, size, course.id, round_.id, instructor, member)


@pytest.fixture
def courses(app: Flask, new_browser: Callable[[], LtiBrowser]) -> tuple[SizedCourse, SizedCourse]:
    return (
        _sized(app, new_browser, "ment-101", "instructor", "learner-01", SMALL),
        _sized(app, new_browser, "lead-202", "instructor-2", "learner-13", LARGE),
    )


def _same_for_ten_times_the_people(small: CountedStatements, large: CountedStatements) -> None:
    assert large.total <= BUDGET, large.report()
    assert large.total <= small.total, f"small:\n{small.report()}\nlarge:\n{large.report()}"


def test_the_profile_form_and_its_people_search_do_not_grow_with_the_course(
    courses: tuple[SizedCourse, SizedCourse],
) -> None:
    large = courses[1]
    candidates = LARGE.members - 1  # everyone but the instructor has a complete profile
    pages = {}
    for course in courses:
        form = course.counted(course.learner, "/me/profile")
        token = csrf_token(course.last)  # type: ignore[arg-type]
        search = course.counted(course.learner, "/me/profile/people?q=mentee")
        answer = course.last.json()  # type: ignore[union-attr]
        # The search without JavaScript: the form comes back with the people found, nothing saved.
        posted = course.counted(
            course.learner,
            "/me/profile",
            {"csrf_token": token, "people_query": "mentor", "find_people": "y", "bio": "kept"},
        )
        refused = course.counted(course.learner, "/me/profile", {"csrf_token": token, "bio": "kept"})
        pages[course.size] = (form, search, posted, refused, answer)
    for small_page, large_page in zip(pages[SMALL][:4], pages[LARGE][:4], strict=True):
        _same_for_ten_times_the_people(small_page, large_page)
    answer = pages[LARGE][4]
    assert len(answer["people"]) == PEOPLE_SHOWN and answer["total"] == LARGE.mentees
    assert all(person["name"].startswith("Mentee") for person in answer["people"])
    names = [person["name"] for person in answer["people"]]
    assert names == sorted(names, key=str.casefold)
    assert f"{LARGE.mentees} people match “mentee”: the first {PEOPLE_SHOWN} shown." == answer["summary"]
    form_page = large.learner.get(f"/courses/{large.course_id}/me/profile").text
    assert form_page.count('name="preferences"') == PEOPLE_SHOWN
    assert f"The first {PEOPLE_SHOWN} of {candidates} people by name" in form_page


def test_the_round_and_manage_pages_do_not_grow_with_the_course(courses: tuple[SizedCourse, SizedCourse]) -> None:
    views = {}
    for course in courses:
        path = f"/assessments/manage/{course.open_round}"
        views[course.size] = (
            course.counted(course.instructor, "/assessments/manage"),
            course.counted(course.instructor, path),
            course.counted(course.instructor, f"{path}?q=mentee&show=no-self&page=2"),
            course.counted(course.instructor, f"{path}?show=not-in-gradebook"),
        )
    for small_page, large_page in zip(views[SMALL], views[LARGE], strict=True):
        _same_for_ten_times_the_people(small_page, large_page)


def test_the_round_page_lists_a_page_of_mentees_found_by_name_and_filter(
    courses: tuple[SizedCourse, SizedCourse],
) -> None:
    large = courses[1]
    pages = -(-LARGE.mentees // ROUND_PAGE_SIZE)
    path = f"/courses/{large.course_id}/assessments/manage/{large.open_round}"
    first = large.instructor.get(path).text
    assert len(ROW.findall(first)) == ROUND_PAGE_SIZE
    assert f"Mentees 1{TO}{ROUND_PAGE_SIZE} of {LARGE.mentees}, by name." in first
    assert f"{LARGE.mentees} mentees are assessed" in first
    assert f"Page 1 of {pages}" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert first.index("Mentee00001") < first.index("Mentee00002")
    second = large.instructor.get(f"{path}?page=2").text
    assert f"Mentees {ROUND_PAGE_SIZE + 1}{TO}{2 * ROUND_PAGE_SIZE} of {LARGE.mentees}" in second
    assert "Mentee00001" not in second and f"Mentee{ROUND_PAGE_SIZE + 1:05d}" in second
    beyond = large.instructor.get(f"{path}?page=999").text  # kept within the pages there are
    assert f"Page {pages} of {pages}" in beyond and f"Mentee{LARGE.mentees:05d}" in beyond
    one = large.instructor.get(f"{path}?q=mentee00007").text
    assert len(ROW.findall(one)) == 1 and "Mentee00007" in one and f"Mentees 1{TO}1 of 1 found" in one
    # Mentees without a self-assessment: the builder's late joiners and those who skipped it.
    waiting = large.instructor.get(f"{path}?show=no-self").text
    rows = re.findall(r'<th scope="row"[^>]*>(.*?)</th>\s*<td[^>]*>(.*?)</td>', waiting, re.S)
    assert rows
    for row in rows:
        assert row[1] == "Not yet", row
    nobody = large.instructor.get(f"{path}?q=%25").text  # a LIKE wildcard is searched for as it is
    assert "No mentee matches this search." in nobody and not ROW.findall(nobody)


def test_a_resync_and_a_change_of_grading_queue_every_score_in_as_many_statements_for_ten_times_the_mentees(
    courses: tuple[SizedCourse, SizedCourse],
) -> None:
    counted = {}
    for course in courses:
        path = f"/assessments/manage/{course.open_round}"
        token = csrf_token(course.instructor.get(f"/courses/{course.course_id}{path}"))
        resync = course.counted(course.instructor, f"{path}/gradebook/resync", {"csrf_token": token})
        settings = {"csrf_token": token, "title": "Follow-up 1", "kind": "follow-up", "position": "1", "graded": "y"}
        regraded = course.counted(course.instructor, path, {**settings, "grade_rule": "completion"})
        counted[course.size] = (resync, regraded)
        with course.app.app_context():
            rated = db.session.execute(
                select(func.count(func.distinct(SkillAssessment.subject_id))).where(
                    SkillAssessment.round_id == course.open_round
                )
            ).scalar_one()
            versions = db.session.execute(
                select(ScoreOutbox.version, ScoreOutbox.score_given, func.count())
                .join(GradebookColumn, GradebookColumn.id == ScoreOutbox.column_id)
                .where(GradebookColumn.round_id == course.open_round)
                .group_by(ScoreOutbox.version, ScoreOutbox.score_given)
            ).all()
        # Everyone rated got a score on the resync; completion then changed it for those without a self-assessment.
        assert sum(count for _, _, count in versions) == rated
        assert {(version, score) for version, score, _ in versions} <= {(2, 100.0), (2, None)}, versions
    for small_request, large_request in zip(counted[SMALL], counted[LARGE], strict=True):
        _same_for_ten_times_the_people(small_request, large_request)
