"""Queueing a graded round's scores for the LMS gradebook, and what the instructor's page shows of them.

A score is queued in the transaction that changes it (a submission, a change of the round's grading), so it is
never lost; `gradebook.delivery` posts it later. One outbox row per learner and column holds the latest score:
a change overwrites it, bumps its version and gives it a new timestamp, so the LMS always ends with the newest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, or_, select

from lti_tool.assessments.models import AssessmentRound
from lti_tool.courses.models import Course
from lti_tool.extensions import db, upsert
from lti_tool.gradebook.models import GradebookColumn, ScoreOutbox, ScoreState
from lti_tool.lti.tool_configuration import AGS_SCORE
from lti_tool.programs.models import Participant


class Activity(StrEnum):
    """AGS activityProgress values the tool sends."""

    IN_PROGRESS = "InProgress"  # others rated the mentee, who has not assessed themself yet
    COMPLETED = "Completed"  # the mentee's self-assessment is in


class Grading(StrEnum):
    """AGS gradingProgress values the tool sends."""

    FULLY_GRADED = "FullyGraded"  # the round's grade rule gives a score
    NOT_READY = "NotReady"  # no score yet under the rule (e.g. completion without a self-assessment)


@dataclass(frozen=True)
class ScoreValues:
    """A learner's score in a graded round, as the LMS receives it."""

    score_given: float | None
    score_maximum: float
    activity: Activity

    @property
    def grading(self) -> Grading:
        return Grading.NOT_READY if self.score_given is None else Grading.FULLY_GRADED


def column_for(round_: AssessmentRound) -> GradebookColumn:
    """The round's gradebook column in its course, made on first use (its LMS line item is found on delivery)."""
    course_id = round_.program.course_id
    db.session.execute(
        upsert(GradebookColumn)
        .values(course_id=course_id, round_id=round_.id, label=round_.title, score_maximum=100.0)
        .on_conflict_do_nothing(index_elements=["course_id", "round_id"])
    )
    return db.session.execute(
        select(GradebookColumn).where(GradebookColumn.course_id == course_id, GradebookColumn.round_id == round_.id)
    ).scalar_one()


def queue_score(
    round_: AssessmentRound, subject: Participant, values: ScoreValues | None, *, now: datetime, again: bool = False
) -> None:
    """Queue the mentee's score for the LMS when it changed (or always, `again`: a resync). Nothing for an
    ungraded round, nor while a mentee without a queued score has none (there is nothing to clear)."""
    if not round_.graded:
        return
    column = column_for(round_)
    current = db.session.execute(
        select(ScoreOutbox).where(
            ScoreOutbox.column_id == column.id, ScoreOutbox.membership_id == subject.membership_id
        )
    ).scalar_one_or_none()
    if values is None:
        if current is None:
            return
        values = ScoreValues(None, current.score_maximum, Activity(current.activity_progress))
    fields = {
        "score_given": values.score_given,
        "score_maximum": values.score_maximum,
        "activity_progress": values.activity.value,
        "grading_progress": values.grading.value,
    }
    if current is not None and not again and all(getattr(current, k) == v for k, v in fields.items()):
        return
    queued = {
        **fields,
        "scored_at": now,
        "state": ScoreState.PENDING.value,
        "next_attempt_at": now,
        "attempts": 0,
        "last_error": None,
    }
    # One statement for a first score and a change alike; the version is bumped in SQL, so two submissions at
    # once (a mentee and their mentor) each get their own version and the later one is the one delivered.
    statement = upsert(ScoreOutbox).values(column_id=column.id, membership_id=subject.membership_id, **queued)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["column_id", "membership_id"],
            set_={**queued, "version": ScoreOutbox.version + 1},
        )
    )
    if current is not None:
        db.session.expire(current)


# --- What the instructor sees -------------------------------------------------------------------------------------


def service_problem(course: Course) -> str | None:
    """Why the course's scores cannot go to the LMS now, or None."""
    if not course.ags_lineitems_url:
        return (
            "The LMS has not offered its gradebook service in this course yet: scores wait, and are sent within "
            "5 minutes of the next launch from the course that brings it (ask the LMS administrator to allow the "
            "Assignment and Grade Services if this stays)."
        )
    if AGS_SCORE not in course.ags_scopes:
        return "The LMS does not let the tool post scores in this course: ask its administrator to allow it."
    return None


class Standing(StrEnum):
    """Whether the LMS gradebook has a learner's latest score."""

    IN_GRADEBOOK = "in-gradebook"
    SENDING = "sending"  # queued or being sent, not failed yet
    RETRYING = "retrying"  # the LMS failed; tried again later
    REFUSED = "refused"  # the LMS refused it for good: a resync sends it again after a fix


@dataclass(frozen=True)
class ScoreStatus:
    standing: Standing
    score_given: float | None
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


def _standing(row: ScoreOutbox) -> Standing:
    if row.state == ScoreState.DEAD.value:
        return Standing.REFUSED
    if row.delivered_version == row.version:
        return Standing.IN_GRADEBOOK
    return Standing.RETRYING if row.attempts or row.last_error else Standing.SENDING


def round_statuses(round_: AssessmentRound, subjects: Iterable[Participant]) -> dict[int, ScoreStatus]:
    """Participant id -> where their score stands, for the mentees who have one queued in the round's course."""
    by_membership = {subject.membership_id: subject.id for subject in subjects}
    rows = db.session.execute(
        select(ScoreOutbox)
        .join(GradebookColumn, GradebookColumn.id == ScoreOutbox.column_id)
        .where(
            GradebookColumn.round_id == round_.id,
            GradebookColumn.course_id == round_.program.course_id,
            ScoreOutbox.membership_id.in_(by_membership),
        )
    ).scalars()
    return {
        by_membership[row.membership_id]: ScoreStatus(
            standing=_standing(row),
            score_given=row.score_given,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            last_error=row.last_error,
        )
        for row in rows
    }


def waiting_count(course_id: int) -> int:
    """Scores of the course the LMS does not have in their latest version (the manage page's warning)."""
    return db.session.execute(
        select(func.count(ScoreOutbox.id))
        .join(GradebookColumn, GradebookColumn.id == ScoreOutbox.column_id)
        .where(
            GradebookColumn.course_id == course_id,
            or_(ScoreOutbox.delivered_version.is_(None), ScoreOutbox.delivered_version != ScoreOutbox.version),
        )
    ).scalar_one()
