"""A participant's own pages: their mentorship home (profile status, published matches) and the profile form."""

from __future__ import annotations

from functools import partial

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from lti_tool.assessments.services import member_assessments
from lti_tool.courses.access import course_member, current_membership
from lti_tool.courses.models import Membership
from lti_tool.errors import NotAuthorised, NotFound
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.matching import services as matching
from lti_tool.mentoring import checkins
from lti_tool.profiles import services
from lti_tool.profiles.forms import build_profile_form
from lti_tool.programs.models import Program
from lti_tool.programs.services import allowed_roles, participant_for, program_for_course
from lti_tool.runtime import runtime
from lti_tool.surveys.services import open_surveys

FIND_PEOPLE = "find_people"  # the name of the profile form's search button


@course_member()
def home(course_id: int) -> str:
    membership = current_membership()
    program = program_for_course(course_id)
    if program is None:
        return render_template("profiles/home.html", membership=membership, course=membership.course, program=None)
    participant = participant_for(program, membership)
    requests = matching.home_notice(program, participant, settings=runtime().settings) if participant else None
    if requests is not None:
        db.session.commit()  # what expired on this visit
    return render_template(
        "profiles/home.html",
        requests=requests,
        local_time=partial(services.local_time, timezone=participant.timezone if participant else None),
        withdrawn=matching.withdrawn,
        membership=membership,
        course=membership.course,
        program=program,
        has_role=any(allowed_roles(program, membership)),
        participant=participant,
        status=services.profile_status(participant, program),
        missing=services.missing_parts(participant, program) if participant else [],
        matches=services.published_matches(participant, program) if participant else [],
        assessments=member_assessments(program, membership),
        pairs=checkins.home_pairs(participant) if participant else [],
        surveys=open_surveys(participant) if participant else [],
    )


def _check_role(program: Program, membership: Membership) -> None:
    if not any(allowed_roles(program, membership)):
        raise NotAuthorised(
            "This mentorship program has no participant role for you.",
            hint="Ask the course's instructor if you should take part as a mentor or a mentee.",
        )


@course_member()
def edit(course_id: int) -> ResponseReturnValue:
    membership = current_membership()
    program = program_for_course(course_id)
    if program is None:
        return redirect(url_for("profiles.home", course_id=course_id), 303)
    _check_role(program, membership)
    participant = participant_for(program, membership)
    form = build_profile_form(program, membership, participant, fill=request.method == "GET")
    searching = form.is_submitted() and FIND_PEOPLE in request.form  # the picker without JavaScript: save nothing
    if not searching and form.validate_on_submit():
        data = form.to_input()
        settings, tool_base = runtime().settings, public_base_url()
        try:
            saved = services.save_profile(program, membership, data, settings=settings, tool_base=tool_base)
            db.session.commit()
        except IntegrityError:
            # A double submission created the profile first: apply this one on top of it (it will not emit again).
            db.session.rollback()
            saved = services.save_profile(program, membership, data, settings=settings, tool_base=tool_base)
            db.session.commit()
        flash(
            "Your profile is complete. You will see your match here once your instructor publishes matches."
            if saved.completed_now
            else "Your profile is saved.",
            "success",
        )
        return redirect(url_for("profiles.home", course_id=course_id), 303)
    return render_template(
        "profiles/edit.html",
        membership=membership,
        course=membership.course,
        program=program,
        participant=participant,
        form=form,
        days=services.DAYS,
        block_starts=services.BLOCK_STARTS,
        block_hours=services.BLOCK_HOURS,
        native_names={code: own for code, _, own in services.LANGUAGES},
        guess_timezone=participant is None and not form.is_submitted(),
        find_people=FIND_PEOPLE,
    ), (422 if form.is_submitted() and not searching else 200)


@course_member()
def people(course_id: int) -> ResponseReturnValue:
    """The preference picker's search: a bounded list of the people this member may name, by name."""
    membership = current_membership()
    program = program_for_course(course_id)
    if program is None:
        raise NotFound("This course has no mentorship program yet.")
    _check_role(program, membership)
    found = services.search_candidates(program, participant_for(program, membership), request.args.get("q", ""))
    return jsonify(
        people=[{"id": person.id, "name": person.name} for person in found.people],
        total=found.total,
        summary=found.summary,
    )
