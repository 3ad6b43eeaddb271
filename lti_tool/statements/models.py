"""The statement outbox (written in the transaction of the change it records) and where statements go."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.extensions import UTCDateTime, db, utcnow


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or for an LRS to be configured)
    DELIVERING = "delivering"  # claimed by a worker until `claimed_until`; reclaimed after that
    DELIVERED = "delivered"
    DEAD = "dead"  # the LRS refused it as invalid or conflicting: resending the same bytes will not help


class StatementOutbox(db.Model):  # type: ignore[name-defined,misc]
    """One xAPI statement, its canonical bytes fixed when the event happened, and its delivery state."""

    __tablename__ = "statement_outbox"
    # Delivery claims pending rows in the order they became due (ties: outbox order) straight from this index;
    # a course's counts by state (its statements page, a large course's 100,000 rows) come from the second.
    __table_args__ = (
        Index("ix_statement_outbox_due", "state", "next_attempt_at", "id"),
        Index("ix_statement_outbox_course_state", "course_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platform.id", ondelete="SET NULL"), index=True)
    # Indexed by ix_statement_outbox_course_state, whose first column it is.
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class LrsEndpoint(db.Model):  # type: ignore[name-defined,misc]
    """An LRS to deliver to: for one platform's statements, or (platform_id NULL) shared with all platforms that
    have none of their own (configured so explicitly: `lrs add --all-platforms`)."""

    __tablename__ = "lrs_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), unique=True)
    endpoint: Mapped[str] = mapped_column(String(1000))
    username: Mapped[str] = mapped_column(String(500))
    password: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LrsStatus(db.Model):  # type: ignore[name-defined,misc]
    """What delivery last saw from an LRS (by endpoint URL, wherever it was configured)."""

    __tablename__ = "lrs_status"

    endpoint: Mapped[str] = mapped_column(String(1000), primary_key=True)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
