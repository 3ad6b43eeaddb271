"""Program setup for a course's staff: create the program, edit its settings and its skill framework."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.courses.access import course_member, current_membership
from lti_tool.courses.services import course_roster_counts
from lti_tool.extensions import db
from lti_tool.matching import services as matching
from lti_tool.programs import forms, services
from lti_tool.programs.models import MentoringModel, Program, Skill

Page = str | tuple[str, int] | BaseResponse


def _see_other(endpoint: str, **values: Any) -> BaseResponse:
    return redirect(url_for(endpoint, **values), code=303)


def with_program(view: Callable[..., Page]) -> Callable[..., Page]:
    """Pass the course's program to the view; without one, send staff to the overview to create it."""

    @wraps(view)
    def wrapper(*, course_id: int, **kwargs: Any) -> Page:
        program = services.program_for_course(course_id)
        if program is None:
            flash("Create the course's mentorship program first.", "error")
            return _see_other("programs.overview", course_id=course_id)
        return view(program=program, course_id=course_id, **kwargs)

    return wrapper


def _page(template: str, **context: Any) -> str:
    membership = current_membership()
    return render_template(
        template,
        membership=membership,
        course=membership.course,
        model_labels=forms.MODEL_LABELS,
        model_explanations=forms.MODEL_EXPLANATIONS,
        eligibility_labels=forms.ELIGIBILITY_LABELS,
        **context,
    )


# --- Overview and creation ---------------------------------------------------------------------------------------


def _overview_page(program: Program | None, create_form: forms.CreateProgramForm | None = None) -> str:
    roster = course_roster_counts(current_membership().course_id)
    if program is None:
        form = create_form or forms.CreateProgramForm()
        return _page("programs/overview.html", program=None, form=form, roster=roster)
    return _page(
        "programs/overview.html",
        program=program,
        roster=roster,
        settings=services.settings_of(program),
        counts=services.program_counts(program, roster),
        matching_url=url_for("matching.review", course_id=program.course_id),
        weight_labels=forms.WEIGHT_LABELS,
        rule_labels=forms.RULE_LABELS,
    )


@course_member(staff=True)
def overview(course_id: int) -> str:
    return _overview_page(services.program_for_course(course_id))


@course_member(staff=True)
def create(course_id: int) -> Page:
    if services.program_for_course(course_id) is not None:
        flash("This course already has a mentorship program.", "error")
        return _see_other("programs.overview", course_id=course_id)
    form = forms.CreateProgramForm()
    if not form.validate_on_submit():
        return _overview_page(None, form), 400
    program = services.create_program(
        current_membership().course,
        title=form.title.data or "",
        model=MentoringModel(form.model.data),
        resource_link_id=services.course_resource_link_id(course_id),
    )
    db.session.commit()
    flash(f"Created “{program.title}” with the default skill framework.", "success")
    return _see_other("programs.overview", course_id=course_id)


# --- Settings ---------------------------------------------------------------------------------------------------


@course_member(staff=True)
@with_program
def settings(course_id: int, program: Program) -> Page:
    if request.method == "GET":
        form = forms.SettingsForm(formdata=None, data=forms.SettingsForm.data_of(services.settings_of(program)))
        return _settings_page(program, form)
    form = forms.SettingsForm()
    valid = form.validate()
    settings = form.to_settings()
    if settings is not None:
        # The program's own rules too, so that one submission shows every error at once.
        errors = services.settings_errors(settings)
        form.add_service_errors(errors)
        if valid and not errors:
            model_before = program.model
            services.update_settings(program, settings)
            db.session.commit()
            flash("Settings saved.", "success")
            if program.model != model_before:
                # A change of model is checked against the profiles and drafts there are, at once.
                for note in matching.model_change_notes(program):
                    flash(note, "error")
            return _see_other("programs.overview", course_id=course_id)
    return _settings_page(program, form), 400


def _settings_page(program: Program, form: forms.SettingsForm) -> str:
    return _page(
        "programs/settings.html",
        program=program,
        form=form,
        shares=services.weight_shares(form.weight_values()),
        weight_labels=forms.WEIGHT_LABELS,
        rule_labels=forms.RULE_LABELS,
    )


