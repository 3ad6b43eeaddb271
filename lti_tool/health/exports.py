"""CSV exports of a program for its staff: sessions, goals, assessment ratings and survey answers, one file each.

The privacy rules of the pages hold here too: private notes are never read. Cells that a spreadsheet would run as
a formula (starting with = + - @, a tab or a carriage return) are prefixed with a quote.

Each export streams: the header line leaves before any query runs, then rows as the database hands them over.
What a row lists (a session's responses, a goal's milestones, an assessment's ratings) comes from a second query
sorted the same way and merged as the rows pass; people's names come from one query of the program's
participants, looked up by id. So an export runs the same few statements whatever the program's size, and holds
a batch of rows and a name per participant (and a short text per pair) in memory, not its rows. What it holds
whole (the names, the pairs) it reads in one round trip each (`_read`); its rows come through a server-side
cursor a batch at a time (`_stream`).

They write well over 50,000 rows a second (issue 12): the database formats times and dates (`_UtcMinute`,
`_IsoDay`), the queries select plain columns (no ORM objects, no per-row type conversion), and a row is CSV text
put together from pieces: cells that rows share (a pair's, an assessment's, a response's, a skill's) are written
once, and the rest of a row is joined with commas where none of its cells needs quotes (`_Fields`), the csv
writer quoting the others. The same bytes as the csv writer writing every cell of every row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import Row, Select, String, Text, cast, func, select
from sqlalchemy import text as text_clause
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

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
T = TypeVar("T")


@overload
def text(value: str) -> str: ...
@overload
def text(value: None) -> None: ...
@overload
def text(value: str | None) -> str | None: ...
def text(value: str | None) -> str | None:
    """Text as a CSV cell: text that a spreadsheet would evaluate gets a leading quote so it is shown as text."""
    return "'" + value if value and value[0] in FORMULA_STARTS else value


def moment(value: datetime | None) -> str | None:
    """A time as ISO 8601 in UTC to the minute. The database hands times over in UTC already
    (`extensions.UTCDateTime`), so the conversion is only a check for them. (The exports have the database
    write it: `_UtcMinute`.)"""
    if value is None:
        return None
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat(timespec="minutes")


def cell(value: object) -> Cell:
    """Any value as a CSV cell, for a column whose type varies: numbers stay numbers, times are `moment`s, text
    is `text`. The exports call `text` directly where a column's type is known (most of them)."""
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


class _UtcMinute(FunctionElement[str]):
    """A `UTCDateTime` column as `moment` writes it ("2026-11-02T09:30+00:00"), written by the database: parsing
    each time into a `datetime` and formatting it again was the largest part of a row's cost. Both databases
    keep the time in UTC (`extensions.UTCDateTime`); SQLite as text that starts "YYYY-MM-DD HH:MM"."""

    type = String()
    inherit_cache = True
    name = "utc_minute"


@compiles(_UtcMinute, "sqlite")
def _utc_minute_sqlite(element: _UtcMinute, compiler: SQLCompiler, **kw: Any) -> str:
    # Cut from the stored text, which starts with the minute: nothing parsed, nothing rounded.
    (column,) = element.clauses
    return compiler.process(
        func.substr(column, 1, 10).op("||")("T").op("||")(func.substr(column, 12, 5)).op("||")("+00:00"), **kw
    )


