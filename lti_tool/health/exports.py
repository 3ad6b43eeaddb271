"""CSV exports of a program for its staff: sessions, goals, assessment ratings and survey answers, one file each.

The privacy rules of the pages hold here too: private notes are never read. Cells that a spreadsheet would run as
a formula (starting with = + - @, a tab or a carriage return) are prefixed with a quote.

Each export streams: the header line leaves before any query runs, then rows as the database hands them over.
Names are joined into the queries; what a row lists (a session's responses, a goal's milestones, a pair's members)
comes from a second query sorted the same way and merged as the rows pass. So an export runs the same few
statements and holds the same few rows in memory, whatever the program's size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import aliased

from lti_tool.assessments.models import AssessmentRound, SkillAssessment, SkillRating
from lti_tool.assessments.services import program_rounds
from lti_tool.courses.models import Membership, User, person_name
from lti_tool.extensions import db
from lti_tool.health.services import members_text
from lti_tool.mentoring.models import (
    ActionItem,
    Goal,
    GoalComment,
    MentoringSession,
    Milestone,
    Relationship,
    RelationshipMember,
    SessionRating,
    SessionResponse,
)
from lti_tool.programs.models import Participant, Program
from lti_tool.surveys.models import Survey, SurveyResponse
from lti_tool.surveys.questions import Question, answer_code, answer_text, parse_questions

Cell = str | int | float
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> Cell:
    """A value as a CSV cell: numbers stay numbers, times are ISO 8601 in UTC, text that a spreadsheet would
    evaluate gets a leading quote so it is shown as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


ROWS_PER_CHUNK = 500  # rows written per chunk sent: a few tens of kilobytes
STREAMED = {"yield_per": 1000}  # rows fetched at a time: a server-side cursor on PostgreSQL


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header line at once, then the rows a chunk at a time; `rows` is only read as the response is sent.

    The view's database session is gone by then (Flask tears the app context down when the view returns, and
    `stream_with_context` pushes it again for the rows): `rows` must take ids and plain values, not ORM objects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        if count % ROWS_PER_CHUNK == 1:  # the first chunk holds the header: it leaves before any query runs
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        writer.writerow([cell(value) for value in row])
    yield buffer.getvalue()


@dataclass(frozen=True)
class Export:
    name: str  # in the URL and the file name
    title: str
    explanation: str
    build: Callable[[Program], Iterator[str]]


