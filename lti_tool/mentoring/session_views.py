"""The session log's routes: log a session, open one, edit it and read its history, confirm or dispute it, rate
it, keep a private note on it and tick action items."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.mentoring import session_forms, sessions
from lti_tool.mentoring.models import MentoringSession, RelationshipMember
from lti_tool.mentoring.relationships import MentoringError, PairAccess
from lti_tool.mentoring.views import open_pair, pair_url, render_pair
from lti_tool.runtime import runtime

Page = Response | tuple[str, int]


def session_url(access: PairAccess, mentoring_session: MentoringSession, endpoint: str = "show_session") -> str:
    return url_for(
        f"mentoring.{endpoint}",
        course_id=access.relationship.program.course_id,
        relationship_id=access.relationship.id,
        session_id=mentoring_session.id,
    )


def _names(members: list[RelationshipMember]) -> str:
    """ "Ann", "Ann and Bo", "Ann, Bo and Cy"."""
    names = [m.participant.membership.user.display_name for m in members]
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else "".join(names)


def _page(template: str, access: PairAccess, mentoring_session: MentoringSession, status: int, **context: Any) -> Page:
    membership = current_membership()
    return render_template(
        template,
        membership=membership,
        course=membership.course,
        program=access.relationship.program,
        access=access,
        relationship=access.relationship,
        card=sessions.session_cards(access, [mentoring_session])[0],
        **sessions.page_context(access),
        **context,
    ), status


def render_session(access: PairAccess, mentoring_session: MentoringSession, status: int = 200, **forms: Any) -> Page:
    """A session's own page: everything about it, and the viewer's answer, rating and private note forms."""
    rating = sessions.rating_of(access, mentoring_session)
    note = sessions.private_note_of(access, mentoring_session)
    return _page(
        "mentoring/session_detail.html",
        access,
        mentoring_session,
        status,
        dispute_form=forms.get("dispute_form") or session_forms.DisputeForm(prefix="dispute", formdata=None),
        rating_form=forms.get("rating_form")
        or session_forms.RatingForm(
            prefix="rating",
            formdata=None,
            data={"rating": str(rating.rating), "comment": rating.comment} if rating else None,
        ),
        note_form=forms.get("note_form")
        or session_forms.PrivateNoteForm(prefix="note", formdata=None, data={"text": note.text if note else ""}),
        my_rating=rating,
    )


def _back(access: PairAccess, mentoring_session: MentoringSession) -> Response:
    """Back to where the form was: the session's page, or its card on the pair page."""
    if request.form.get("return_to") == "pair":
        return redirect(pair_url(access, access.relationship.program.course_id, f"session-{mentoring_session.id}"), 303)
    return redirect(session_url(access, mentoring_session), 303)


def _refused(access: PairAccess, mentoring_session: MentoringSession, error: MentoringError, **forms: Any) -> Page:
    db.session.rollback()
    flash(f"Nothing was saved: {error.explanation}", "error")
    if request.form.get("return_to") == "pair":
        return render_pair(access, 422)
    return render_session(access, mentoring_session, 422, **forms)


