"""Program health and its exports at size: the same few SQL statements for 10 pairs as for 100 (an N+1 fails here),
every figure as the per-pair rules compute it, and a pair list that starts with the pairs needing attention."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lti_tool.assessments.growth import compare_rounds
from lti_tool.assessments.models import SkillAssessment
from lti_tool.assessments.services import program_rounds, round_ratings
from lti_tool.courses.models import Course
from lti_tool.extensions import db, utcnow
from lti_tool.health.services import PAGE_SIZE, PairSummary, pair_page, program_health
from lti_tool.mentoring.models import MentoringSession, Relationship, SessionStatus
from lti_tool.mentoring.relationships import checkin_status, program_relationships, waiting_on
from lti_tool.programs.models import Participant, Program
from tests.lti_browser import LtiBrowser
from tests.scale.builder import BuiltCourse, CourseSize, build_course
from tests.scale.queries import count_statements

MAX_STATEMENTS = 50
EXPORTS = ("sessions", "goals", "assessments", "survey-answers")


@dataclass
class SizedCourse:
    built: BuiltCourse
    instructor: LtiBrowser

    @property
    def base(self) -> str:
        return f"/courses/{self.built.course_id}/program"


def _sized(app: Flask, browser: LtiBrowser, context_id: str, person: str, pairs: int) -> SizedCourse:
    browser.launch(context_id, person)
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == context_id)).scalar_one()
        return SizedCourse(build_course(course, CourseSize.for_pairs(pairs)), browser)


@pytest.fixture
def courses(app: Flask, new_browser: Callable[[], LtiBrowser]) -> tuple[SizedCourse, SizedCourse]:
    """Two courses of one tool: 10 published pairs, and 100."""
    return (
        _sized(app, new_browser(), "ment-101", "instructor", 10),
        _sized(app, new_browser(), "lead-202", "instructor-2", 100),
    )


def test_health_runs_the_same_few_statements_for_10_pairs_as_for_100(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    counted = []
    for course in courses:
        with count_statements(app) as statements:
            page = course.instructor.get(f"{course.base}/health")
        assert page.status_code == 200
        counted.append(statements)
    small, large = counted
    assert large.total <= small.total, large.report()
    assert large.total <= MAX_STATEMENTS, large.report()


@pytest.mark.parametrize("name", EXPORTS)
def test_each_export_runs_the_same_few_statements_for_10_pairs_as_for_100(
    app: Flask, courses: tuple[SizedCourse, SizedCourse], name: str
) -> None:
    counted, rows = [], []
    for course in courses:
        with count_statements(app) as statements:
            response = course.instructor.get(f"{course.base}/exports/{name}.csv")
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not built whole first
        counted.append(statements)
        rows.append(len(list(csv.DictReader(io.StringIO(response.text)))))
    small, large = counted
    assert large.total <= small.total, large.report()
    assert large.total <= MAX_STATEMENTS, large.report()
    built = courses[1].built.counts
    expected = {
        "sessions": built["mentoring_session"],
        "goals": built["mentoring_goal"],
        "assessments": built["skill_rating"],
        "survey-answers": 6 * built["survey_response"],  # six of the end survey's seven questions answered
    }
    assert rows[1] == expected[name]


def test_health_figures_agree_with_the_per_pair_rules_on_a_generated_program(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    """The SQL aggregates give what the mentoring and assessment rules give pair by pair and learner by learner."""
    with app.app_context():
        program = db.session.get(Program, courses[1].built.program_id)
        now = utcnow()
        report = program_health(program, now=now)
        relationships = program_relationships(program)  # the other course's program is not counted
        sessions: defaultdict[int, list[MentoringSession]] = defaultdict(list)
        for s in db.session.execute(
            select(MentoringSession).where(
                MentoringSession.relationship_id.in_([r.id for r in relationships]),
                MentoringSession.status != SessionStatus.DISPUTED.value,
            )
        ).scalars():
            sessions[s.relationship_id].append(s)

        def overdue(r: Relationship) -> bool:
            met = max((s.started_at for s in sessions[r.id]), default=None)
            return checkin_status(r, met, now=now).overdue

        open_ones = [r for r in relationships if r.ended_at is None]
        totals = report.totals
        assert totals.pairs == len(relationships) == 100
        assert totals.accepted_pairs == sum(1 for r in open_ones if not waiting_on(r))
        assert totals.overdue_pairs == sum(1 for r in open_ones if overdue(r)) > 0
        assert totals.sessions == sum(len(found) for found in sessions.values())
        assert totals.hours == pytest.approx(sum(s.duration_minutes for f in sessions.values() for s in f) / 60)
        assert sum(n for _, n in totals.hours_spread) == 100
        assert sum(w.sessions for w in report.weeks) == totals.sessions  # every session is within 16 weeks

        # Growth: the learner-by-learner rule of the assessment pages, averaged over learners.
        rounds = program_rounds(program)
        by_learner: defaultdict[int, defaultdict[int, list[SkillAssessment]]] = defaultdict(lambda: defaultdict(list))
        for a in db.session.execute(
            select(SkillAssessment)
            .where(SkillAssessment.round_id.in_([r.id for r in rounds]))
            .options(selectinload(SkillAssessment.ratings))
        ).scalars():
            by_learner[a.subject_id][a.round_id].append(a)
        compared: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        for by_round in by_learner.values():
            growth = compare_rounds([(r.title, round_ratings(by_round.get(r.id, []))) for r in rounds], [])
            for skill in growth.skills:
                if skill.first is not None:
                    compared[skill.key].append((skill.first, skill.latest))
        assert len(report.growth) == len(compared) > 0
        for g in report.growth:
            pairs = compared[g.key]
            assert g.learners == len(pairs)
            assert g.baseline == pytest.approx(sum(first for first, _ in pairs) / len(pairs))
            assert g.latest == pytest.approx(sum(latest for _, latest in pairs) / len(pairs))


def test_the_pair_list_pages_the_pairs_needing_attention_first_and_finds_a_name(
    app: Flask, courses: tuple[SizedCourse, SizedCourse]
) -> None:
    large = courses[1]
    with app.app_context():
        program = db.session.get(Program, large.built.program_id)
        first, second = pair_page(program, 1), pair_page(program, 2)
        assert (first.pages, first.matching, len(first.pairs), len(second.pairs)) == (2, 100, PAGE_SIZE, 50)
        listed = first.pairs + second.pairs
        assert len({p.relationship_id for p in listed}) == 100

        def attention(p: PairSummary) -> int:
            return 0 if p.checkin.overdue else 1 if not p.all_accepted else 2 if p.sessions == 0 else 3

        ranks = [attention(p) for p in listed]
        assert ranks == sorted(ranks) and ranks[0] == 0
        assert pair_page(program, 9).number == 2  # past the last page: the last
        mentee = db.session.get(Participant, listed[-1].members[1].participant_id).membership.user
        found = pair_page(program, 1, mentee.given_name.lower())
        assert [p.relationship_id for p in found.pairs] == [listed[-1].relationship_id]
        assert pair_page(program, 1, "100%_no_such").matching == 0  # LIKE wildcards are searched for as text

    page = large.instructor.get(f"{large.base}/health?page=2")
    assert page.status_code == 200 and 'aria-current="page">2<' in page.text
    assert len(page.content) < 300_000
    searched = large.instructor.get(f"{large.base}/health?q={mentee.email}")
    assert "1 pair matches" in searched.text
    for bad in ("page=0", "page=two", "page=-1", "q=" + "x" * 201):
        refused = large.instructor.get(f"{large.base}/health?{bad}")
        assert refused.status_code == 400, bad


# The bytes of each export and the health figures of a 10-pair course built at a fixed moment, as the exports and
# services wrote them before they were made fast (issue 12): a faster path must write the same bytes. Built by
# tests/scale/builder.py; if the builder changes, regenerate them with the code before the change.
PINNED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
PINNED = {
    "sessions": "97d0e86d4e14d2c222b9b36c1f66ee08495b1e5ec30a97c72126ba412e30b8fe",
    "goals": "a14eb1947ecaec6bf059da435d336c8272ecb359507022bdfb3051938ec392b5",
    "assessments": "2c1eef98d52cbe0660322901fb038c8bb53270b08c8c62e74eaa612e24fb9d97",
    "survey-answers": "417b236c0203e991f41b07e25f66f8e7296d83fefdb920fc442aef1c9dcdef98",
    "health": "9a2d2965485737b1e3149a573671e58cb1b02f26e8306f006b824de1550a4f2d",
}


def _health_figures(program: Program) -> str:
    report = program_health(program, now=PINNED_AT)
    page = pair_page(program, 1, now=PINNED_AT)
    return repr(
        (
            report.totals,
            report.weeks,
            report.goals,
            [(r.round.title, r.completed, r.total) for r in report.rounds],
            report.growth,
            [(s.responses, s.participants, s.distributions, s.written) for s in report.surveys],
            (page.number, page.pages, page.matching),
            [(p.relationship_id, p.names, p.all_accepted, p.sessions, p.hours, p.goals_set, p.goals_completed,
              p.checkin) for p in page.pairs],
        )
    )  # fmt: skip


def test_exports_and_figures_are_the_bytes_they_were_before_they_were_made_fast(
    app: Flask, browser: LtiBrowser
) -> None:
    browser.launch("ment-101", "instructor")
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == "ment-101")).scalar_one()
        built = build_course(course, CourseSize.for_pairs(10), now=PINNED_AT)
        program = db.session.get(Program, built.program_id)
        found = {"health": hashlib.sha256(_health_figures(program).encode()).hexdigest()}
    base = f"/courses/{built.course_id}/program"
    for name in EXPORTS:
        response = browser.get(f"{base}/exports/{name}.csv")
        assert response.status_code == 200
        found[name] = hashlib.sha256(response.content).hexdigest()
    assert found == PINNED


def test_an_export_is_the_data_as_it_stood_when_the_export_began(app: Flask, browser: LtiBrowser) -> None:
    """The sessions export reads the sessions and, in their order, their responses, ratings and action items, each
    by a query of its own. A session moved earlier by another request between those queries would, without one
    snapshot for all of them, put the lists out of step: that session and every one after it would lose theirs.
    Here another connection moves a session (and commits) just before the sessions themselves are read."""
    browser.launch("ment-101", "instructor")
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == "ment-101")).scalar_one()
        built = build_course(course, CourseSize.for_pairs(10))
        engine = db.engine
        first, last = db.session.execute(
            select(MentoringSession.id, MentoringSession.started_at)
            .join(Relationship, Relationship.id == MentoringSession.relationship_id)
            .where(Relationship.program_id == built.program_id)
            .order_by(MentoringSession.relationship_id, MentoringSession.started_at, MentoringSession.id)
            .limit(2)
        ).all()
    url = f"/courses/{built.course_id}/program/exports/sessions.csv"
    before = browser.get(url).content
    moved: list[int] = []

    def move_a_session(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not moved and "mentoring_session.logged_by_id" in statement:
            with engine.begin() as other:  # another request's committed change, while the export runs
                other.execute(
                    sa.update(MentoringSession)
                    .where(MentoringSession.id == last.id)
                    .values(started_at=first.started_at - timedelta(days=1))
                )
            moved.append(last.id)

    sa.event.listen(engine, "before_cursor_execute", move_a_session)
    try:
        during = browser.get(url).content
    finally:
        sa.event.remove(engine, "before_cursor_execute", move_a_session)
    assert moved, "the sessions query ran"
    assert during == before

    def by_session(export: bytes) -> list[tuple[str, dict[str, str]]]:
        rows = csv.DictReader(io.StringIO(export.decode()))
        return [(row.pop("session_id"), row | {"started_at_utc": ""}) for row in rows]

    # The next export sees the move: the moved session comes first in its pair, with its lists still its own.
    now_, then = by_session(browser.get(url).content), by_session(before)
    assert [session for session, _ in now_] != [session for session, _ in then]
    assert dict(now_) == dict(then)
    assert now_[0][0] == str(last.id)
