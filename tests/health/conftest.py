"""A program with a known history: two published pairs (through the real matching workflow), then sessions, goals,
check-ins, assessment ratings, a private note and survey answers written straight to the database, since their
pages belong to other features."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.assessments.models import AssessmentRound, RaterRole, RoundKind, SkillAssessment, SkillRating
from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.models import (
    ActionItem,
    CheckinRequest,
    Goal,
    GoalComment,
    GoalStatus,
    MentoringSession,
    Milestone,
    PrivateNote,
    Relationship,
    SessionRating,
    SessionResponse,
    SessionStatus,
)
from lti_tool.programs.models import Program
from lti_tool.runtime import runtime
from lti_tool.surveys import services as surveys
from lti_tool.surveys.models import SurveyKind
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair, publish_pairs

PRIVATE = "PRIVATE-NOTE-7f3a only for me"
SHARED = "We planned the refactor <script>alert('shared')</script>"
FORMULA_TOPIC = '=HYPERLINK("http://evil.example","click")'
FORMULA_GOAL = "+Ship a Python package"
FORMULA_MEASURE = "-2 bugs a week"
FORMULA_ANSWER = "@SUM(1+1)*cmd"


@dataclass
class KnownProgram:
    pair: Pair
    other_id: int  # the second pair: no session, overdue for a check-in
    survey_id: int

    @property
    def app(self) -> Flask:
        return self.pair.app

    @property
    def base(self) -> str:
        return f"/courses/{self.pair.course_id}/program"


@pytest.fixture
def known(app: Flask, new_browser: Callable[[], LtiBrowser]) -> KnownProgram:
    pair = publish_pairs(app, new_browser)
    with app.app_context():
        now = utcnow()
        today = now.date()
        program = db.session.get(Program, pair.cohort.program_id)
        first = db.session.get(Relationship, pair.relationship_id)
        other = db.session.execute(
            select(Relationship).where(Relationship.program_id == program.id, Relationship.id != first.id)
        ).scalar_one()
        mentor = next(m for m in first.members if m.role == "mentor")
        mentee = next(m for m in first.members if m.role == "mentee")
        other_mentor = next(m for m in other.members if m.role == "mentor")
        other_mentee = next(m for m in other.members if m.role == "mentee")

        # The first pair: both accepted, met twice (a third, disputed session does not count).
        first.created_at = now - timedelta(days=20)
        other.created_at = now - timedelta(days=30)  # never met: 16 days past a 14-day cadence
        mentor.accepted_at = mentee.accepted_at = other_mentee.accepted_at = now - timedelta(days=19)
        confirmed = MentoringSession(
            relationship_id=first.id, logged_by_id=mentee.participant_id, started_at=now - timedelta(days=3),
            timezone="Europe/Paris", duration_minutes=60, format="video", topics=FORMULA_TOPIC,
            skill_keys=["python"], shared_notes=SHARED, status=SessionStatus.CONFIRMED.value,
        )  # fmt: skip
        logged = MentoringSession(
            relationship_id=first.id, logged_by_id=mentor.participant_id, started_at=now - timedelta(days=10),
            timezone="Europe/Paris", duration_minutes=90, format="in-person", status=SessionStatus.LOGGED.value,
        )  # fmt: skip
        disputed = MentoringSession(
            relationship_id=first.id, logged_by_id=mentor.participant_id, started_at=now - timedelta(days=5),
            timezone="Europe/Paris", duration_minutes=30, format="chat", status=SessionStatus.DISPUTED.value,
        )  # fmt: skip
        db.session.add_all([confirmed, logged, disputed])
        db.session.flush()
        db.session.add_all(
            [
                PrivateNote(session_id=confirmed.id, author_id=mentee.participant_id, text=PRIVATE),
                SessionResponse(session_id=confirmed.id, participant_id=mentor.participant_id, status="confirmed"),
                SessionResponse(
                    session_id=disputed.id,
                    participant_id=mentee.participant_id,
                    status="disputed",
                    reason="We did not meet that day.",
                ),
                SessionRating(
                    session_id=confirmed.id, participant_id=mentee.participant_id, rating=5, comment="Very useful"
                ),
                ActionItem(
                    session_id=confirmed.id,
                    owner_id=mentee.participant_id,
                    text="Read the style guide",
                    due_on=today + timedelta(days=7),
                ),
                CheckinRequest(
                    relationship_id=other.id, requested_by_id=other_mentee.participant_id, message="Can we meet?"
                ),
            ]
        )

        # Goals: one of three completed.
        done = Goal(
            relationship_id=first.id, owner_id=mentee.participant_id, title=FORMULA_GOAL, skill_key="python",
            measure=FORMULA_MEASURE, target_on=today, status=GoalStatus.COMPLETED.value, progress=100,
            completed_at=now - timedelta(days=1),
        )  # fmt: skip
        going = Goal(
            relationship_id=first.id, owner_id=mentee.participant_id, title="Write SQL joins", skill_key="sql",
            measure="Three reports", target_on=today + timedelta(days=30),
            status=GoalStatus.IN_PROGRESS.value, progress=40,
        )  # fmt: skip
        going.milestones.append(Milestone(title="First report", done_at=now))
        going.comments.append(GoalComment(author_id=mentor.participant_id, text="Good start on the joins."))
        waiting = Goal(
            relationship_id=other.id, owner_id=other_mentee.participant_id, title="Learn pandas",
            measure="A notebook", target_on=today + timedelta(days=40),
        )  # fmt: skip
        db.session.add_all([done, going, waiting])

        # Assessments: of the three learners who want a mentor, two assess themselves at baseline, one at follow-up.
        baseline = AssessmentRound(
            program_id=program.id, title="Baseline", kind=RoundKind.BASELINE.value, position=0,
            opened_at=now - timedelta(days=19), closed_at=now - timedelta(days=12),
        )  # fmt: skip
        follow_up = AssessmentRound(
            program_id=program.id, title="Follow-up", kind=RoundKind.FOLLOW_UP.value, position=1,
            opened_at=now - timedelta(days=2),
        )  # fmt: skip
        db.session.add_all([baseline, follow_up])
        db.session.flush()

        def rate(round_: AssessmentRound, subject: int, rater: int, role: RaterRole, levels: dict[str, int]) -> None:
            assessment = SkillAssessment(round_id=round_.id, subject_id=subject, rater_id=rater, rater_role=role.value)
            assessment.ratings = [SkillRating(skill_key=k, level=v) for k, v in levels.items()]
            db.session.add(assessment)

        subject, own = mentee.participant_id, mentee.participant.membership_id
        rate(baseline, subject, own, RaterRole.SELF, {"python": 1, "sql": 1})
        rate(baseline, subject, mentor.participant.membership_id, RaterRole.MENTOR, {"python": 2})
        rate(follow_up, subject, own, RaterRole.SELF, {"python": 3, "sql": 2})
        rate(follow_up, subject, mentor.participant.membership_id, RaterRole.MENTOR, {"python": 4})
        rate(baseline, other_mentee.participant_id, other_mentee.participant.membership_id, RaterRole.SELF,
             {"python": 2})  # fmt: skip
        rate(baseline, other_mentee.participant_id, other_mentor.participant.membership_id, RaterRole.MENTOR,
             {"python": 3})  # fmt: skip

        # An opened end-of-program survey, answered by the first pair's mentee.
        survey = surveys.create_survey(program, SurveyKind.END)
        surveys.open_survey(survey)
        surveys.answer_survey(
            survey,
            mentee.participant,
            {
                "satisfaction": 4, "confidence": 5, "goal-progress": 3,
                "career-outcomes": ["promotion", "certification"], "recommend": "yes",
                "proudest-outcome": FORMULA_ANSWER,
            },
            settings=runtime().settings,
            tool_base=f"{pair.browser('instructor').tool_url}/",
        )  # fmt: skip
        db.session.commit()
        return KnownProgram(pair, other.id, survey.id)
