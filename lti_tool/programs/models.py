"""Mentorship programs, their skill frameworks, participants' profiles, matches and rematch requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.courses.models import Course, Membership
from lti_tool.extensions import UTCDateTime, db, utcnow


class MentoringModel(StrEnum):
    ONE_ON_ONE = "one-on-one"
    GROUP = "group"
    PEER = "peer"
    REVERSE = "reverse"


class Eligibility(StrEnum):
    """Who may take a side: decided by LTI course role, or by the person opting in on their profile."""

    STAFF = "staff"  # instructors and teaching assistants
    LEARNERS = "learners"
    OPT_IN = "opt-in"  # anyone in the course who chooses it


class MatchStatus(StrEnum):
    DRAFT = "draft"  # proposed by the engine or the instructor, not visible to learners
    PUBLISHED = "published"
    ENDED = "ended"  # after a rematch or when the program ends; kept with its history


class MatchSource(StrEnum):
    ENGINE = "engine"
    MANUAL = "manual"
    SELF = "self"  # a mentee's own choice in self-match mode


class RequestStatus(StrEnum):
    OPEN = "open"
    REMATCHED = "rematched"
    DISMISSED = "dismissed"


DEFAULT_WEIGHTS: dict[str, float] = {
    "goal_gain": 0.45,
    "complementarity": 0.15,
    "availability": 0.20,
    "diversity": 0.10,
    "preferences": 0.10,
    "waking_hours": 0.0,  # off until a program spans time zones: existing programs keep their scores
}
DEFAULT_RULES: dict[str, bool] = {
    "same_language": True,
    "shared_slot": True,
    "different_department": False,
    "never_repair_declined": True,
}


class Program(db.Model):  # type: ignore[name-defined,misc]
    """A course's mentorship program, set up by its instructors."""

    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[int | None] = mapped_column(ForeignKey("resource_link.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(20), default=MentoringModel.ONE_ON_ONE.value)
    mentor_eligibility: Mapped[str] = mapped_column(String(20), default=Eligibility.OPT_IN.value)
    mentee_eligibility: Mapped[str] = mapped_column(String(20), default=Eligibility.LEARNERS.value)
    default_capacity: Mapped[int] = mapped_column(Integer, default=1)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    checkin_every_days: Mapped[int] = mapped_column(Integer, default=14)
    agreement_text: Mapped[str] = mapped_column(Text, default="")
    weights: Mapped[dict[str, float]] = mapped_column(JSON, default=lambda: dict(DEFAULT_WEIGHTS))
    rules: Mapped[dict[str, bool]] = mapped_column(JSON, default=lambda: dict(DEFAULT_RULES))
    # Participation or quality: pairs scoring below this (0..1) are never proposed; 0 matches as many as possible.
    min_score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # Pairs whose time zones are more hours apart are never proposed; None: no limit.
    max_hours_apart: Mapped[int | None] = mapped_column(Integer)
    self_match: Mapped[bool] = mapped_column(Boolean, default=False)
    # Two-sided self-match: a mentee's choice is a request the mentor accepts or declines within `request_days`.
    mentor_accepts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    request_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    require_reciprocity: Mapped[bool] = mapped_column(Boolean, default=False)
    matching_seed: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship()
    skills: Mapped[list[Skill]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="Skill.position"
    )


class Skill(db.Model):  # type: ignore[name-defined,misc]
    """A skill of a program's framework, with one rubric descriptor per proficiency level 1-5."""

    __tablename__ = "skill"
    __table_args__ = (UniqueConstraint("program_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(20))  # "technical" or "soft"
    description: Mapped[str] = mapped_column(Text, default="")
    descriptors: Mapped[list[str]] = mapped_column(JSON)  # exactly five: levels 1..5
    position: Mapped[int] = mapped_column(Integer, default=0)

    program: Mapped[Program] = relationship(back_populates="skills")


class Participant(db.Model):  # type: ignore[name-defined,misc]
    """A course member's profile in a program: what the matching engine and the pair pages work from."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("program_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    # xAPI context.registration: ties together every statement of this enrolment.
    registration: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()))
    wants_to_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_to_be_mentored: Mapped[bool] = mapped_column(Boolean, default=False)
    skill_levels: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # skill key -> 0..5
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)  # 1-3 skill keys
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)  # skill keys they can teach
    # Participants (ids, same program) they asked to be matched with: the "stated preferences" criterion.
    preferred_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    # Weekly 3-hour blocks in the person's own time zone ("mon-06" = Monday 06-09);
    # matching compares them in UTC (profiles.services.utc_hour_slots).
    availability: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    department: Mapped[str | None] = mapped_column(String(120))
    bio: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column(Integer)  # as a mentor; None: the program's default
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    program: Mapped[Program] = relationship()
    membership: Mapped[Membership] = relationship()


class Match(db.Model):  # type: ignore[name-defined,misc]
    """A mentor-mentee pairing; `explanation` holds per-criterion contributions and the reasons in words."""

    __tablename__ = "mentor_match"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    skill_key: Mapped[str | None] = mapped_column(String(64))  # reverse/peer: the skill this direction is for
    # The program's mentoring model when the match was made: a draft of another model is never published.
    model: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=MatchStatus.DRAFT.value, index=True)
    source: Mapped[str] = mapped_column(String(16), default=MatchSource.ENGINE.value)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when published: the relationship (pair page) this match belongs to.
    relationship_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentoring_relationship.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    program: Mapped[Program] = relationship()
    mentor: Mapped[Participant] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Participant] = relationship(foreign_keys=[mentee_id])


class RematchRequest(db.Model):  # type: ignore[name-defined,misc]
    """A participant asks to leave a published match; the instructor rematches or dismisses."""

    __tablename__ = "rematch_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("mentor_match.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    match: Mapped[Match] = relationship()
    requested_by: Mapped[Participant] = relationship()


class MatchingRun(db.Model):  # type: ignore[name-defined,misc]
    """One run of the engine: its objective and who stayed unmatched and why, for the instructor's review."""

    __tablename__ = "matching_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seed: Mapped[int] = mapped_column(Integer)
    objective: Mapped[float] = mapped_column(Float)
    matched: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # [{participant_id, reason}]
