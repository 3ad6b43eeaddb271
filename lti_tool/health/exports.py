"""CSV exports of a program for its staff: sessions, goals, assessment ratings and survey answers, one file each.

The privacy rules of the pages hold here too: private notes are never read. Cells that a spreadsheet would run as
a formula (starting with = + - @, a tab or a carriage return) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lti_tool.assessments.models import AssessmentRound, SkillAssessment
from lti_tool.assessments.services import program_rounds
from lti_tool.extensions import db
from lti_tool.health.services import by_session, members_text
from lti_tool.mentoring.models import ActionItem, Goal, MentoringSession, SessionRating, SessionResponse
from lti_tool.mentoring.relationships import program_relationships
from lti_tool.programs.models import Participant, Program
from lti_tool.surveys.models import Survey, SurveyResponse
from lti_tool.surveys.questions import answer_code, answer_text, parse_questions

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


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue()


@dataclass(frozen=True)
class Export:
    name: str  # in the URL and the file name
    title: str
    explanation: str
    build: Callable[[Program], str]


def _participant_name(participant: Participant) -> str:
    return str(participant.membership.user.display_name)


def sessions_csv(program: Program) -> str:
    relationships = {r.id: r for r in program_relationships(program)}
    sessions = list(
        db.session.execute(
            select(MentoringSession)
            .where(MentoringSession.relationship_id.in_(relationships))
            .order_by(MentoringSession.relationship_id, MentoringSession.started_at)
        ).scalars()
    )
    ids = [s.id for s in sessions]
    responses = by_session(SessionResponse, ids)
    ratings = by_session(SessionRating, ids)
    items = by_session(ActionItem, ids)
    header = (
        "pair_id", "pair_members", "session_id", "logged_by", "started_at_utc", "entered_time_zone",
        "duration_minutes", "format", "topics", "skills", "shared_notes", "status", "responses", "ratings",
        "action_items",
    )  # fmt: skip
    rows = [
        (
            s.relationship_id,
            members_text(relationships[s.relationship_id].members),
            s.id,
            _participant_name(s.logged_by),
            s.started_at,
            s.timezone,
            s.duration_minutes,
            s.format,
            s.topics,
            "; ".join(s.skill_keys or []),
            s.shared_notes,
            s.status,
            " | ".join(
                f"{_participant_name(r.participant)}: {r.status}" + (f" ({r.reason})" if r.reason else "")
                for r in responses.get(s.id, [])
            ),
            " | ".join(
                f"{_participant_name(r.participant)}: {r.rating}/5" + (f" ({r.comment})" if r.comment else "")
                for r in ratings.get(s.id, [])
            ),
            " | ".join(
                f"{_participant_name(i.owner)}: {i.text}"
                + (f" (due {i.due_on.isoformat()})" if i.due_on else "")
                + (" [done]" if i.done_at else "")
                for i in items.get(s.id, [])
            ),
        )
        for s in sessions
    ]
    return to_csv(header, rows)


def goals_csv(program: Program) -> str:
    relationships = {r.id: r for r in program_relationships(program)}
    goals = db.session.execute(
        select(Goal)
        .where(Goal.relationship_id.in_(relationships))
        .order_by(Goal.relationship_id, Goal.id)
        .options(selectinload(Goal.milestones), selectinload(Goal.comments))
    ).scalars()
    skills = {s.key: s.name for s in program.skills}
    header = (
        "pair_id", "pair_members", "goal_id", "owner", "title", "skill", "measure", "target_on", "status",
        "progress_percent", "created_at_utc", "completed_at_utc", "milestones_done", "milestones_total", "milestones",
        "comments",
    )  # fmt: skip
    rows = [
        (
            g.relationship_id,
            members_text(relationships[g.relationship_id].members),
            g.id,
            _participant_name(g.owner),
            g.title,
            skills.get(g.skill_key, g.skill_key) if g.skill_key else "",
            g.measure,
            g.target_on,
            g.status,
            g.progress,
            g.created_at,
            g.completed_at,
            sum(1 for m in g.milestones if m.done_at),
            len(g.milestones),
            " | ".join(f"{m.title}" + (" [done]" if m.done_at else "") for m in g.milestones),
            " | ".join(f"{c.author.membership.user.display_name}: {c.text}" for c in g.comments),
        )
        for g in goals
    ]
    return to_csv(header, rows)


def assessments_csv(program: Program) -> str:
    """One row per rating: round, learner, rater, skill, level."""
    rounds: dict[int, AssessmentRound] = {r.id: r for r in program_rounds(program)}
    assessments = db.session.execute(
        select(SkillAssessment)
        .where(SkillAssessment.round_id.in_(rounds))
        .options(selectinload(SkillAssessment.ratings))
    ).scalars()
    order = {round_id: index for index, round_id in enumerate(rounds)}
    skills = {s.key: s.name for s in program.skills}
    header = (
        "round", "round_kind", "round_order", "learner", "rater", "rater_role", "submitted_at_utc", "skill_key",
        "skill", "level", "assessment_comment",
    )  # fmt: skip
    rows = [
        (
            rounds[a.round_id].title,
            rounds[a.round_id].kind,
            order[a.round_id] + 1,
            _participant_name(a.subject),
            a.rater.user.display_name,
            a.rater_role,
            a.submitted_at,
            rating.skill_key,
            skills.get(rating.skill_key, rating.skill_key),
            rating.level,
            a.comment,
        )
        for a in sorted(assessments, key=lambda a: (order[a.round_id], a.subject_id, a.id))
        for rating in a.ratings
    ]
    return to_csv(header, rows)


def survey_answers_csv(program: Program) -> str:
    """One row per answer: survey, participant, question, the answer as read and its code."""
    surveys = {
        s.id: s
        for s in db.session.execute(select(Survey).where(Survey.program_id == program.id).order_by(Survey.id)).scalars()
    }
    responses = db.session.execute(
        select(SurveyResponse)
        .where(SurveyResponse.survey_id.in_(surveys))
        .order_by(SurveyResponse.survey_id, SurveyResponse.id)
    ).scalars()
    questions = {survey_id: parse_questions(s.questions) for survey_id, s in surveys.items()}
    header = (
        "survey_id", "survey", "kind", "participant", "submitted_at_utc", "question_key", "question", "answer",
        "answer_code",
    )  # fmt: skip
    rows = [
        (
            r.survey_id,
            surveys[r.survey_id].title,
            surveys[r.survey_id].kind,
            _participant_name(r.participant),
            r.submitted_at,
            q.key,
            q.text,
            answer_text(q, r.answers[q.key]),
            answer_code(q, r.answers[q.key]),
        )
        for r in responses
        for q in questions[r.survey_id]
        if r.answers.get(q.key) is not None
    ]
    return to_csv(header, rows)


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
