"""Skill assessment pages: a member's assessments, the rating form, a mentee's growth, and the staff's rounds."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.assessments import services
from lti_tool.assessments.forms import KIND_EXPLANATIONS, RULE_EXPLANATIONS, RatingForm, RoundForm, build_rating_form
from lti_tool.assessments.models import AssessmentRound, RaterRole
from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotFound
from lti_tool.extensions import db
from lti_tool.gradebook import services as gradebook
from lti_tool.hosts import public_base_url
from lti_tool.lti.roles import CourseRole
from lti_tool.programs.forms import ConfirmForm
from lti_tool.programs.models import Participant, Program, Skill
from lti_tool.programs.services import LEVEL_NAMES, program_for_course
from lti_tool.programs.views import with_program
from lti_tool.runtime import runtime

Page = str | tuple[str, int] | BaseResponse


def _program(course_id: int) -> Program:
    program = program_for_course(course_id)
    if program is None:
        raise NotFound("This course has no mentorship program yet.", hint="Your instructor sets it up first.")
    return program


def _page(template: str, program: Program, **context: Any) -> str:
    membership = current_membership()
    return render_template(
        template,
        membership=membership,
        course=membership.course,
        program=program,
        is_staff=CourseRole(membership.course_role).is_staff,
        timezone=services.viewer_timezone(program, membership),
        local_time=services.local_time,
        round_state=services.round_state,
        kind_labels=services.KIND_LABELS,
        rule_labels=services.GRADE_RULE_LABELS,
        rule_words=services.GRADE_RULE_WORDS,
        mentor_word=services.mentor_word(program),
        **context,
    )


def _see_other(endpoint: str, **values: Any) -> BaseResponse:
    return redirect(url_for(endpoint, **values), code=303)


# --- A member's assessments, the rating form and the growth page -------------------------------------------------


@course_member()
def index(course_id: int) -> str:
    program = _program(course_id)
    return _page("assessments/index.html", program, mine=services.member_assessments(program, current_membership()))


def _rate_page(
    program: Program,
    round_: AssessmentRound,
    subject: Participant,
    role: RaterRole,
    skills: list[Skill],
    form: RatingForm,
    submitted: bool,
) -> str:
    return _page(
        "assessments/rate.html",
        program,
        round=round_,
        subject=subject,
        role=role,
        skills=skills,
        form=form,
        submitted=submitted,
        level_names=LEVEL_NAMES,
        focus_rule=services.focus_rule_words(role, subject.membership.user.display_name),
        open=services.round_state(round_) is services.RoundState.OPEN,
    )


@course_member()
def rate(course_id: int, round_id: int, participant_id: int) -> Page:
    membership = current_membership()
    program = _program(course_id)
    round_ = services.round_of(program, round_id)
    subject = services.subject_of(program, participant_id)
    role = services.rater_role(program, membership, subject)
    skills = services.focus_skills(program, subject)
    previous = services.assessment_by(round_, subject, membership)
    if request.method == "GET":
        form = build_rating_form(skills, previous, fill=True)
        return _rate_page(program, round_, subject, role, skills, form, previous is not None)
    form = build_rating_form(skills, previous, fill=False)
    try:
        services.check_open(round_)
        if not form.validate_on_submit():
            return _rate_page(program, round_, subject, role, skills, form, previous is not None), 422
        levels, comment = form.levels(), form.comment.data or ""
        settings, tool_base = runtime().settings, public_base_url()
        try:
            services.submit_assessment(
                round_, subject, membership, role, levels, comment, settings=settings, tool_base=tool_base
            )
            db.session.commit()
        except IntegrityError:
            # A double submission saved first: this one replaces it, as a later submission would.
            db.session.rollback()
            services.submit_assessment(
                round_, subject, membership, role, levels, comment, settings=settings, tool_base=tool_base
            )
            db.session.commit()
    except services.AssessmentError as error:
        db.session.rollback()
        flash(error.explanation, "error")
        return _rate_page(program, round_, subject, role, skills, form, previous is not None), error.status
    name = subject.membership.user.display_name
    if role is RaterRole.SELF:
        flash(
            f"Your self-assessment for “{round_.title}” is saved. You can change it until the round closes.", "success"
        )
        return _see_other("assessments.index", course_id=course_id)
    flash(
        f"Your rating of {name} for “{round_.title}” is saved; {name} sees it on their growth page. "
        "You can change it until the round closes.",
        "success",
    )
    if role is RaterRole.INSTRUCTOR:
        return _see_other("assessments.round_page", course_id=course_id, round_id=round_.id)
    return _see_other("assessments.index", course_id=course_id)


@course_member()
def growth(course_id: int, participant_id: int) -> str:
    membership = current_membership()
    program = _program(course_id)
    subject = services.subject_of(program, participant_id)
    role = services.rater_role(program, membership, subject)
    report = services.growth_report(
        program, subject, viewer_role=role, timezone=services.viewer_timezone(program, membership)
    )
    return _page(
        "assessments/growth.html",
        program,
        subject=subject,
        role=role,
        report=report,
        level_rule=services.LEVEL_RULE_WORDS,
        level_names=LEVEL_NAMES,
    )


# --- The instructor's rounds ------------------------------------------------------------------------------------


def _manage_page(program: Program, form: RoundForm) -> str:
    return _page(
        "assessments/manage.html",
        program,
        rounds=services.program_rounds(program),
        scores_waiting=gradebook.waiting_count(program.course_id),
        completion=services.completion_by_round(program),
        mentees=services.subject_count(program),
        form=form,
        kind_explanations=KIND_EXPLANATIONS,
        rule_explanations=RULE_EXPLANATIONS,
    )


@course_member(staff=True)
@with_program
def manage(course_id: int, program: Program) -> Page:
    if request.method == "GET":
        return _manage_page(program, RoundForm(formdata=None, position=services.next_position(program)))
    form = RoundForm()
    if not form.validate_on_submit():
        return _manage_page(program, form), 422
    round_ = services.create_round(program, form.to_settings())
    db.session.commit()
    flash(f"Created “{round_.title}”. Open it when mentees and mentors should rate.", "success")
    return _see_other("assessments.round_page", course_id=course_id, round_id=round_.id)


def _round_page(program: Program, round_: AssessmentRound, form: RoundForm) -> str:
    progress = services.round_progress(
        round_,
        current_membership(),
        query=request.args.get("q", ""),
        shown=request.args.get("show", ""),
        page=request.args.get("page", 1, type=int),
    )
    return _page(
        "assessments/round.html",
        program,
        round=round_,
        progress=progress,
        filters=services.filter_labels(round_),
        totals=services.completion_by_round(program, round_id=round_.id).get(round_.id, services.RoundCompletion()),
        mentees=services.subject_count(program),
        scores_waiting=gradebook.waiting_count(program.course_id, round_id=round_.id) if round_.graded else 0,
        gradebook=gradebook.round_statuses(round_, [row.subject for row in progress.rows]),
        gradebook_problem=gradebook.service_problem(program.course),
        form=form,
        action_form=ConfirmForm(formdata=None),
        kind_explanations=KIND_EXPLANATIONS,
        rule_explanations=RULE_EXPLANATIONS,
        grade_text=services.grade_text,
    )


@course_member(staff=True)
@with_program
def round_page(course_id: int, program: Program, round_id: int) -> Page:
    round_ = services.round_of(program, round_id)
    if request.method == "GET":
        return _round_page(program, round_, RoundForm(formdata=None, data=RoundForm.data_of(round_)))
    form = RoundForm()
    if not form.validate_on_submit():
        return _round_page(program, round_, form), 422
    services.update_round(round_, form.to_settings())
    db.session.commit()
    flash(f"Saved the settings of “{round_.title}”.", "success")
    return _see_other("assessments.round_page", course_id=course_id, round_id=round_.id)


def _change_state(course_id: int, program: Program, round_id: int, *, opening: bool) -> Page:
    round_ = services.round_of(program, round_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        (services.open_round if opening else services.close_round)(round_)
    except services.AssessmentError as error:
        db.session.rollback()
        flash(error.explanation, "error")
        form = RoundForm(formdata=None, data=RoundForm.data_of(round_))
        return _round_page(program, round_, form), error.status
    db.session.commit()
    if opening:
        flash(f"“{round_.title}” is open: mentees, their mentors and staff can submit until you close it.", "success")
    else:
        flash(f"“{round_.title}” is closed: its ratings are final unless you reopen it.", "success")
    return _see_other("assessments.round_page", course_id=course_id, round_id=round_.id)


@course_member(staff=True)
@with_program
def open_round(course_id: int, program: Program, round_id: int) -> Page:
    return _change_state(course_id, program, round_id, opening=True)


@course_member(staff=True)
@with_program
def close_round(course_id: int, program: Program, round_id: int) -> Page:
    return _change_state(course_id, program, round_id, opening=False)
