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
from functools import cache
from itertools import islice
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

Cell = str | int | float | None  # None is written as an empty cell
FORMULA_STARTS = frozenset("=+-@\t\r")


def text(value: str | None) -> str | None:
    """Text as a CSV cell: text that a spreadsheet would evaluate gets a leading quote so it is shown as text."""
    return "'" + value if value and value[0] in FORMULA_STARTS else value


def moment(value: datetime | None) -> str | None:
    """A time as ISO 8601 in UTC to the minute. The database hands times over in UTC already
    (`extensions.UTCDateTime`), so the conversion is only a check for them."""
    if value is None:
        return None
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat(timespec="minutes")


def cell(value: object) -> Cell:
    """Any value as a CSV cell, for a column whose type varies: numbers stay numbers, times are `moment`s, text
    is `text`. The exports call `text` and `moment` directly where a column's type is known (most of them): a
    row of an export is built with as few calls as it has cells to convert, tens of thousands of rows a second."""
    if type(value) is str:
        return text(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return value.isoformat()
    return text(str(value))


CHUNK_CHARS = 64 * 1024  # a chunk sent: about 64 KB
ROWS_PER_WRITE = 200  # rows handed to the csv writer at once, between checks of the chunk's size
FETCHED = 1000  # rows fetched at a time
STREAMED = {"yield_per": FETCHED}  # a server-side cursor on PostgreSQL


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The header line at once, then the rows in chunks of about `CHUNK_CHARS`; `rows` is only read as the
    response is sent, and must hold cells already (`text`, `moment`, numbers, None).

    The view's database session is gone by then (Flask tears the app context down when the view returns, and
    `stream_with_context` pushes it again for the rows): `rows` must take ids and plain values, not ORM objects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def written() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow(header)
    yield written()  # alone, before `rows` runs its first query
    rows = iter(rows)
    while True:
        before = buffer.tell()
        writer.writerows(islice(rows, ROWS_PER_WRITE))
        done = buffer.tell() == before  # every row writes at least its line end
        if buffer.tell() >= CHUNK_CHARS or (done and buffer.tell()):
            yield written()
        if done:
            return


@dataclass(frozen=True)
class Export:
    name: str  # in the URL and the file name
    title: str
    explanation: str
    build: Callable[[Program], Iterator[str]]


class _Person:
    """A participant's name columns (name, given name, family name), joined into an export's query: no lookup
    per row. They go last in the select, so that a row unpacks as (*its columns, *the name columns)."""

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


def _names() -> Callable[[str | None, str | None, str | None], str]:
    """`person_name` remembered for one export: the same people come back row after row (a course's members at
    most, far fewer than an export's rows)."""
    return cache(person_name)


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


def _stream(statement: Select[Any]) -> Iterator[Row[Any]]:
    """The rows of `statement` on the session's connection, without the ORM's row handling, a batch at a time
    (a server-side cursor on PostgreSQL): a batch is fetched and made into rows in one call, not row by row."""
    result = db.session.connection().execute(statement, execution_options=STREAMED)
    while batch := result.fetchmany(FETCHED):
        yield from batch


def _pair_members(program_id: int) -> dict[int, str | None]:
    """Who is in each pair, by relationship id, as `health.services.members_text` words it, as a cell: one query,
    a short text per pair (kept for the export: pairs are far fewer than its rows)."""
    person = _Person()
    statement = person.join(
        select(RelationshipMember.relationship_id, RelationshipMember.role, *person.columns).join(
            Relationship, Relationship.id == RelationshipMember.relationship_id
        ),
        RelationshipMember.participant_id,
    ).where(Relationship.program_id == program_id)
    members: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
    for relationship_id, role, *person_columns in _stream(
        statement.order_by(RelationshipMember.relationship_id, RelationshipMember.id)
    ):
        members[relationship_id].append((person_name(*person_columns), role))
    return {relationship_id: text(members_text(found)) for relationship_id, found in members.items()}


def sessions_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "session_id", "logged_by", "started_at_utc", "entered_time_zone",
        "duration_minutes", "format", "topics", "skills", "shared_notes", "status", "responses", "ratings",
        "action_items",
    )  # fmt: skip
    return csv_chunks(header, _session_rows(program.id))


def _session_rows(program_id: int) -> Iterator[tuple[Cell, ...]]:
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
    name = _names()
    for (relationship_id, started_at, session_id, zone, minutes, kind, topics, skill_keys, notes, status,
         *logged_by) in _stream(sessions.where(in_program).order_by(*order)):  # fmt: skip
        yield (
            relationship_id,
            members.get(relationship_id, ""),
            session_id,
            text(name(*logged_by)),
            moment(started_at),
            text(zone),
            minutes,
            text(kind),
            text(topics),
            text("; ".join(skill_keys or [])),
            text(notes),
            text(status),
            text(" | ".join(f"{name(*by)}: {answer}" + (f" ({reason})" if reason else "")
                            for _, answer, reason, *by in responses.of(session_id))),
            text(" | ".join(f"{name(*by)}: {rating}/5" + (f" ({comment})" if comment else "")
                            for _, rating, comment, *by in ratings.of(session_id))),
            text(" | ".join(
                f"{name(*by)}: {item}" + (f" (due {due_on.isoformat()})" if due_on else "")
                + (" [done]" if done_at else "")
                for _, item, due_on, done_at, *by in items.of(session_id)
            )),
        )  # fmt: skip


