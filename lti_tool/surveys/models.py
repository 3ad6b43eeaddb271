"""Program feedback: survey rounds (mid-program, end of program) and participants' answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.programs.models import Participant, Program


class SurveyKind(StrEnum):
    MID = "mid"
    END = "end"


MAX_TITLE = 120
KIND_LABELS = {SurveyKind.MID.value: "Mid-program check-in", SurveyKind.END.value: "End of program"}


class Survey(db.Model):  # type: ignore[name-defined,misc]
    """A survey of a program, with its own copy of the questions so later config changes never alter answers."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship()


class SurveyResponse(db.Model):  # type: ignore[name-defined,misc]
    """One participant's answers to one survey (question key -> answer); changeable while the survey is open."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("survey_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 1 for the first answer, +1 for each change: keys the `answered` statement of each version (a change voids
    # the previous version's statement in the LRS).
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    survey: Mapped[Survey] = relationship()
    participant: Mapped[Participant] = relationship()
