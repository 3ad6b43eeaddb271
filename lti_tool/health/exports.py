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
from collections import defaultdict
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
    if type(value) is str:  # most cells: checked first, as exports write tens of thousands a second
        return "'" + value if value.startswith(FORMULA_STARTS) else value
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

    def written() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield written()  # alone, before `rows` runs its first query
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(value) for value in row])
        if count % ROWS_PER_CHUNK == 0:
            yield written()
    if buffer.tell():
        yield written()


@dataclass(frozen=True)
class Export:
    name: str  # in the URL and the file name
    title: str
    explanation: str
    build: Callable[[Program], Iterator[str]]


class _Person:
    """A participant's name columns, joined into an export's query (no lookup per row); they go last in the
    select, so that `name` reads them by position (the fastest way into a row)."""

    def __init__(self) -> None:
        self.participant, self.membership, self.user = aliased(Participant), aliased(Membership), aliased(User)

    @property
    def columns(self) -> tuple[Any, ...]:
        return self.user.name, self.user.given_name, self.user.family_name

    def join(self, statement: Select[Any], participant_id: Any) -> Select[Any]:
        return (
            statement.join(self.participant, self.participant.id == participant_id)
            .join(self.membership, self.membership.id == self.participant.membership_id)
            .join(self.user, self.user.id == self.membership.user_id)
        )

    @staticmethod
    def name(row: Row[Any]) -> str:
        return person_name(row[-3], row[-2], row[-1])


class _Groups:
    """Rows of a second query keyed by its first column, sorted like an export's main query, handed out group by
    group as the main rows pass (a merge join in Python): both stream, so memory stays the same whatever the
    number of rows. Every key of the second query is one the main rows visit, in the same order."""

    def __init__(self, rows: Iterable[Row[Any]]) -> None:
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def of(self, key: object) -> list[Row[Any]]:
        group = []
        while self._next is not None and self._next[0] == key:
            group.append(self._next)
            self._next = next(self._rows, None)
        return group


def _stream(statement: Select[Any]) -> Iterable[Row[Any]]:
    # On the session's connection without the ORM's row handling: plain tuples, a thousand at a time.
    return db.session.connection().execute(statement, execution_options=STREAMED)


def _pair_members(program_id: int) -> dict[int, str]:
    """Who is in each pair, by relationship id, as `health.services.members_text` words it: one query, a short
    text per pair (kept for the export: pairs are far fewer than its rows)."""
    person = _Person()
    statement = person.join(
        select(RelationshipMember.relationship_id, RelationshipMember.role, *person.columns).join(
            Relationship, Relationship.id == RelationshipMember.relationship_id
        ),
        RelationshipMember.participant_id,
    ).where(Relationship.program_id == program_id)
    members: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
    for row in _stream(statement.order_by(RelationshipMember.relationship_id, RelationshipMember.id)):
        members[row[0]].append((person.name(row), row[1]))
    return {relationship_id: members_text(found) for relationship_id, found in members.items()}


def sessions_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "session_id", "logged_by", "started_at_utc", "entered_time_zone",
        "duration_minutes", "format", "topics", "skills", "shared_notes", "status", "responses", "ratings",
        "action_items",
    )  # fmt: skip
    return csv_chunks(header, _session_rows(program.id))


def _session_rows(program_id: int) -> Iterator[tuple[object, ...]]:
    order = (MentoringSession.relationship_id, MentoringSession.started_at, MentoringSession.id)
    in_program = Relationship.program_id == program_id

    def of_sessions(session_id: Any, participant_id: Any, own_id: Any, *columns: Any) -> _Groups:
        """A session's responses, ratings or action items, with their author's name, in the sessions' order."""
        by = _Person()
        statement = (
            select(MentoringSession.id, *columns, *by.columns)
            .join(MentoringSession, MentoringSession.id == session_id)
            .join(Relationship, Relationship.id == MentoringSession.relationship_id)
        )
        return _Groups(_stream(by.join(statement, participant_id).where(in_program).order_by(*order, own_id)))

    responses = of_sessions(SessionResponse.session_id, SessionResponse.participant_id, SessionResponse.id,
                            SessionResponse.status, SessionResponse.reason)  # fmt: skip
    ratings = of_sessions(SessionRating.session_id, SessionRating.participant_id, SessionRating.id,
                          SessionRating.rating, SessionRating.comment)  # fmt: skip
    items = of_sessions(ActionItem.session_id, ActionItem.owner_id, ActionItem.id,
                        ActionItem.text, ActionItem.due_on, ActionItem.done_at)  # fmt: skip
    members = _pair_members(program_id)
    logger = _Person()
    sessions = logger.join(
        select(*order, MentoringSession.timezone, MentoringSession.duration_minutes, MentoringSession.format,
               MentoringSession.topics, MentoringSession.skill_keys, MentoringSession.shared_notes,
               MentoringSession.status, *logger.columns)
        .join(Relationship, Relationship.id == MentoringSession.relationship_id),
        MentoringSession.logged_by_id,
    )  # fmt: skip
    name = _Person.name
    for s in _stream(sessions.where(in_program).order_by(*order)):
        yield (
            s.relationship_id,
            members.get(s.relationship_id, ""),
            s.id,
            name(s),
            s.started_at,
            s.timezone,
            s.duration_minutes,
            s.format,
            s.topics,
            "; ".join(s.skill_keys or []),
            s.shared_notes,
            s.status,
            " | ".join(f"{name(r)}: {r.status}" + (f" ({r.reason})" if r.reason else "") for r in responses.of(s.id)),
            " | ".join(f"{name(r)}: {r.rating}/5" + (f" ({r.comment})" if r.comment else "") for r in ratings.of(s.id)),
            " | ".join(
                f"{name(i)}: {i.text}" + (f" (due {i.due_on.isoformat()})" if i.due_on else "")
                + (" [done]" if i.done_at else "")
                for i in items.of(s.id)
            ),
        )  # fmt: skip


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
            select(Goal.id, Milestone.title, Milestone.done_at)
            .join(Goal, Goal.id == Milestone.goal_id)
            .join(Relationship, Relationship.id == Goal.relationship_id)
            .where(in_program)
            .order_by(*order, Milestone.id)
        )
    )
    author = _Person()
    comments = _Groups(
        _stream(
            author.join(
                select(Goal.id, GoalComment.text, *author.columns)
                .join(Goal, Goal.id == GoalComment.goal_id)
                .join(Relationship, Relationship.id == Goal.relationship_id),
                GoalComment.author_id,
            )
            .where(in_program)
            .order_by(*order, GoalComment.id)
        )
    )
    members = _pair_members(program_id)
    owner = _Person()
    goals = owner.join(
        select(*order, Goal.title, Goal.skill_key, Goal.measure, Goal.target_on, Goal.status, Goal.progress,
               Goal.created_at, Goal.completed_at, *owner.columns)
        .join(Relationship, Relationship.id == Goal.relationship_id),
        Goal.owner_id,
    )  # fmt: skip
    name = _Person.name
    for g in _stream(goals.where(in_program).order_by(*order)):
        steps = milestones.of(g.id)
        yield (
            g.relationship_id,
            members.get(g.relationship_id, ""),
            g.id,
            name(g),
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
            " | ".join(f"{name(c)}: {c.text}" for c in comments.of(g.id)),
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
    learner = _Person()
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
    answerer = _Person()
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