# --- Skill framework --------------------------------------------------------------------------------------------


def _skills_page(
    program: Program,
    add_form: forms.NewSkillForm | None = None,
    import_form: forms.ImportForm | None = None,
) -> str:
    grouped = {category: [s for s in program.skills if s.category == category] for category in services.CATEGORIES}
    return _page(
        "programs/skills.html",
        program=program,
        grouped=grouped,
        category_labels=forms.CATEGORY_LABELS,
        level_names=services.LEVEL_NAMES,
        csv_columns=",".join(services.CSV_COLUMNS),
        add_form=add_form or forms.NewSkillForm(prefix="add", formdata=None, category="technical"),
        import_form=import_form or forms.ImportForm(formdata=None),
        remove_form=forms.ConfirmForm(formdata=None),
    )


@course_member(staff=True)
@with_program
def skills(course_id: int, program: Program) -> Page:
    if request.method == "GET":
        return _skills_page(program)
    form = forms.NewSkillForm(prefix="add")
    valid = form.validate()
    if not form.key.errors and services.skill_by_key(program, form.key.data or "") is not None:
        form.key.errors = [f"“{form.key.data}” is already the key of another skill; keys are unique."]
        valid = False
    spec = form.to_new_spec() if valid else None
    if spec is not None:
        try:
            skill = services.add_skill(program, spec)
        except services.SkillFieldError as error:
            form.add_skill_error(error)
        except services.ProgramError as error:
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(f"Added “{skill.name}”.", "success")
            return _see_other("programs.skills", course_id=course_id, _anchor=f"skill-{skill.key}")
    db.session.rollback()
    return _skills_page(program, add_form=form), 400


def _skill_or_404(program: Program, skill_id: int) -> Skill:
    skill = services.skill_of(program, skill_id)
    if skill is None:
        abort(404)
    return skill


@course_member(staff=True)
@with_program
def edit_skill(course_id: int, program: Program, skill_id: int) -> Page:
    skill = _skill_or_404(program, skill_id)
    if request.method == "GET":
        current = services.SkillSpec(skill.key, skill.name, skill.category, skill.description, tuple(skill.descriptors))
        form = forms.SkillForm(formdata=None, data=forms.SkillForm.data_of(current))
        return _page(
            "programs/skill_edit.html", program=program, skill=skill, form=form, level_names=services.LEVEL_NAMES
        )
    form = forms.SkillForm()
    spec = form.to_spec(skill.key) if form.validate() else None
    if spec is not None:
        services.update_skill(skill, spec)
        db.session.commit()
        flash(f"Saved “{skill.name}”.", "success")
        return _see_other("programs.skills", course_id=course_id, _anchor=f"skill-{skill.key}")
    return _page(
        "programs/skill_edit.html", program=program, skill=skill, form=form, level_names=services.LEVEL_NAMES
    ), 400


@course_member(staff=True)
@with_program
def remove_skill(course_id: int, program: Program, skill_id: int) -> Page:
    skill = _skill_or_404(program, skill_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    name = skill.name
    try:
        services.remove_skill(program, skill)
    except services.ProgramError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Removed “{name}”.", "success")
    return _see_other("programs.skills", course_id=course_id)


@course_member(staff=True)
@with_program
def import_skills(course_id: int, program: Program) -> Page:
    form = forms.ImportForm()
    if form.validate_on_submit():
        upload = form.framework.data
        try:
            count = services.import_framework(program, upload.filename or "", upload.read())
        except services.ProgramError as error:
            # All or nothing: a bad row leaves the current framework as it was.
            db.session.rollback()
            form.framework.errors = [*form.framework.errors, error.message]
        else:
            db.session.commit()
            flash(f"Imported {count} skills; they replace the previous framework.", "success")
            return _see_other("programs.skills", course_id=course_id)
    return _skills_page(program, import_form=form), 400


@course_member(staff=True)
@with_program
def export_skills(course_id: int, program: Program) -> Response:
    body = json.dumps(services.framework_document(program), indent=2, ensure_ascii=False) + "\n"
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="skill-framework-course-{course_id}.json"'
    return response