@course_member()
def log_session(course_id: int, relationship_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    form = session_forms.SessionForm.for_pair(access)
    if form.validate():
        try:
            logged = sessions.log_session(
                access,
                form.entry(),
                form.private_note.data or "",
                settings=runtime().settings,
                tool_base=public_base_url(),
            )
        except sessions.SessionEntryError as error:
            db.session.rollback()
            form.add_entry_errors(error.field_errors)
        else:
            db.session.commit()
            waiting = sessions.expected_responders(access, logged)
            flash(
                "Your session is logged. "
                + (
                    f"Waiting for {_names(waiting)} to confirm it."
                    if waiting
                    else "No one else in the pair is there to confirm it."
                ),
                "success",
            )
            return redirect(pair_url(access, course_id, f"session-{logged.id}"), 303)
    flash("Nothing was saved: correct what is marked in the session form.", "error")
    return render_pair(access, 422, log_form=form)


@course_member()
def show_session(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    return render_session(access, sessions.session_for(access, session_id))


@course_member()
def edit_session(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    sessions.require_logger(access, mentoring_session)
    if request.method == "GET":
        form = session_forms.EditSessionForm.of(access, mentoring_session, sessions.action_items_of(mentoring_session))
        return _edit_page(access, mentoring_session, form, 200)
    form = session_forms.EditSessionForm.for_pair(access)
    if form.validate():
        try:
            changed = sessions.edit_session(
                access, mentoring_session, form.entry(), settings=runtime().settings, tool_base=public_base_url()
            )
        except sessions.SessionEntryError as error:
            db.session.rollback()
            form.add_entry_errors(error.field_errors)
        else:
            if not changed:
                flash("Nothing changed, so nothing was saved.", "success")
                return redirect(session_url(access, mentoring_session), 303)
            db.session.commit()
            waiting = sessions.expected_responders(access, mentoring_session)
            flash(
                f"Saved as version {mentoring_session.version}."
                + (f" {_names(waiting)} will be asked to confirm it again." if waiting else ""),
                "success",
            )
            return redirect(session_url(access, mentoring_session), 303)
    flash("Nothing was saved: correct what is marked in the form.", "error")
    return _edit_page(access, mentoring_session, form, 422)


def _edit_page(
    access: PairAccess, mentoring_session: MentoringSession, form: session_forms.SessionForm, status: int
) -> Page:
    return _page("mentoring/session_edit.html", access, mentoring_session, status, form=form)


@course_member()
def session_history(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    return _page(
        "mentoring/session_history.html",
        access,
        mentoring_session,
        200,
        steps=sessions.session_history(access, mentoring_session),
    )


@course_member()
def confirm_session(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    try:
        sessions.confirm_session(access, mentoring_session, settings=runtime().settings, tool_base=public_base_url())
    except MentoringError as error:
        return _refused(access, mentoring_session, error)
    db.session.commit()
    flash("You confirmed this session. Rate it, if you like, and note what you will do next.", "success")
    return _back(access, mentoring_session)


@course_member()
def dispute_session(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    form = session_forms.DisputeForm(prefix="dispute")
    if not form.validate():
        flash("Nothing was saved: say what is wrong with this log.", "error")
        return render_session(access, mentoring_session, 422, dispute_form=form)
    try:
        sessions.dispute_session(access, mentoring_session, form.reason.data or "")
    except MentoringError as error:
        return _refused(access, mentoring_session, error, dispute_form=form)
    db.session.commit()
    logger = sessions.participant_names(access).get(mentoring_session.logged_by_id, "The member who logged it")
    flash(f"You disputed this session. {logger} can now correct it; you will then answer again.", "success")
    return _back(access, mentoring_session)


@course_member()
def rate_session(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    form = session_forms.RatingForm(prefix="rating")
    if not form.validate():
        flash("Nothing was saved: correct what is marked in your rating.", "error")
        return render_session(access, mentoring_session, 422, rating_form=form)
    try:
        sessions.rate_session(access, mentoring_session, int(form.rating.data), form.comment.data or "")
    except MentoringError as error:
        return _refused(access, mentoring_session, error, rating_form=form)
    db.session.commit()
    flash(f"You rated this session {form.rating.data} out of 5. The others in the pair see your rating.", "success")
    return _back(access, mentoring_session)


@course_member()
def save_session_note(course_id: int, relationship_id: int, session_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    form = session_forms.PrivateNoteForm(prefix="note")
    if not form.validate():
        flash("Nothing was saved: correct what is marked in your private note.", "error")
        return render_session(access, mentoring_session, 422, note_form=form)
    try:
        kept = sessions.save_private_note(access, mentoring_session, form.text.data or "")
    except MentoringError as error:
        return _refused(access, mentoring_session, error, note_form=form)
    db.session.commit()
    flash("Your private note is saved: only you can read it." if kept else "Your private note is removed.", "success")
    return _back(access, mentoring_session)


@course_member()
def mark_action_item(course_id: int, relationship_id: int, session_id: int, item_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    mentoring_session = sessions.session_for(access, session_id)
    # Two buttons send done=1 or done=0; anything else is "not done" (CSRF is checked for every POST).
    item = sessions.mark_action_item(access, mentoring_session, item_id, request.form.get("done") == "1")
    db.session.commit()
    flash(f"Ticked off “{item.text}”." if item.done_at else f"“{item.text}” is open again.", "success")
    return _back(access, mentoring_session)
