"""The pair page's check-in action: ask the other members for a check-in."""

from __future__ import annotations

from flask import flash, redirect, request
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.mentoring import checkins
from lti_tool.mentoring.relationships import MentoringError
from lti_tool.mentoring.views import open_pair, pair_url, render_pair
from lti_tool.runtime import runtime


@course_member()
def request_checkin(course_id: int, relationship_id: int) -> Response | tuple[str, int]:
    access = open_pair(course_id, relationship_id)
    try:
        checkins.request_checkin(
            access, request.form.get("message", ""), settings=runtime().settings, tool_base=public_base_url()
        )
    except MentoringError as error:
        db.session.rollback()
        flash(error.explanation, "error")
        return render_pair(access, 422)
    db.session.commit()
    names = ", ".join(m.participant.membership.user.display_name for m in access.others) or "the others"
    flash(f"You asked {names} for a check-in. Log the session here once you have met.", "success")
    return redirect(pair_url(access, course_id, "checkin"), 303)
