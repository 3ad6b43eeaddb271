"""Gradebook columns (AGS line items) of graded assessments, and the durable outbox of scores to post to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.assessments.models import AssessmentRound
from lti_tool.courses.models import Course, Membership
from lti_tool.extensions import UTCDateTime, db, utcnow


class GradebookColumn(db.Model):  # type: ignore[name-defined,misc]
    """The LMS line item of one graded assessment round in one course: found or created once, then reused."""

    __tablename__ = "gradebook_column"
    __table_args__ = (UniqueConstraint("course_id", "round_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("assessment_round.id", ondelete="CASCADE"), index=True)
    line_item_url: Mapped[str | None] = mapped_column(String(1000))  # None until found or created in the LMS
    label: Mapped[str] = mapped_column(String(200))
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    round: Mapped[AssessmentRound] = relationship()


class ScoreState(StrEnum):
    PENDING = "pending"  # a score the LMS has not acknowledged yet (new, changed, or waiting for a retry)
    SENDING = "sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered"
    DEAD = "dead"  # refused by the LMS for good (e.g. the learner left the course); shown to the instructor


class ScoreOutbox(db.Model):  # type: ignore[name-defined,misc]
    """The latest score of one learner in one gradebook column, and whether the LMS has it.

    One row per (column, learner): a changed score overwrites the row and makes it pending again, so a retry
    always sends the latest score with the time it was given; the LMS keeps the score with the newest
    timestamp, so a late retry can never replace a newer score with an older one.
    """

    __tablename__ = "score_outbox"
    __table_args__ = (
        UniqueConstraint("column_id", "membership_id"),
        Index("ix_score_outbox_due", "state", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    column_id: Mapped[int] = mapped_column(ForeignKey("gradebook_column.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the AGS `timestamp`
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change of the score
    delivered_version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=ScoreState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    column: Mapped[GradebookColumn] = relationship()
    membership: Mapped[Membership] = relationship()