@compiles(_UtcMinute, "postgresql")
def _utc_minute_postgresql(element: _UtcMinute, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    utc = func.timezone("UTC", column)  # the time as UTC wall-clock time, whatever the session's time zone
    return compiler.process(func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI').op("||")("+00:00"), **kw)


class _IsoDay(FunctionElement[str]):
    """A `Date` column as `date.isoformat` writes it ("2026-11-02"), written by the database: SQLite stores it
    so already; PostgreSQL formats it (not by casting, which follows the session's DateStyle)."""

    type = String()
    inherit_cache = True
    name = "iso_day"


@compiles(_IsoDay, "sqlite")
def _iso_day_sqlite(element: _IsoDay, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(column, **kw)


@compiles(_IsoDay, "postgresql")
def _iso_day_postgresql(element: _IsoDay, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(func.to_char(column, "YYYY-MM-DD"), **kw)


CHUNK_CHARS = 64 * 1024  # a chunk sent: about 64 KB
FETCHED = 1000  # rows fetched at a time
STREAMED = {"yield_per": FETCHED}  # a server-side cursor on PostgreSQL
LINE_END = "\r\n"  # the csv module's (its "excel" dialect)
EXPORT_WORK_MEM = "16MB"  # PostgreSQL's memory for each sort of an export's queries (`Export.stream`)


def csv_chunks(header: Sequence[str], lines: Iterable[str]) -> Iterator[str]:
    """The header line at once, then `lines` (CSV lines, put together from `_Fields` pieces) in chunks of about
    `CHUNK_CHARS`; `lines` is only read as the response is sent.

    The view's database session is gone by then (Flask tears the app context down when the view returns, and
    `stream_with_context` pushes it again for the rows): `lines` must take ids and plain values, not ORM objects."""
    yield _Fields().end(*header)  # alone, before `lines` runs its first query
    chunk: list[str] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield "".join(chunk)


class _Fields:
    """Cells as the CSV text they are inside a row, each followed by the delimiter: "a,\"b, c\",". A row of
    such pieces is the row the csv writer writes, as it quotes each cell on its own (a trailing empty cell keeps
    a lone empty cell from being written as "", as the writer does for a row of one empty cell)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def __call__(self, *cells: Cell) -> str:
        self._writer.writerow((*cells, None))
        written = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return written[: -len(LINE_END)]

    def end(self, *cells: Cell) -> str:
        """The cells that end a row, with the line end instead of the last delimiter."""
        return self(*cells)[:-1] + LINE_END

    def end_text(self, cells: tuple[str, ...]) -> str:
        """Text cells that end a row, as `end` writes them: joined by commas when none needs quotes (none has a
        comma, a quote or a line break), which is what the csv writer writes, without its walk through every
        character; through the writer when one does."""
        joined = ",".join(cells)
        if joined.count(",") == len(cells) - 1 and '"' not in joined and "\n" not in joined and "\r" not in joined:
            return joined + LINE_END
        return self.end(*cells)


@dataclass(frozen=True)
class Export:
    name: str  # in the URL and the file name
    title: str
    explanation: str
    build: Callable[[Program], Iterator[str]]

    def stream(self, program_id: int) -> Iterator[str]:
        """The export as the database stood at its first query: its queries are several, read one after another
        or merged as they stream (a session's responses, ratings and action items beside the sessions), and
        each would otherwise see the data of its own start. A session moved or a pair published between two of
        them would leave lists out or name someone the names read before do not hold. The request's own
        transaction ends here; the export's reads in one of its own: REPEATABLE READ on PostgreSQL (one snapshot
        from its first statement), an explicit BEGIN on SQLite, whose driver begins no transaction for reads
        (in WAL mode a transaction reads one snapshot). On PostgreSQL the transaction also sorts in memory up to
        `EXPORT_WORK_MEM`: the sessions of 4,000 pairs (their topics and notes) spilled to disk at the default
        4 MB."""
        db.session.rollback()
        if db.engine.dialect.name == "postgresql":
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            db.session.execute(text_clause(f"SET LOCAL work_mem = '{EXPORT_WORK_MEM}'"))
        else:
            db.session.execute(text_clause("BEGIN"))
        program = db.session.get(Program, program_id)
        if program is not None:  # deleted in between: an empty answer, as for a program of no rows
            yield from self.build(program)


class _Person:
    """A user's name columns (name, given name, family name), joined into a query; they go last in the select,
    so that a row unpacks as (*its columns, *the name columns)."""

    def __init__(self) -> None:
        self.participant, self.membership, self.user = aliased(Participant), aliased(Membership), aliased(User)

    @property
    def columns(self) -> tuple[Any, ...]:
        return self.user.name, self.user.given_name, self.user.family_name

    def join(self, statement: Select[Any], participant_id: Any) -> Select[Any]:
        """Joined from a participant."""
        return self.join_member(
            statement.join(self.participant, self.participant.id == participant_id), self.participant.membership_id
        )

    def join_member(self, statement: Select[Any], membership_id: Any) -> Select[Any]:
        """Joined from a course membership."""
        return statement.join(self.membership, self.membership.id == membership_id).join(
            self.user, self.user.id == self.membership.user_id
        )


def _names() -> Callable[[str | None, str | None, str | None], str]:
    """`person_name` remembered for one export: the same people come back row after row (a course's members at
    most, far fewer than an export's rows)."""
    return cache(person_name)


def _participant_names(program_id: int) -> dict[int, str]:
    """Every participant's name by participant id, in one query: fewer than a program's sessions and far fewer
    than the people its rows name, cheaper than joining three tables into each row."""
    person = _Person()
    statement = person.join_member(select(Participant.id, *person.columns), Participant.membership_id)
    rows = _read(statement.where(Participant.program_id == program_id))
    return {  # the columns unpacked by name: `*columns` made a list per row
        participant_id: person_name(name, given_name, family_name)
        for participant_id, name, given_name, family_name in rows
    }


_END = object()  # past a merged query's last group


class _Groups(Generic[T]):
    """Rows of a second query keyed by its first column, sorted like an export's main query, summed up group by
    group as the main rows pass (a merge join in Python): both stream, so memory stays the same whatever the
    number of rows. Every key of the second query is one the main rows visit, in the same order."""

    def __init__(self, rows: Iterable[Row[Any]], summary: Callable[[Iterator[Row[Any]]], T], none: T) -> None:
        self._groups = groupby(rows, itemgetter(0))
        self._summary, self._none = summary, none
        self._key: object
        self._group: Iterator[Row[Any]]
        self._key, self._group = next(self._groups, (_END, iter(())))

    def of(self, key: object) -> T:
        """The summary of `key`'s rows, or the summary of none when it has none."""
        if key != self._key:
            return self._none
        found = self._summary(self._group)
        self._key, self._group = next(self._groups, (_END, iter(())))
        return found


def _stream(statement: Select[Any]) -> Iterator[Row[Any]]:
    """The rows of `statement` on the session's connection, without the ORM's row handling, a batch at a time
    (a server-side cursor on PostgreSQL): a batch is fetched and made into rows in one call, not row by row."""
    result = db.session.connection().execute(statement, execution_options=STREAMED)
    try:
        while batch := result.fetchmany(FETCHED):
            yield from batch
    finally:
        result.close()  # at once, also when the download stops early: not when the cursor is collected


def _read(statement: Select[Any]) -> Sequence[Row[Any]]:
    """All rows of `statement` at once, on the session's connection: for what an export holds whole anyway (names,
    pairs), one round trip instead of a server-side cursor fetched batch by batch."""
    return db.session.connection().execute(statement).all()


def _pairs(program_id: int, names: dict[int, str], fields: _Fields) -> Callable[[int], str]:
    """The cells that start a row of a pair's: its id and who is in it, as `health.services.members_text` words
    it, by relationship id. One query, written once per pair (kept for the export: pairs are far fewer than its
    rows)."""
    statement = (
        select(RelationshipMember.relationship_id, RelationshipMember.role, RelationshipMember.participant_id)
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .where(Relationship.program_id == program_id)
        .order_by(RelationshipMember.relationship_id, RelationshipMember.id)
    )
    pairs = {
        relationship_id: fields(
            relationship_id, text(members_text((names[participant_id], role) for _, role, participant_id in members))
        )
        for relationship_id, members in groupby(_read(statement), itemgetter(0))
    }

    def pair(relationship_id: int) -> str:
        found = pairs.get(relationship_id)
        return found if found is not None else fields(relationship_id, "")  # a pair without members

    return pair


def sessions_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "session_id", "logged_by", "started_at_utc", "entered_time_zone",
        "duration_minutes", "format", "topics", "skills", "shared_notes", "status", "responses", "ratings",
        "action_items",
    )  # fmt: skip
    return csv_chunks(header, _session_lines(program.id))


@lru_cache(maxsize=1024)
def _skills_cell(stored: str | None) -> str:
    """A session's skill keys (JSON as stored) as one cell: a few hundred combinations recur in every export."""
    return text("; ".join(json.loads(stored) or [])) if stored is not None else ""


def _session_lines(program_id: int) -> Iterator[str]:
    order = (MentoringSession.relationship_id, MentoringSession.started_at, MentoringSession.id)
    in_program = Relationship.program_id == program_id
    names = _participant_names(program_id)

    def of_sessions(
        session_id: Any, own_id: Any, *columns: Any, summary: Callable[[Iterator[Row[Any]]], str]
    ) -> _Groups[str]:
        """A session's responses, ratings or action items, in the sessions' order, as one cell each."""
        statement = (
            select(MentoringSession.id, *columns)
            .join(MentoringSession, MentoringSession.id == session_id)
            .join(Relationship, Relationship.id == MentoringSession.relationship_id)
        )
        return _Groups(_stream(statement.where(in_program).order_by(*order, own_id)), summary, "")

    responses = of_sessions(
        SessionResponse.session_id, SessionResponse.id,
        SessionResponse.participant_id, SessionResponse.status, SessionResponse.reason,
        summary=lambda rows: text(" | ".join([f"{names[by]}: {answer} ({reason})" if reason else
                                              f"{names[by]}: {answer}" for _, by, answer, reason in rows])),
    )  # fmt: skip
    ratings = of_sessions(
        SessionRating.session_id, SessionRating.id,
        SessionRating.participant_id, SessionRating.rating, SessionRating.comment,
        summary=lambda rows: text(" | ".join([f"{names[by]}: {rating}/5 ({comment})" if comment else
                                              f"{names[by]}: {rating}/5" for _, by, rating, comment in rows])),
    )  # fmt: skip
    items = of_sessions(
        ActionItem.session_id, ActionItem.id,
        ActionItem.owner_id, ActionItem.text, _IsoDay(ActionItem.due_on), ActionItem.done_at.is_not(None),
        summary=lambda rows: text(" | ".join([
            f"{names[by]}: {item}" + (f" (due {due_on})" if due_on else "") + (" [done]" if done else "")
            for _, by, item, due_on, done in rows
        ])),
    )  # fmt: skip
    fields = _Fields()
    pair = _pairs(program_id, names, fields)
    sessions = (
        select(MentoringSession.relationship_id, _UtcMinute(MentoringSession.started_at), MentoringSession.id,
               MentoringSession.timezone, MentoringSession.duration_minutes, MentoringSession.format,
               MentoringSession.topics, cast(MentoringSession.skill_keys, Text), MentoringSession.shared_notes,
               MentoringSession.status, MentoringSession.logged_by_id)
        .join(Relationship, Relationship.id == MentoringSession.relationship_id)
        .where(in_program)
        .order_by(*order)
    )  # fmt: skip
    for (relationship_id, started_at, session_id, zone, minutes, kind, topics, skill_keys, notes, status,
         logged_by) in _stream(sessions):  # fmt: skip
        yield pair(relationship_id) + fields.end_text((
            str(session_id),
            text(names[logged_by]),
            started_at,
            text(zone),
            str(minutes),
            text(kind),
            text(topics),
            _skills_cell(skill_keys),
            text(notes),
            text(status),
            responses.of(session_id),
            ratings.of(session_id),
            items.of(session_id),
        ))  # fmt: skip


def goals_csv(program: Program) -> Iterator[str]:
    header = (
        "pair_id", "pair_members", "goal_id", "owner", "title", "skill", "measure", "target_on", "status",
        "progress_percent", "created_at_utc", "completed_at_utc", "milestones_done", "milestones_total", "milestones",
        "comments",
    )  # fmt: skip
    return csv_chunks(header, _goal_lines(program.id, _skill_names(program)))


def _milestones(rows: Iterator[Row[Any]]) -> tuple[str, str, str]:
    """A goal's milestones as the cells (done, total, the list)."""
    steps = list(rows)
    listed = " | ".join([f"{step} [done]" if done else f"{step}" for _, step, done in steps])
    return str(sum(1 for *_, done in steps if done)), str(len(steps)), text(listed)


def _goal_lines(program_id: int, skills: dict[str, str]) -> Iterator[str]:
    order = (Goal.relationship_id, Goal.id)
    in_program = Relationship.program_id == program_id
    names = _participant_names(program_id)

    def of_goals(*columns: Any, own_id: Any, goal_id: Any) -> Iterator[Row[Any]]:
        statement = (
            select(Goal.id, *columns)
            .join(Goal, Goal.id == goal_id)
            .join(Relationship, Relationship.id == Goal.relationship_id)
            .where(in_program)
            .order_by(*order, own_id)
        )
        return _stream(statement)

    milestones: _Groups[tuple[str, str, str]] = _Groups(
        of_goals(Milestone.title, Milestone.done_at.is_not(None), own_id=Milestone.id, goal_id=Milestone.goal_id),
        _milestones,
        ("0", "0", ""),
    )
    comments: _Groups[str] = _Groups(
        of_goals(GoalComment.author_id, GoalComment.text, own_id=GoalComment.id, goal_id=GoalComment.goal_id),
        lambda rows: text(" | ".join([f"{names[by]}: {comment}" for _, by, comment in rows])),
        "",
    )
    fields = _Fields()
    pair = _pairs(program_id, names, fields)
    goals = (
        select(*order, Goal.owner_id, Goal.title, Goal.skill_key, Goal.measure, _IsoDay(Goal.target_on), Goal.status,
               Goal.progress, _UtcMinute(Goal.created_at), _UtcMinute(Goal.completed_at))
        .join(Relationship, Relationship.id == Goal.relationship_id)
        .where(in_program)
        .order_by(*order)
    )  # fmt: skip
    for (relationship_id, goal_id, owner, title, skill_key, measure, target_on, status, progress, created_at,
         completed_at) in _stream(goals):  # fmt: skip
        done, total, listed = milestones.of(goal_id)
        yield pair(relationship_id) + fields.end_text((
            str(goal_id),
            text(names[owner]),
            text(title),
            text(skills.get(skill_key, skill_key) if skill_key else ""),
            text(measure),
            target_on,
            text(status),
            str(progress),
            created_at,
            completed_at or "",
            done,
            total,
            listed,
            comments.of(goal_id),
        ))  # fmt: skip


def assessments_csv(program: Program) -> Iterator[str]:
    """One row per rating: round, learner, rater, skill, level."""
    header = (
        "round", "round_kind", "round_order", "learner", "rater", "rater_role", "submitted_at_utc", "skill_key",
        "skill", "level", "assessment_comment",
    )  # fmt: skip
    rounds = {r.id: (order, text(r.title), text(r.kind)) for order, r in enumerate(program_rounds(program), 1)}
    return csv_chunks(header, _assessment_lines(program.id, rounds, _skill_names(program)))


def _assessment_lines(
    program_id: int, rounds: dict[int, tuple[int, str, str]], skills: dict[str, str]
) -> Iterator[str]:
    """The ratings, each a line made of its assessment's cells (written once per assessment), its skill's (once
    per skill) and its level. Assessments and their ratings are two queries in the same order, merged; an
    assessment without ratings has no line."""
    order = (AssessmentRound.position, AssessmentRound.id, SkillAssessment.subject_id, SkillAssessment.id)
    in_program = AssessmentRound.program_id == program_id
    names = _participant_names(program_id)
    rater = _Person()
    assessments = _stream(
        rater.join_member(
            select(SkillAssessment.id, SkillAssessment.round_id, SkillAssessment.subject_id,
                   SkillAssessment.rater_role, _UtcMinute(SkillAssessment.submitted_at), SkillAssessment.comment,
                   *rater.columns)
            .join(AssessmentRound, AssessmentRound.id == SkillAssessment.round_id),
            SkillAssessment.rater_id,
        )
        .where(in_program)
        .order_by(*order)
    )  # fmt: skip
    ratings: _Groups[list[Row[Any]]] = _Groups(
        _stream(
            select(SkillRating.assessment_id, SkillRating.skill_key, SkillRating.level)
            .join(SkillAssessment, SkillAssessment.id == SkillRating.assessment_id)
            .join(AssessmentRound, AssessmentRound.id == SkillAssessment.round_id)
            .where(in_program)
            .order_by(*order, SkillRating.id)
        ),
        list,
        [],
    )
    fields = _Fields()
    name = _names()
    skill_fields: dict[str, str] = {}
    for assessment_id, round_id, subject, role, submitted_at, comment, *rater_name in assessments:
        rated = ratings.of(assessment_id)
        if not rated:
            continue
        order_in, title, kind = rounds[round_id]
        shared = fields(title, kind, order_in, text(names[subject]), text(name(*rater_name)), text(role), submitted_at)
        last = fields.end(text(comment))
        for _, skill_key, level in rated:
            skill = skill_fields.get(skill_key)
            if skill is None:
                skill = skill_fields[skill_key] = fields(text(skill_key), text(skills.get(skill_key, skill_key)))
            yield f"{shared}{skill}{level},{last}" if level is not None else f"{shared}{skill},{last}"


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
    return csv_chunks(header, _survey_lines(program.id, surveys))


def _survey_lines(program_id: int, surveys: dict[int, tuple[str, str, list[Question]]]) -> Iterator[str]:
    """The answers, each a line made of its response's cells (written once per response), its question's (once
    per export) and the answer's."""
    answerer = _Person()
    responses = answerer.join(
        select(SurveyResponse.survey_id, _UtcMinute(SurveyResponse.submitted_at), SurveyResponse.answers,
               *answerer.columns)
        .join(Survey, Survey.id == SurveyResponse.survey_id),
        SurveyResponse.participant_id,
    ).where(Survey.program_id == program_id)  # fmt: skip
    fields = _Fields()
    name = _names()
    asked = {survey_id: [(q, fields(text(q.key), text(q.text))) for q in questions]
             for survey_id, (_, _, questions) in surveys.items()}  # fmt: skip
    for survey_id, submitted_at, answers, *person in _stream(
        responses.order_by(SurveyResponse.survey_id, SurveyResponse.id)
    ):
        title, kind, _ = surveys[survey_id]
        shared = fields(survey_id, title, kind, text(name(*person)), submitted_at)
        for q, question in asked[survey_id]:
            answer = answers.get(q.key)
            if answer is not None:
                yield shared + question + fields.end(text(answer_text(q, answer)), cell(answer_code(q, answer)))


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
