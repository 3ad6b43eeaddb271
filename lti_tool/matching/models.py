"""Matching jobs (a run of matching or a publish, done by a jobs worker) and mentees' requests for a mentor."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.courses.models import Membership
from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.programs.models import Match, Participant


class JobKind(StrEnum):
    RUN = "run"  # run matching: propose drafts
    PUBLISH = "publish"  # publish every draft


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed by a worker until `claimed_until`; taken over after that
    DONE = "done"
    FAILED = "failed"


ACTIVE_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


class MatchingJob(db.Model):  # type: ignore[name-defined,misc]
    """One run or publish of a program. Its effects and its `done` state commit in one transaction, so a job
    is either done entirely or not at all; a worker killed mid-job leaves it to be redone after its lease."""

    __tablename__ = "matching_job"
    # At most one queued or running job per program, whatever the number of servers: a second is refused.
    __table_args__ = (
        Index(
            "uq_matching_job_active_program",
            "program_id",
            unique=True,
            sqlite_where=text("state IN ('queued', 'running')"),
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
        Index("ix_matching_job_due", "state", "claimed_until", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value)
    tool_base: Mapped[str] = mapped_column(String(1000))  # the public base URL statements' IRIs are built under
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(Text)  # the outcome, as the review page says it
    error: Mapped[str | None] = mapped_column(Text)  # why it failed, for staff (never a traceback)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> int:
        return 100 if self.state == JobState.DONE.value else (100 * self.done // self.total if self.total else 0)


class RequestState(StrEnum):
    PENDING = "pending"  # waiting for the mentor until `expires_at`; holds one of the mentor's places
    ACCEPTED = "accepted"  # by the mentor, or approved by staff: `match_id` is the published match
    DECLINED = "declined"  # by the mentor: the pair is never suggested again
    EXPIRED = "expired"  # unanswered by `expires_at`
    CANCELLED = "cancelled"  # by staff


PENDING_ONLY = text("state = 'pending'")


class MentorRequest(db.Model):  # type: ignore[name-defined,misc]
    """Two-sided self-match: a mentee asks one of their suggested mentors, who accepts or declines by a deadline.

    A pending request counts against the mentor's capacity, so a popular mentor stops being suggested once
    their places are spoken for; declining or expiry gives the place back."""

    __tablename__ = "mentor_request"
    __table_args__ = (
        # One request waiting per mentee: asking another mentor means waiting for an answer (or the deadline).
        Index(
            "uq_mentor_request_pending_mentee",
            "mentee_id",
            unique=True,
            sqlite_where=PENDING_ONLY,
            postgresql_where=PENDING_ONLY,
        ),
        Index("ix_mentor_request_program_state", "program_id", "state", "expires_at"),
        # The jobs worker's round looks for waiting requests past their deadline in every program.
        Index("ix_mentor_request_due", "expires_at", sqlite_where=PENDING_ONLY, postgresql_where=PENDING_ONLY),
        Index("ix_mentor_request_mentor_state", "mentor_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=RequestState.PENDING.value)
    # The suggestion as the mentee saw it, so the mentor sees why they were asked.
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tool_base: Mapped[str] = mapped_column(String(1000))  # the public base URL statements' IRIs are built under
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who answered: the mentor's membership, or the staff member who stepped in.
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("mentor_match.id", ondelete="SET NULL"))

    mentor: Mapped[Participant] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Participant] = relationship(foreign_keys=[mentee_id])
    answered_by: Mapped[Membership | None] = relationship()
    match: Mapped[Match | None] = relationship()
