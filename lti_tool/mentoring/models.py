"""Mentoring relationships after matching: members and their agreement, logged sessions, goals and check-ins.

Relationships are attributes here (`session.relationship`), so the ORM function is spelled `orm.relationship`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, orm
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.programs.models import Participant, Program


class MemberRole(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"
    PEER = "peer"  # peer programs: both mentor and mentee of each other


class Relationship(db.Model):  # type: ignore[name-defined,misc]
    """The people one published match (or several, in group and peer programs) brings together.

    One-on-one and reverse: a mentor and a mentee. Group: a mentor and every mentee published with them.
    Peer: the two peers, whichever direction their matches run. Its pages are the "pair page".
    """

    __tablename__ = "mentoring_relationship"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    program: Mapped[Program] = orm.relationship()
    members: Mapped[list[RelationshipMember]] = orm.relationship(
        back_populates="relationship", order_by="RelationshipMember.id", cascade="all, delete-orphan"
    )

    def counterpart_of(self, member: RelationshipMember) -> RelationshipMember:
        """Whom a member's statements name as context.instructor: their mentor, or for a mentor or a peer the
        first other active member (or, once everyone left, the first other member)."""
        others = [m for m in self.members if m.id != member.id]
        active = [m for m in others if m.left_at is None] or others
        mentors = [m for m in active if m.role == MemberRole.MENTOR.value]
        return (mentors or active or [member])[0]


class RelationshipMember(db.Model):  # type: ignore[name-defined,misc]
    """A participant's place in a relationship, with their acceptance of the program's agreement."""

    __tablename__ = "relationship_member"
    __table_args__ = (UniqueConstraint("relationship_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("mentoring_relationship.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # their match ended; history stays
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Their own pair-specific expectations, added when accepting (or later); the other members see them.
    expectations: Mapped[str] = mapped_column(Text, default="", server_default="")

    relationship: Mapped[Relationship] = orm.relationship(back_populates="members")
    participant: Mapped[Participant] = orm.relationship()
    expectations_changes: Mapped[list[ExpectationsChange]] = orm.relationship(
        order_by="ExpectationsChange.id", cascade="all, delete-orphan"
    )


class ExpectationsChange(db.Model):  # type: ignore[name-defined,misc]
    """A member's expectations as they set them at `changed_at`: what a member who left the pair before a later
    change still sees (`PairAccess.as_it_was`)."""

    __tablename__ = "expectations_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("relationship_member.id", ondelete="CASCADE"), index=True)
    expectations: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionFormat(StrEnum):
    IN_PERSON = "in-person"
    VIDEO = "video"
    PHONE = "phone"
    CHAT = "chat"


class SessionStatus(StrEnum):
    LOGGED = "logged"  # waiting for the other party
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class MentoringSession(db.Model):  # type: ignore[name-defined,misc]
    """A mentoring meeting one member logged; the others confirm or dispute it. Edits keep revisions."""

    __tablename__ = "mentoring_session"
    # A pair's sessions by relationship, with what program health adds up of each (status, start, duration): its
    # per-pair figures and weekly hours read the index alone, not 20,000 rows of notes and topics.
    __table_args__ = (
        Index("ix_mentoring_session_pair_figures", "relationship_id", "status", "started_at", "duration_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by ix_mentoring_session_pair_figures, whose first column it is.
    relationship_id: Mapped[int] = mapped_column(ForeignKey("mentoring_relationship.id", ondelete="CASCADE"))
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # UTC
    timezone: Mapped[str] = mapped_column(String(64))  # the zone it was entered in, to show it back that way
    duration_minutes: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    topics: Mapped[str] = mapped_column(Text, default="")
    skill_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    shared_notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.LOGGED.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    relationship: Mapped[Relationship] = orm.relationship()
    logged_by: Mapped[Participant] = orm.relationship()


class SessionRevision(db.Model):  # type: ignore[name-defined,misc]
    """A session's shared fields as they were before an edit: the edit history both parties can read."""

    __tablename__ = "session_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    edited_by_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)

    edited_by: Mapped[Participant] = orm.relationship()