def goals_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "goal_id", "owner", "title", "skill", "measure", "target_on", "status",
        "progress_percent", "created_at_utc", "completed_at_utc", "milestones_done", "milestones_total", "milestones",
        "comments",
    )  # fmt: skip
    return csv_chunks(header, _goal_rows(program.id, _skill_names(program)))


def _goal_rows(program_id: int, skills: dict[str, str]) -> Iterator[tuple[Cell, ...]]:
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
    name = _names()
    for (relationship_id, goal_id, title, skill_key, measure, target_on, status, progress, created_at, completed_at,
         *owned_by) in _stream(goals.where(in_program).order_by(*order)):  # fmt: skip
        steps = milestones.of(goal_id)
        yield (
            relationship_id,
            members.get(relationship_id, ""),
            goal_id,
            text(name(*owned_by)),
            text(title),
            text(skills.get(skill_key, skill_key) if skill_key else ""),
            text(measure),
            target_on.isoformat() if target_on else None,
            text(status),
            progress,
            moment(created_at),
            moment(completed_at),
            sum(1 for _, _, done_at in steps if done_at),
            len(steps),
            text(" | ".join(f"{step}" + (" [done]" if done_at else "") for _, step, done_at in steps)),
            text(" | ".join(f"{name(*by)}: {comment}" for _, comment, *by in comments.of(goal_id))),
        )


def assessments_csv(program: Program) -> Iterator[str]:
    """One row per rating: round, learner, rater, skill, level."""
    header = (
        "round", "round_kind", "round_order", "learner", "rater", "rater_role", "submitted_at_utc", "skill_key",
        "skill", "level", "assessment_comment",
    )  # fmt: skip
    rounds = {r.id: (order, text(r.title), text(r.kind)) for order, r in enumerate(program_rounds(program), 1)}
    return csv_chunks(header, _assessment_rows(program.id, rounds, _skill_names(program)))


def _assessment_rows(
    program_id: int, rounds: dict[int, tuple[int, str | None, str | None]], skills: dict[str, str]
) -> Iterator[tuple[Cell, ...]]:
    learner = _Person()
    rater = aliased(User)
    statement = learner.join(
        select(SkillAssessment.id, SkillAssessment.round_id, SkillAssessment.rater_role,
               SkillAssessment.submitted_at, SkillAssessment.comment, rater.name, rater.given_name,
               rater.family_name, SkillRating.skill_key, SkillRating.level, *learner.columns)
        .join(SkillAssessment, SkillAssessment.id == SkillRating.assessment_id)
        .join(AssessmentRound, AssessmentRound.id == SkillAssessment.round_id)
        .join(Membership, Membership.id == SkillAssessment.rater_id)
        .join(rater, rater.id == Membership.user_id),
        SkillAssessment.subject_id,
    ).where(AssessmentRound.program_id == program_id)  # fmt: skip
    name = _names()
    skill_cells = {key: (text(key), text(skill)) for key, skill in skills.items()}
    # Rows come an assessment at a time (a few ratings each): what they share is made into cells once per assessment.
    assessment_id: int | None = None
    shared: tuple[Cell, ...] = ()
    comment: str | None = None
    for (this_assessment, round_id, role, submitted_at, this_comment, rater_name, rater_given, rater_family,
         skill_key, level, *subject) in _stream(
        statement.order_by(AssessmentRound.position, AssessmentRound.id, SkillAssessment.subject_id,
                           SkillAssessment.id, SkillRating.id)
    ):  # fmt: skip
        if this_assessment != assessment_id:
            order, title, kind = rounds[round_id]
            shared = (title, kind, order, text(name(*subject)), text(name(rater_name, rater_given, rater_family)),
                      text(role), moment(submitted_at))  # fmt: skip
            assessment_id, comment = this_assessment, text(this_comment)
        yield (*shared, *skill_cells.get(skill_key, (text(skill_key),) * 2), level, comment)


def survey_answers_csv(program: Program) -> Iterator[str]:
    """One row per answer: survey, participant, question, the answer as read and its code."""
    header = (
        "survey_id", "survey", "kind", "participant", "submitted_at_utc", "question_key", "question", "answer",
        "answer_code",
    )  # fmt: skip
    surveys = {
        s.id: (text(s.title), text(s.kind), parse_questions(s.questions))
        for s in db.session.execute(select(Survey).where(Survey.program_id == program.id).order_by(Survey.id)).scalars()
    }
    return csv_chunks(header, _survey_rows(program.id, surveys))


def _survey_rows(
    program_id: int, surveys: dict[int, tuple[str | None, str | None, list[Question]]]
) -> Iterator[tuple[Cell, ...]]:
    answerer = _Person()
    responses = answerer.join(
        select(SurveyResponse.survey_id, SurveyResponse.submitted_at, SurveyResponse.answers, *answerer.columns)
        .join(Survey, Survey.id == SurveyResponse.survey_id),
        SurveyResponse.participant_id,
    ).where(Survey.program_id == program_id)  # fmt: skip
    name = _names()
    asked = {survey_id: [(q, text(q.key), text(q.text)) for q in questions]
             for survey_id, (_, _, questions) in surveys.items()}  # fmt: skip
    for survey_id, submitted_at, answers, *person in _stream(
        responses.order_by(SurveyResponse.survey_id, SurveyResponse.id)
    ):
        title, kind, _ = surveys[survey_id]
        shared = (survey_id, title, kind, text(name(*person)), moment(submitted_at))
        for q, key, question in asked[survey_id]:
            answer = answers.get(q.key)
            if answer is not None:
                yield (*shared, key, question, text(answer_text(q, answer)), cell(answer_code(q, answer)))


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
