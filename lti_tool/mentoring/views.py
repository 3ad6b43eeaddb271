"""The pair page: what mentor and mentee share (agreement, check-ins, sessions, goals), each with their rights."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.mentoring import checkins, goals, relationships, sessions
from lti_tool.mentoring.models import RelationshipMember
from lti_tool.mentoring.relationships import MentoringError, PairAccess
from lti_tool.runtime import runtime
from lti_tool.wording import waiting_for_text


def pair_url(access_or_id: PairAccess | int, course_id: int, anchor: str | None = None) -> str:
    relationship_id = access_or_id if isinstance(access_or_id, int) else access_or_id.relationship.id
    return url_for("mentoring.pair", course_id=course_id, relationship_id=relationship_id, _anchor=anchor)


def open_pair(course_id: int, relationship_id: int) -> PairAccess:
    """The pair page's relationship for the signed-in member, or 404 (see `relationships.pair_for`)."""
    return relationships.pair_for(course_id, relationship_id, current_membership())


def agreement_waiting_text(
    waiting: list[RelationshipMember], access: PairAccess, to: str = "accept the agreement"
) -> str:
    """ "Waiting for you and Priya Natarajan to accept the agreement.": the viewer first, as "you"."""
    others = [m.participant.membership.user.display_name for m in waiting if m.id != access.me.id]
    return waiting_for_text(others, me=any(m.id == access.me.id for m in waiting), to=to)


def render_pair(access: PairAccess, status: int = 200, **forms: Any) -> tuple[str, int]:
    """The pair page with every section; a section's form with errors is passed in `forms` to show them."""
    membership = current_membership()
    relationship = access.relationship
    return render_template(
        "mentoring/pair.html",
        membership=membership,
        course=membership.course,
        program=relationship.program,
        access=access,
        relationship=relationship,
        waiting_on=access.waiting_on,
        agreement_waiting_text=agreement_waiting_text(access.waiting_on, access),
        **checkins.section(access),
        **sessions.section(access, forms),
        **goals.section(access, forms),
    ), status


@course_member()
def pair(course_id: int, relationship_id: int) -> tuple[str, int]:
    return render_pair(open_pair(course_id, relationship_id))


@course_member()
def accept_agreement(course_id: int, relationship_id: int) -> Response | tuple[str, int]:
    access = open_pair(course_id, relationship_id)
    try:
        relationships.accept_agreement(
            access,
            request.form.get("expectations", ""),
            settings=runtime().settings,
            tool_base=public_base_url(),
        )
    except MentoringError as error:
        flash(error.explanation, "error")
        return render_pair(access, 422)
    db.session.commit()
    others = relationships.waiting_on(access.relationship)
    flash(
        "You accepted the agreement. "
        + (
            "Everyone has accepted: log your first session when you have met."
            if not others
            else agreement_waiting_text(others, access, to="accept it")
        ),
        "success",
    )
    return redirect(pair_url(access, course_id, "agreement"), 303)


@course_member()
def update_expectations(course_id: int, relationship_id: int) -> Response | tuple[str, int]:
    access = open_pair(course_id, relationship_id)
    try:
        relationships.update_expectations(access, request.form.get("expectations", ""))
    except MentoringError as error:
        flash(error.explanation, "error")
        return render_pair(access, 422)
    db.session.commit()
    flash("Your expectations are saved.", "success")
    return redirect(pair_url(access, course_id, "agreement"), 303)
