"""Skill assessment rounds (baseline, follow-up, ...) and the ratings given in them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.courses.models import Membership
from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.programs.models import Participant, Program


class RoundKind(StrEnum):
    BASELINE = "baseline"
    FOLLOW_UP = "follow-up"


class GradeRule(StrEnum):
    """How a graded round turns into a score for the LMS gradebook (sent by the LTI Advantage issue)."""

    # The mean level over the rated skills as a percentage of the top level; each skill counts its mentors' rating,
    # else the instructors', else the mentee's own (services.RoundRatings.level).
    AVERAGE_LEVEL = "average-level"
    COMPLETION = "completion"  # full marks once the self-assessment is submitted


class RaterRole(StrEnum):
    SELF = "self"
    MENTOR = "mentor"
    INSTRUCTOR = "instructor"


class AssessmentRound(db.Model):  # type: ignore[name-defined,misc]
    """A window the instructor opens and closes, in which mentees, mentors and staff rate mentees' skills."""

    __tablename__ = "assessment_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order of rounds: growth runs first -> latest
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    graded: Mapped[bool] = mapped_column(Boolean, default=False)
    grade_rule: Mapped[str] = mapped_column(String(20), default=GradeRule.AVERAGE_LEVEL.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship()


class SkillAssessment(db.Model):  # type: ignore[name-defined,misc]
    """One rater's submitted assessment of one mentee in one round."""

    __tablename__ = "skill_assessment"
    __table_args__ = (UniqueConstraint("round_id", "subject_id", "rater_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_round.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    rater_role: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[AssessmentRound] = relationship()
    subject: Mapped[Participant] = relationship()
    rater: Mapped[Membership] = relationship()
    ratings: Mapped[list[SkillRating]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="SkillRating.id"
    )


class SkillRating(db.Model):  # type: ignore[name-defined,misc]
    """A rubric level (1-5) given to one skill in an assessment."""

    __tablename__ = "skill_rating"
    # The second: an assessment's ratings with their levels, read from the index alone (program health's growth
    # groups every rating of a program on each view).
    __table_args__ = (
        UniqueConstraint("assessment_id", "skill_key"),
        Index("ix_skill_rating_levels", "assessment_id", "skill_key", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by ix_skill_rating_levels (and the unique constraint), whose first column it is.
    assessment_id: Mapped[int] = mapped_column(ForeignKey("skill_assessment.id", ondelete="CASCADE"))
    skill_key: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)

    assessment: Mapped[SkillAssessment] = relationship(back_populates="ratings")
