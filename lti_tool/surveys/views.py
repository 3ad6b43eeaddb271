"""Survey pages: the instructor prepares, opens and closes surveys; participants answer them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotAuthorised, NotFound
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.programs.forms import ConfirmForm
from lti_tool.programs.models import Participant, Program
from lti_tool.programs.services import participant_for, program_for_course
from lti_tool.programs.views import with_program
from lti_tool.runtime import runtime
from lti_tool.surveys import services
from lti_tool.surveys.forms import (
    KIND_EXPLANATIONS,
    CreateSurveyForm,
    ImportQuestionsForm,
    QuestionEditor,
    SurveyTitleForm,
)
from lti_tool.surveys.models import KIND_LABELS, Survey, SurveyKind, SurveyResponse
from lti_tool.surveys.questions import (
    MAX_OPTIONS,
    MAX_QUESTION_TEXT,
    MAX_QUESTIONS,
    MAX_SCALE_LABEL,
    MIN_OPTIONS,
    SCHEMA_HELP,
    TYPE_LABELS,
    AnswersInvalid,
    Question,
    QuestionsInvalid,
    QuestionType,
    field_name,
    form_values,
    parse_answers,
    parse_questions,
    questions_json,
)
from lti_tool.surveys.services import SurveyError

Page = str | tuple[str, int] | Response


def _see_other(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), 303)


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    membership = current_membership()
    return render_template(
        template,
        membership=membership,
        course=membership.course,
        kind_labels=KIND_LABELS,
        question_types=QuestionType,
        field_name=field_name,
        **context,
    ), status


# --- The instructor's pages --------------------------------------------------------------------------------------


def _list_page(program: Program, form: CreateSurveyForm | None = None, status: int = 200) -> tuple[str, int]:
    surveys = services.program_surveys(program)
    return _page(
        "surveys/list.html",
        status,
        program=program,
        surveys=surveys,
        statuses={s.id: services.status_of(s) for s in surveys},
        counts=services.response_counts(program),
        form=form or CreateSurveyForm(formdata=None, kind=SurveyKind.MID.value),
        kind_explanations=KIND_EXPLANATIONS,
    )


@course_member(staff=True)
@with_program
def surveys(course_id: int, program: Program) -> Page:
    return _list_page(program)


@course_member(staff=True)
@with_program
def create(course_id: int, program: Program) -> Page:
    form = CreateSurveyForm()
    if not form.validate_on_submit():
        return _list_page(program, form, 422)
    survey = services.create_survey(program, SurveyKind(form.kind.data))
    db.session.commit()
    flash(
        f"Created “{survey.title}” as a draft with the default questions. Change them if you wish, then open it.",
        "success",
    )
    return _see_other("surveys.survey", course_id=course_id, survey_id=survey.id)


def _survey_page(
    program: Program,
    survey: Survey,
    form: SurveyTitleForm | None = None,
    editor: QuestionEditor | None = None,
    imported: ImportQuestionsForm | None = None,
    preview: list[Question] | None = None,
    status: int = 200,
) -> Page:
    questions = parse_questions(survey.questions)
    return _page(
        "surveys/survey.html",
        status,
        program=program,
        survey=survey,
        state=services.status_of(survey),
        questions=questions,
        form=form or SurveyTitleForm(formdata=None, title=survey.title),
        editor=editor or QuestionEditor.of(questions),
        imported=imported or ImportQuestionsForm(formdata=None),
        preview=preview,
        schema_help=SCHEMA_HELP,
        type_labels=TYPE_LABELS,
        limits={
            "questions": MAX_QUESTIONS,
            "text": MAX_QUESTION_TEXT,
            "min_options": MIN_OPTIONS,
            "max_options": MAX_OPTIONS,
            "scale_label": MAX_SCALE_LABEL,
        },
        answered=services.response_counts(program).get(survey.id, 0),
        confirm=ConfirmForm(formdata=None),
    )


@course_member(staff=True)
@with_program
def survey(course_id: int, program: Program, survey_id: int) -> Page:
    """The survey's page; its question editor posts here to save, preview, or move, add and remove a question."""
    found = services.staff_survey(program, survey_id)
    if request.method == "GET":
        return _survey_page(program, found)
    form = SurveyTitleForm()
    editor = QuestionEditor.from_form(request.form)
    action = request.form.get("action", "save")
    if action not in {"save", "preview"}:
        if not editor.apply(action):
            abort(400)
        return _survey_page(program, found, form, editor, status=422 if editor.has_errors else 200)
    title_valid = form.validate()
    try:
        questions = editor.questions(parse_questions(found.questions))
    except QuestionsInvalid:
        return _survey_page(program, found, form, editor, status=422)
    if action == "preview":
        return _survey_page(program, found, form, editor, preview=questions, status=200 if title_valid else 422)
    if title_valid:
        try:
            services.update_survey(found, title=form.title.data or "", questions=questions)
        except SurveyError as error:
            flash(error.message, "error")  # shown on any state's page: an opened survey has no editor
        else:
            db.session.commit()
            flash("The survey is saved. Open it when the questions are ready.", "success")
            return _see_other("surveys.survey", course_id=course_id, survey_id=found.id)
    db.session.rollback()
    return _survey_page(program, found, form, editor, status=422)


