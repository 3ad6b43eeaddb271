"""Matching jobs: a run of matching or a publish of a large program, done by a jobs worker with its progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.extensions import UTCDateTime, db, utcnow


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