class _Person:
    """A participant's name columns, joined into an export's query (no lookup per row)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.participant, self.membership, self.user = aliased(Participant), aliased(Membership), aliased(User)

    @property
    def columns(self) -> tuple[Any, ...]:
        return (
            self.user.name.label(f"{self.label}_name"),
            self.user.given_name.label(f"{self.label}_given"),
            self.user.family_name.label(f"{self.label}_family"),
        )

    def join(self, statement: Select[Any], participant_id: Any) -> Select[Any]:
        return (
            statement.join(self.participant, self.participant.id == participant_id)
            .join(self.membership, self.membership.id == self.participant.membership_id)
            .join(self.user, self.user.id == self.membership.user_id)
        )

    def name(self, row: Row[Any]) -> str:
        return person_name(*(getattr(row, f"{self.label}_{part}") for part in ("name", "given", "family")))


class _Groups:
    """Rows of a second query sorted like an export's main query, handed out group by group as the main rows pass
    (a merge join in Python): both stream, so memory stays the same whatever the number of rows."""

    def __init__(self, rows: Iterable[Row[Any]], width: int) -> None:
        self._rows = iter(rows)
        self._width = width  # the leading columns that hold the sort key
        self._next = next(self._rows, None)
        self._key: tuple[Any, ...] | None = None
        self._group: list[Row[Any]] = []

    def of(self, key: tuple[Any, ...]) -> list[Row[Any]]:
        if key != self._key:
            group = []
            while self._next is not None and (found := tuple(self._next[: self._width])) <= key:
                if found == key:
                    group.append(self._next)
                self._next = next(self._rows, None)
            self._key, self._group = key, group
        return self._group


def _stream(statement: Select[Any]) -> Iterable[Row[Any]]:
    return db.session.execute(statement, execution_options=STREAMED)


def _pair_members(program_id: int) -> _Groups:
    """Who is in each pair, by relationship id, as `health.services.members_text` words it."""
    person = _Person("member")
    statement = person.join(
        select(RelationshipMember.relationship_id, RelationshipMember.role, *person.columns).join(
            Relationship, Relationship.id == RelationshipMember.relationship_id
        ),
        RelationshipMember.participant_id,
    )
    return _Groups(
        _stream(
            statement.where(Relationship.program_id == program_id).order_by(
                RelationshipMember.relationship_id, RelationshipMember.id
            )
        ),
        1,
    )


def _members_text(members: _Groups, relationship_id: int) -> str:
    return members_text(
        (person_name(r.member_name, r.member_given, r.member_family), r.role) for r in members.of((relationship_id,))
    )


def sessions_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "session_id", "logged_by", "started_at_utc", "entered_time_zone",
        "duration_minutes", "format", "topics", "skills", "shared_notes", "status", "responses", "ratings",
        "action_items",
    )  # fmt: skip
    return csv_chunks(header, _session_rows(program.id))


def _session_rows(program_id: int) -> Iterator[tuple[object, ...]]:
    order = (MentoringSession.relationship_id, MentoringSession.started_at, MentoringSession.id)

    def of_sessions(*columns: Any, person: _Person, participant_id: Any, own_id: Any, model: Any) -> _Groups:
        statement = select(*order, *columns, *person.columns).join(MentoringSession, MentoringSession.id == model)
        statement = person.join(statement.join(Relationship, Relationship.id == MentoringSession.relationship_id),
                                participant_id)  # fmt: skip
        return _Groups(_stream(statement.where(Relationship.program_id == program_id).order_by(*order, own_id)), 3)

    by = _Person("by")
    responses = of_sessions(SessionResponse.status, SessionResponse.reason, person=by,
                            participant_id=SessionResponse.participant_id, own_id=SessionResponse.id,
                            model=SessionResponse.session_id)  # fmt: skip
    ratings = of_sessions(SessionRating.rating, SessionRating.comment, person=by,
                          participant_id=SessionRating.participant_id, own_id=SessionRating.id,
                          model=SessionRating.session_id)  # fmt: skip
    items = of_sessions(ActionItem.text, ActionItem.due_on, ActionItem.done_at, person=by,
                        participant_id=ActionItem.owner_id, own_id=ActionItem.id,
                        model=ActionItem.session_id)  # fmt: skip
    members = _pair_members(program_id)
    logger = _Person("logger")
    sessions = logger.join(
        select(*order, MentoringSession.timezone, MentoringSession.duration_minutes, MentoringSession.format,
               MentoringSession.topics, MentoringSession.skill_keys, MentoringSession.shared_notes,
               MentoringSession.status, *logger.columns)
        .join(Relationship, Relationship.id == MentoringSession.relationship_id),
        MentoringSession.logged_by_id,
    )  # fmt: skip
    for s in _stream(sessions.where(Relationship.program_id == program_id).order_by(*order)):
        key = (s.relationship_id, s.started_at, s.id)
        yield (
            s.relationship_id,
            _members_text(members, s.relationship_id),
            s.id,
            logger.name(s),
            s.started_at,
            s.timezone,
            s.duration_minutes,
            s.format,
            s.topics,
            "; ".join(s.skill_keys or []),
            s.shared_notes,
            s.status,
            " | ".join(f"{by.name(r)}: {r.status}" + (f" ({r.reason})" if r.reason else "") for r in responses.of(key)),
            " | ".join(
                f"{by.name(r)}: {r.rating}/5" + (f" ({r.comment})" if r.comment else "") for r in ratings.of(key)
            ),
            " | ".join(
                f"{by.name(i)}: {i.text}"
                + (f" (due {i.due_on.isoformat()})" if i.due_on else "")
                + (" [done]" if i.done_at else "")
                for i in items.of(key)
            ),
        )


def goals_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "goal_id", "owner", "title", "skill", "measure", "target_on", "status",
        "progress_percent", "created_at_utc", "completed_at_utc", "milestones_done", "milestones_total", "milestones",
        "comments",
    )  # fmt: skip
    return csv_chunks(header, _goal_rows(program.id, _skill_names(program)))


def _goal_rows(program_id: int, skills: dict[str, str]) -> Iterator[tuple[object, ...]]:
    order = (Goal.relationship_id, Goal.id)
    in_program = Relationship.program_id == program_id
    milestones = _Groups(
        _stream(
            select(*order, Milestone.title, Milestone.done_at)
            .join(Goal, Goal.id == Milestone.goal_id)
            .join(Relationship, Relationship.id == Goal.relationship_id)
            .where(in_program)
            .order_by(*order, Milestone.id)
        ),
        2,
    )
    author = _Person("author")
    comments = _Groups(
        _stream(
            author.join(
                select(*order, GoalComment.text, *author.columns)
                .join(Goal, Goal.id == GoalComment.goal_id)
                .join(Relationship, Relationship.id == Goal.relationship_id),
                GoalComment.author_id,
            )
            .where(in_program)
            .order_by(*order, GoalComment.id)
        ),
        2,
    )
    members = _pair_members(program_id)
    owner = _Person("owner")
    goals = owner.join(
        select(*order, Goal.title, Goal.skill_key, Goal.measure, Goal.target_on, Goal.status, Goal.progress,
               Goal.created_at, Goal.completed_at, *owner.columns)
        .join(Relationship, Relationship.id == Goal.relationship_id),
        Goal.owner_id,
    )  # fmt: skip
    for g in _stream(goals.where(in_program).order_by(*order)):
        steps = milestones.of((g.relationship_id, g.id))
        yield (
            g.relationship_id,
            _members_text(members, g.relationship_id),
            g.id,
            owner.name(g),
            g.title,
            skills.get(g.skill_key, g.skill_key) if g.skill_key else "",
            g.measure,
            g.target_on,
            g.status,
            g.progress,
            g.created_at,
            g.completed_at,
            sum(1 for m in steps if m.done_at),
            len(steps),
            " | ".join(f"{m.title}" + (" [done]" if m.done_at else "") for m in steps),
            " | ".join(f"{author.name(c)}: {c.text}" for c in comments.of((g.relationship_id, g.id))),
        )


def assessments_csv(program: Program) -> Iterator[str]:
    """One row per rating: round, learner, rater, skill, level."""
    header = (
        "round", "round_kind", "round_order", "learner", "rater", "rater_role", "submitted_at_utc", "skill_key",
        "skill", "level", "assessment_comment",
    )  # fmt: skip
    rounds = {r.id: (order, r.title, r.kind) for order, r in enumerate(program_rounds(program), 1)}
    return csv_chunks(header, _assessment_rows(program.id, rounds, _skill_names(program)))


def _assessment_rows(
    program_id: int, rounds: dict[int, tuple[int, str, str]], skills: dict[str, str]
) -> Iterator[tuple[object, ...]]:
    learner = _Person("learner")
    rater = aliased(User)
    statement = learner.join(
        select(SkillAssessment.round_id, SkillAssessment.rater_role, SkillAssessment.submitted_at,
               SkillAssessment.comment, SkillRating.skill_key, SkillRating.level,
               rater.name.label("rater_name"), rater.given_name.label("rater_given"),
               rater.family_name.label("rater_family"), *learner.columns)
        .join(SkillAssessment, SkillAssessment.id == SkillRating.assessment_id)
        .join(AssessmentRound, AssessmentRound.id == SkillAssessment.round_id)
        .join(Membership, Membership.id == SkillAssessment.rater_id)
        .join(rater, rater.id == Membership.user_id),
        SkillAssessment.subject_id,
    ).where(AssessmentRound.program_id == program_id)  # fmt: skip
    for r in _stream(
        statement.order_by(AssessmentRound.position, AssessmentRound.id, SkillAssessment.subject_id,
                           SkillAssessment.id, SkillRating.id)
    ):  # fmt: skip
        order, title, kind = rounds[r.round_id]
        yield (
            title,
            kind,
            order,
            learner.name(r),
            person_name(r.rater_name, r.rater_given, r.rater_family),
            r.rater_role,
            r.submitted_at,
            r.skill_key,
            skills.get(r.skill_key, r.skill_key),
            r.level,
            r.comment,
        )


def survey_answers_csv(program: Program) -> Iterator[str]:
    """One row per answer: survey, participant, question, the answer as read and its code."""
    header = (
        "survey_id", "survey", "kind", "participant", "submitted_at_utc", "question_key", "question", "answer",
        "answer_code",
    )  # fmt: skip
    surveys = {
        s.id: (s.title, s.kind, parse_questions(s.questions))
        for s in db.session.execute(select(Survey).where(Survey.program_id == program.id).order_by(Survey.id)).scalars()
    }
    return csv_chunks(header, _survey_rows(program.id, surveys))


def _survey_rows(program_id: int, surveys: dict[int, tuple[str, str, list[Question]]]) -> Iterator[tuple[object, ...]]:
    answerer = _Person("answerer")
    responses = answerer.join(
        select(SurveyResponse.survey_id, SurveyResponse.submitted_at, SurveyResponse.answers, *answerer.columns)
        .join(Survey, Survey.id == SurveyResponse.survey_id),
        SurveyResponse.participant_id,
    ).where(Survey.program_id == program_id)  # fmt: skip
    for r in _stream(responses.order_by(SurveyResponse.survey_id, SurveyResponse.id)):
        title, kind, questions = surveys[r.survey_id]
        name = answerer.name(r)
        for q in questions:
            if r.answers.get(q.key) is not None:
                yield (
                    r.survey_id,
                    title,
                    kind,
                    name,
                    r.submitted_at,
                    q.key,
                    q.text,
                    answer_text(q, r.answers[q.key]),
                    answer_code(q, r.answers[q.key]),
                )


def _skill_names(program: Program) -> dict[str, str]:
    return {s.key: s.name for s in program.skills}


EXPORTS = {
    export.name: export
    for export in (
        Export("sessions", "Sessions", "One row per logged session: shared notes, responses, ratings, action items.",
               sessions_csv),
        Export("goals", "Goals", "One row per goal: status, progress, milestones and comments.", goals_csv),
        Export("assessments", "Assessments", "One row per skill rating: round, learner, rater, skill and level.",
               assessments_csv),
        Export("survey-answers", "Survey answers", "One row per answer, written answers included.",
               survey_answers_csv),
    )
}  # fmt: skip