class SessionResponse(db.Model):  # type: ignore[name-defined,misc]
    """Another member's answer to a logged session: confirmed, or disputed with a reason."""

    __tablename__ = "session_response"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # confirmed | disputed
    reason: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant] = orm.relationship()


class SessionRating(db.Model):  # type: ignore[name-defined,misc]
    """A member's 1-5 rating of a session, with an optional comment the other members see."""

    __tablename__ = "session_rating"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    participant: Mapped[Participant] = orm.relationship()


class PrivateNote(db.Model):  # type: ignore[name-defined,misc]
    """A member's own note on a session: shown to its author only, never to the other party or to staff."""

    __tablename__ = "private_note"
    __table_args__ = (UniqueConstraint("session_id", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ActionItem(db.Model):  # type: ignore[name-defined,misc]
    """Something a member agreed to do after a session, with a due date."""

    __tablename__ = "action_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mentoring_session.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[Participant] = orm.relationship()
    changes: Mapped[list[ActionItemChange]] = orm.relationship(
        order_by="ActionItemChange.id", cascade="all, delete-orphan"
    )


class ActionItemChange(db.Model):  # type: ignore[name-defined,misc]
    """An action item ticked off (`done_at` set) or opened again (None) at `changed_at`: what a member who left the
    pair before a later tick still sees (`PairAccess.as_it_was`)."""

    __tablename__ = "action_item_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_item.id", ondelete="CASCADE"), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GoalStatus(StrEnum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    DROPPED = "dropped"


class Goal(db.Model):  # type: ignore[name-defined,misc]
    """A mentee's goal in a relationship: linked to a framework skill, measurable, with a target date."""

    __tablename__ = "mentoring_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("mentoring_relationship.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    skill_key: Mapped[str | None] = mapped_column(String(64))
    measure: Mapped[str] = mapped_column(Text)  # how both will know it is reached
    target_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=GoalStatus.NOT_STARTED.value)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    relationship: Mapped[Relationship] = orm.relationship()
    owner: Mapped[Participant] = orm.relationship()
    milestones: Mapped[list[Milestone]] = orm.relationship(
        order_by="Milestone.id", cascade="all, delete-orphan", back_populates="goal"
    )
    comments: Mapped[list[GoalComment]] = orm.relationship(
        order_by="GoalComment.id", cascade="all, delete-orphan", back_populates="goal"
    )
    progress_changes: Mapped[list[GoalProgressChange]] = orm.relationship(
        order_by="GoalProgressChange.id", cascade="all, delete-orphan"
    )


class GoalProgressChange(db.Model):  # type: ignore[name-defined,misc]
    """A goal's status and progress as one update left them at `changed_at`: what a member who left the pair
    before a later update still sees (`PairAccess.as_it_was`)."""

    __tablename__ = "goal_progress_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("mentoring_goal.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "goal_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("mentoring_goal.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    goal: Mapped[Goal] = orm.relationship(back_populates="milestones")
    changes: Mapped[list[MilestoneChange]] = orm.relationship(
        order_by="MilestoneChange.id", cascade="all, delete-orphan"
    )


class MilestoneChange(db.Model):  # type: ignore[name-defined,misc]
    """A milestone ticked off (`done_at` set) or back on (None) at `changed_at`: what a member who left the pair
    before a later tick still sees (`PairAccess.as_it_was`)."""

    __tablename__ = "milestone_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("goal_milestone.id", ondelete="CASCADE"), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GoalComment(db.Model):  # type: ignore[name-defined,misc]
    """A member's comment on a goal (usually the mentor's)."""

    __tablename__ = "goal_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("mentoring_goal.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    goal: Mapped[Goal] = orm.relationship(back_populates="comments")
    author: Mapped[Participant] = orm.relationship()


class CheckinRequest(db.Model):  # type: ignore[name-defined,misc]
    """A member asked the others for a check-in; answered when anyone logs the next session."""

    __tablename__ = "checkin_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("mentoring_relationship.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    relationship: Mapped[Relationship] = orm.relationship()
    requested_by: Mapped[Participant] = orm.relationship()
