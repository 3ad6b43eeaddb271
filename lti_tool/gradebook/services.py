"""Queueing a graded round's scores for the LMS gradebook, and what the instructor's page shows of them.

A score is queued in the transaction that changes it (a submission, a change of the round's grading), so it is
never lost; `gradebook.delivery` posts it later. One outbox row per learner and column holds the latest score:
a change overwrites it, bumps its version and gives it a later timestamp, so the LMS always ends with the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, insert, or_, select, update

from lti_tool.assessments.growth import SCORE_MAXIMUM
from lti_tool.assessments.models import AssessmentRound
from lti_tool.courses.models import Course
from lti_tool.extensions import db, upsert
from lti_tool.gradebook.models import GradebookColumn, ScoreOutbox, ScoreState
from lti_tool.lti.tool_configuration import AGS_SCORE
from lti_tool.programs.models import Participant

TIMESTAMP_STEP = timedelta(seconds=1)


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


def lock_for_scoring(round_: AssessmentRound, mentees: ColumnElement[bool]) -> dict[int, int]:
    """Take, before mentees' scores are computed, what a change of them needs, and return the mentees (the
    participants `mentees` selects: id -> membership id, not whole rows with their profiles). Every caller takes
    them in this order (round, column, mentees by id), so that they wait for each other and never for each other
    in a circle. PostgreSQL only: SQLite serialises writers anyway. One statement each, however many mentees (a
    resync locks a round's 10,000 at once).

    - The round, read again under a share lock: a change of its grading under way is waited for, then seen.
    - Its gradebook column, when graded, made now: never while a mentee's lock is held.
    - The mentees' locks: two people submitting about one mentee at once (the mentee and their mentor), or a
      submission during a resync, are serialised, the second computing the score from both submissions. NO KEY
      UPDATE does not conflict with the key-share locks of rows that reference the participant.
    """
    db.session.execute(
        select(AssessmentRound)
        .where(AssessmentRound.id == round_.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).scalar_one()  # fetched, so that round_ is refreshed
    if round_.graded:
        column_for(round_)
    locked = db.session.execute(
        select(Participant.id, Participant.membership_id)
        .where(mentees)
        .order_by(Participant.id)
        .with_for_update(key_share=True)
    )
    return dict(locked.tuples().all())


def column_for(round_: AssessmentRound) -> GradebookColumn:
    """The round's gradebook column in its course, made on first use (its LMS line item is found on delivery)."""
    course_id = round_.program.course_id
    db.session.execute(
        upsert(GradebookColumn)
        .values(course_id=course_id, round_id=round_.id, label=round_.title, score_maximum=SCORE_MAXIMUM)
        .on_conflict_do_nothing(index_elements=["course_id", "round_id"])
    )
    return db.session.execute(
        select(GradebookColumn).where(GradebookColumn.course_id == course_id, GradebookColumn.round_id == round_.id)
    ).scalar_one()


def queue_scores(
    round_: AssessmentRound,
    mentees: ColumnElement[bool],
    scores: Mapping[int, ScoreValues | None],
    *,
    now: datetime,
    again: bool = False,
) -> None:
    """Queue the scores (membership id -> score) of the `mentees` for the LMS where they changed (or all of them,
    `again`: a resync), in a constant number of statements however many they are. Nothing for an ungraded round,
    nor for a mentee without a queued score who has none (there is nothing to clear). The caller holds
    `lock_for_scoring(round_, mentees)` since before it computed `scores`.

    Each change is a new version whose timestamp is later than the previous version's by at least a second:
    Moodle compares timestamps in whole seconds and refuses a score not newer than the one it holds. A version
    whose timestamp is ahead of the clock (changes less than a second apart) waits for it before it is sent.
    """
    if not round_.graded:
        return
    column = column_for(round_)
    # Locked and read again: a worker settling one of these rows meanwhile is waited for (its claim skips them).
    current = db.session.execute(
        select(ScoreOutbox.id, ScoreOutbox.membership_id, ScoreOutbox.version, ScoreOutbox.scored_at, *_FIELDS)
        .where(
            ScoreOutbox.column_id == column.id,
            ScoreOutbox.membership_id.in_(select(Participant.membership_id).where(mentees)),
        )
        .order_by(ScoreOutbox.id)
        .with_for_update(key_share=True)
    ).all()
    changed = []
    for row in current:
        if row.membership_id not in scores:
            continue
        values = scores[row.membership_id]
        fields = _fields(values or ScoreValues(None, row.score_maximum, Activity(row.activity_progress)))
        if not again and all(getattr(row, name) == value for name, value in fields.items()):
            continue
        scored_at = max(now, row.scored_at + TIMESTAMP_STEP)
        changed.append(
            {
                "id": row.id,
                **fields,
                "version": row.version + 1,
                "scored_at": scored_at,
                "state": ScoreState.PENDING.value,
                # Never sent before its own timestamp: Canvas accepts a score whose timestamp is after its last
                # update of the result, by its clock, so a version stepped ahead of the clock and sent late (by
                # a worker that lost its lease) could otherwise replace a newer one already there.
                "next_attempt_at": scored_at,
                "attempts": 0,
                "lease_until": None,
                "last_error": None,
            }
        )
    if changed:
        db.session.execute(update(ScoreOutbox), changed)  # by primary key: one executemany
    queued = {row.membership_id for row in current}
    new = [
        {
            "column_id": column.id,
            "membership_id": membership_id,
            **_fields(values),
            "scored_at": now,
            "version": 1,
            "state": ScoreState.PENDING.value,
            "next_attempt_at": now,
            "attempts": 0,
        }
        for membership_id, values in scores.items()
        if values is not None and membership_id not in queued
    ]
    if new:
        db.session.execute(insert(ScoreOutbox), new)


_FIELDS = (
    ScoreOutbox.score_given,
    ScoreOutbox.score_maximum,
    ScoreOutbox.activity_progress,
    ScoreOutbox.grading_progress,
)


def _fields(values: ScoreValues) -> dict[str, object]:
    return {
        "score_given": values.score_given,
        "score_maximum": values.score_maximum,
        "activity_progress": values.activity.value,
        "grading_progress": values.grading.value,
    }


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


def _waiting() -> ColumnElement[bool]:
    """A score the LMS does not have in its latest version."""
    return or_(ScoreOutbox.delivered_version.is_(None), ScoreOutbox.delivered_version != ScoreOutbox.version)


def waiting_count(course_id: int, *, round_id: int | None = None) -> int:
    """Scores of the course (or of one of its rounds) the LMS does not have yet (the pages' warnings)."""
    found = (
        select(func.count(ScoreOutbox.id))
        .join(GradebookColumn, GradebookColumn.id == ScoreOutbox.column_id)
        .where(GradebookColumn.course_id == course_id, _waiting())
    )
    if round_id is not None:
        found = found.where(GradebookColumn.round_id == round_id)
    return db.session.execute(found).scalar_one()


def waiting_memberships(round_: AssessmentRound) -> Select[tuple[int]]:
    """The memberships whose score in the round the LMS does not have yet (the round page's filter)."""
    return (
        select(ScoreOutbox.membership_id)
        .join(GradebookColumn, GradebookColumn.id == ScoreOutbox.column_id)
        .where(GradebookColumn.round_id == round_.id, GradebookColumn.course_id == round_.program.course_id, _waiting())
    )
