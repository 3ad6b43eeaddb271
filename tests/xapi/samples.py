"""Sample event inputs shared by the xapi tests: one course, one program, a mentee and a mentor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from xapi import builders
from xapi.events import (
    ActorIdentity,
    Course,
    Enrolment,
    LaunchInfo,
    MentoringRole,
    MentorRequestEvent,
    Program,
    ScoreInput,
    StatementContext,
)
from xapi.models import Statement

ISSUER = "https://canvas.example.edu"
WHEN = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
ENROLMENT = Enrolment(
    program=Program(ref="peer-2026", title="Peer mentoring 2026"),
    registration=UUID("2b1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
)
MENTEE = ActorIdentity(issuer=ISSUER, sub="a6c2e0f4-learner", name="Ada Lovelace", email="ada@example.edu")
MENTOR = ActorIdentity(issuer=ISSUER, sub="b7d3f1a5-mentor", name="Grace Hopper", email="grace@example.edu")
STAFF = ActorIdentity(issuer=ISSUER, sub="c8e4a2b6-instructor", name="Alan Kay", email="alan@example.edu")


def make_launch(**overrides: Any) -> LaunchInfo:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "deployment_id": "1:6fd1b1f0",
        "context_id": "ctx-biology-101",
        "resource_link_id": "rl-7",
        "roles": ("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",),
        "platform": "Canvas",
        "locale": "en_US",
    }
    fields.update(overrides)
    return LaunchInfo(**fields)


def make_context(**overrides: Any) -> StatementContext:
    fields: dict[str, Any] = {
        "tool_base": "https://mentor.example.edu/",
        "launch": make_launch(),
        "course": Course(ref=builders.opaque_ref(ISSUER, "ctx-biology-101"), title="Biology 101"),
    }
    fields.update(overrides)
    return StatementContext(**fields)


def ids(key: str) -> dict[str, Any]:
    return {"statement_id": builders.event_statement_id(key), "timestamp": WHEN}


def build_all_events(ctx: StatementContext | None = None) -> dict[str, Statement]:
    """One statement per domain event, keyed by the name of the profile template it must match."""
    ctx = ctx or make_context()
    enr = ENROLMENT
    b = builders
    return {
        "lti-launch": b.build_lti_launch(ctx, actor=MENTEE, **ids("launch:1")),
        "lti-launch+program": b.build_lti_launch(ctx, actor=MENTEE, enrolment=enr, **ids("launch:2")),
        "profile-completed": b.build_profile_completed(
            ctx, enr, actor=MENTEE, role=MentoringRole.MENTEE, **ids("profile:1")
        ),
        "match-published": b.build_match_published(
            ctx,
            enr,
            mentee=MENTEE,
            mentor=MENTOR,
            match_ref="m-1",
            mentoring_model="one-to-one",
            skills=("communication", "time-management"),
            **ids("match:1:published"),
        ),
        "rematch-requested": b.build_rematch_requested(
            ctx, enr, actor=MENTEE, mentor=MENTOR, match_ref="m-1", reason="schedule-conflict", **ids("rematch:1")
        ),
        "agreement-accepted": b.build_agreement_accepted(
            ctx, enr, actor=MENTEE, mentor=MENTOR, match_ref="m-1", **ids("agreement:1")
        ),
        **{
            name: b.build_mentor_request_event(
                ctx, enr, event=event, actor=actor, mentor=MENTOR, request_ref="q-1", **ids(f"mentor-request:1:{event}")
            )
            for name, event, actor in (
                ("mentor-requested", MentorRequestEvent.REQUESTED, MENTEE),
                ("mentor-request-accepted", MentorRequestEvent.ACCEPTED, MENTOR),
                ("mentor-request-declined", MentorRequestEvent.DECLINED, MENTOR),
                ("mentor-request-approved", MentorRequestEvent.APPROVED, STAFF),
                ("mentor-request-cancelled", MentorRequestEvent.CANCELLED, STAFF),
                ("mentor-request-expired", MentorRequestEvent.EXPIRED, MENTEE),
            )
        },
        "checkin-requested": b.build_checkin_requested(
            ctx, enr, actor=MENTEE, mentor=MENTOR, relationship_ref="r-1", **ids("checkin:1")
        ),
        "session-logged": b.build_mentoring_session_logged(
            ctx,
            enr,
            participant=MENTEE,
            mentor=MENTOR,
            mentoring_session_ref="s-1",
            duration="PT45M",
            **ids("session:1:logged"),
        ),
        "session-confirmed": b.build_mentoring_session_confirmed(
            ctx,
            enr,
            participant=MENTOR,
            mentor=MENTOR,
            mentoring_session_ref="s-1",
            duration="PT45M",
            **ids("session:1:confirmed"),
        ),
        "goal-set": b.build_goal_set(
            ctx, enr, actor=MENTEE, goal_ref="g-1", skill="communication", **ids("goal:1:set")
        ),
        "goal-completed": b.build_goal_completed(ctx, enr, actor=MENTEE, goal_ref="g-1", **ids("goal:1:done")),
        "assessment-submitted": b.build_assessment_submitted(
            ctx,
            enr,
            actor=MENTEE,
            assessment_ref="a-1",
            score=ScoreInput(raw=7, min=0, max=10),
            skill_scores={"communication": 3, "listening": 4.5},
            passed=True,
            **ids("assessment:1"),
        ),
        "survey-answered": b.build_survey_answered(
            ctx, enr, actor=MENTEE, survey_ref="sv-1", answers={"q1": 4, "q2": "weekly"}, **ids("survey:1")
        ),
        "voiding": b.build_voiding(
            ctx,
            actor=MENTOR,
            voided_statement_id=b.event_statement_id("goal:1:set"),
            enrolment=enr,
            **ids("void:1"),
        ),
    }