@course_member(staff=True)
@with_program
def import_questions(course_id: int, program: Program, survey_id: int) -> Page:
    """Replace a draft's questions by JSON (pasted or a file), checked like the editor's."""
    found = services.staff_survey(program, survey_id)
    imported = ImportQuestionsForm()
    if imported.validate():
        try:
            services.update_survey(found, title=found.title, questions=imported.parsed)
        except SurveyError as error:
            flash(error.message, "error")  # shown on any state's page: an opened survey has no editor
        else:
            db.session.commit()
            count = len(imported.parsed)
            flash(f"Imported {count} question{'s' if count != 1 else ''}: they replace the previous ones.", "success")
            return _see_other("surveys.survey", course_id=course_id, survey_id=found.id)
    db.session.rollback()
    return _survey_page(program, found, imported=imported, status=422)


@course_member(staff=True)
@with_program
def export_questions(course_id: int, program: Program, survey_id: int) -> Response:
    """The saved questions as a JSON file, to keep, edit or import into another survey."""
    found = services.staff_survey(program, survey_id)
    return Response(
        questions_json(parse_questions(found.questions)) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="survey-{found.id}-questions.json"'},
    )


def _change_state(
    course_id: int, program: Program, survey_id: int, change: Callable[[Survey], None], done: str
) -> Page:
    found = services.staff_survey(program, survey_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        change(found)
    except SurveyError as error:
        flash(error.message, "error")
        return _survey_page(program, found, status=error.status)
    db.session.commit()
    flash(done.format(title=found.title), "success")
    return _see_other("surveys.survey", course_id=course_id, survey_id=found.id)


@course_member(staff=True)
@with_program
def open_survey(course_id: int, program: Program, survey_id: int) -> Page:
    return _change_state(
        course_id,
        program,
        survey_id,
        services.open_survey,
        "“{title}” is open: participants see it on their home page. Close it when you have enough answers.",
    )


@course_member(staff=True)
@with_program
def close_survey(course_id: int, program: Program, survey_id: int) -> Page:
    return _change_state(
        course_id,
        program,
        survey_id,
        services.close_survey,
        "“{title}” is closed: its answers are final. Its results are on the program health page.",
    )


# --- A participant answers -----------------------------------------------------------------------------------------


def _participant(course_id: int) -> Participant:
    program = program_for_course(course_id)
    if program is None:
        raise NotFound("This course has no mentorship program yet.")
    participant = participant_for(program, current_membership())
    if participant is None:
        raise NotAuthorised(
            "Surveys are for the program's participants.",
            hint="Fill in your mentorship profile first if you take part.",
        )
    return participant


@course_member()
def answer(course_id: int, survey_id: int) -> Page:
    participant = _participant(course_id)
    found = services.participant_survey(participant, survey_id)
    questions = parse_questions(found.questions)
    response = services.response_of(found, participant)
    if request.method == "GET":
        values = form_values(questions, response.answers) if response else {}
        return _answer_page(found, questions, response, values)
    submitted = request.form.to_dict(flat=False)
    values = {q.key: submitted.get(field_name(q), []) for q in questions}
    settings, tool_base = runtime().settings, public_base_url()
    try:
        answers = parse_answers(questions, submitted)
        changed = response is not None
        try:
            services.answer_survey(found, participant, answers, settings=settings, tool_base=tool_base)
        except IntegrityError:
            # A double submission saved the first answer meanwhile: this one changes it.
            db.session.rollback()
            services.answer_survey(found, participant, answers, settings=settings, tool_base=tool_base)
    except AnswersInvalid as error:
        return _answer_page(found, questions, response, values, error.errors, 422)
    except SurveyError as error:
        flash(error.message, "error")
        return _answer_page(found, questions, response, values, status=error.status)
    db.session.commit()
    flash(
        "Your answers are updated. You can change them until the survey closes."
        if changed
        else "Thank you: your answers are saved. You can change them until the survey closes.",
        "success",
    )
    return _see_other("profiles.home", course_id=course_id)


def _answer_page(
    found: Survey,
    questions: list[Question],
    response: SurveyResponse | None,
    values: dict[str, list[str]],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return _page(
        "surveys/answer.html",
        status,
        survey=found,
        state=services.status_of(found),
        questions=questions,
        response=response,
        values=values,
        errors=errors or {},
    )
