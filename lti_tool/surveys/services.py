"""Program feedback surveys: the default questions, creating, editing, opening and closing a survey, and answering it.

Services never commit; the view commits once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select

from lti_tool.errors import MentorLtiError, NotFound
from lti_tool.extensions import db, utcnow
from lti_tool.programs.models import Participant, Program
from lti_tool.resources import resource_path
from lti_tool.settings import Settings
from lti_tool.statements.events import record_survey_answered
from lti_tool.surveys.models import MAX_TITLE, Survey, SurveyKind, SurveyResponse
from lti_tool.surveys.questions import Answer, Question, coded_answers, parse_questions


class SurveyError(MentorLtiError):
    """A survey action was refused; the message says why and what to do instead."""

    status = 422


class SurveyClosed(SurveyError):
    """Answers came for a survey that is no longer open."""

    status = 409


class SurveyStatus(StrEnum):
    DRAFT = "draft"  # being prepared: only staff see it
    OPEN = "open"  # participants answer, and may change their answers
    CLOSED = "closed"  # answers are final


def status_of(survey: Survey) -> SurveyStatus:
    if survey.closed_at is not None:
        return SurveyStatus.CLOSED
    return SurveyStatus.OPEN if survey.opened_at is not None else SurveyStatus.DRAFT


@dataclass(frozen=True)
class SurveyDefaults:
    title: str
    questions: list[Question]


def default_survey(kind: SurveyKind) -> SurveyDefaults:
    """The title and questions of a kind of survey from config/surveys.json."""
    data = json.loads((resource_path("config") / "surveys.json").read_text(encoding="utf-8"))
    entry = data["kinds"][kind.value]
    return SurveyDefaults(title=entry["title"], questions=parse_questions(entry["questions"]))


def _clean_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise SurveyError(f"Give the survey a title of at most {MAX_TITLE} characters.")
    return title


def create_survey(program: Program, kind: SurveyKind, title: str = "") -> Survey:
    """A draft survey with its own copy of the kind's default questions (later config changes never alter it)."""
    defaults = default_survey(kind)
    survey = Survey(
        program_id=program.id,
        kind=kind.value,
        title=_clean_title(title or defaults.title),
        questions=[q.to_json() for q in defaults.questions],
    )
    db.session.add(survey)
    db.session.flush()
    return survey


def update_survey(survey: Survey, *, title: str, questions: Sequence[Question]) -> None:
    """Change a draft's title and questions; once open, answers depend on them, so they are fixed."""
    if status_of(survey) is not SurveyStatus.DRAFT:
        raise SurveyError("The questions of an opened survey cannot change: answers refer to them.")
    survey.title = _clean_title(title)
    survey.questions = [q.to_json() for q in questions]


def open_survey(survey: Survey) -> None:
    if status_of(survey) is not SurveyStatus.DRAFT:
        raise SurveyError("This survey has already been opened.")
    survey.opened_at = utcnow()


def close_survey(survey: Survey) -> None:
    if status_of(survey) is not SurveyStatus.OPEN:
        raise SurveyError("Only an open survey can be closed.")
    survey.closed_at = utcnow()


def program_surveys(program: Program) -> list[Survey]:
    return list(db.session.execute(select(Survey).where(Survey.program_id == program.id).order_by(Survey.id)).scalars())


def response_counts(program: Program) -> dict[int, int]:
    """How many participants answered each of the program's surveys."""
    rows = db.session.execute(
        select(SurveyResponse.survey_id, func.count(SurveyResponse.id))
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .where(Survey.program_id == program.id)
        .group_by(SurveyResponse.survey_id)
    ).all()
    return {survey_id: count for survey_id, count in rows}


def staff_survey(program: Program, survey_id: int) -> Survey:
    """A survey of the staff member's own program; another program's id is not found."""
    survey = db.session.get(Survey, survey_id)
    if survey is None or survey.program_id != program.id:
        raise NotFound("There is no such survey in this program.")
    return survey


def participant_survey(participant: Participant, survey_id: int) -> Survey:
    """A survey a participant may see: their program's, once opened. Drafts and other programs' are not found."""
    survey = db.session.get(Survey, survey_id)
    if survey is None or survey.program_id != participant.program_id or status_of(survey) is SurveyStatus.DRAFT:
        raise NotFound("There is no such survey in this program.")
    return survey


def response_of(survey: Survey, participant: Participant) -> SurveyResponse | None:
    return db.session.execute(
        select(SurveyResponse).where(
            SurveyResponse.survey_id == survey.id, SurveyResponse.participant_id == participant.id
        )
    ).scalar_one_or_none()


def answer_survey(
    survey: Survey, participant: Participant, answers: dict[str, Answer], *, settings: Settings, tool_base: str
) -> SurveyResponse:
    """Save a participant's answers (checked by `questions.parse_answers`) and record `answered`.

    One response per participant and survey; while the survey is open they may change it. Each change is a new
    revision whose statement voids the previous one (see `record_survey_answered`).
    """
    if status_of(survey) is not SurveyStatus.OPEN:
        raise SurveyClosed("This survey is closed: answers can no longer be given or changed.")
    response = response_of(survey, participant)
    if response is None:
        response = SurveyResponse(survey=survey, participant=participant, answers=answers, revision=1)
        db.session.add(response)
    else:
        response.answers, response.revision = answers, response.revision + 1
    response.submitted_at = utcnow()
    db.session.flush()
    record_survey_answered(
        response,
        coded_answers(parse_questions(survey.questions), answers),
        settings=settings,
        tool_base=tool_base,
    )
    return response


@dataclass(frozen=True)
class OpenSurvey:
    """An open survey as a participant's home lists it: answered or still to answer."""

    survey: Survey
    answered: bool


def open_surveys(participant: Participant) -> list[OpenSurvey]:
    """The program's open surveys, oldest first, each saying whether the participant has answered it: an answered
    one stays on their home page, since its answers can be changed until it closes (for their home page)."""
    rows = db.session.execute(
        select(Survey, SurveyResponse.id)
        .outerjoin(
            SurveyResponse,
            (SurveyResponse.survey_id == Survey.id) & (SurveyResponse.participant_id == participant.id),
        )
        .where(
            Survey.program_id == participant.program_id,
            Survey.opened_at.is_not(None),
            Survey.closed_at.is_(None),
        )
        .order_by(Survey.id)
    ).all()
    return [OpenSurvey(survey, response_id is not None) for survey, response_id in rows]
