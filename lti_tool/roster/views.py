"""The staff's "Sync now": sync the course roster from the LMS while they wait, then back to the program page."""

from __future__ import annotations

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.roster import services
from lti_tool.runtime import runtime


@course_member(staff=True)
def sync_now(course_id: int) -> Response:
    # The form's CSRF token is checked app-wide (Flask-WTF) before this view runs.
    rt = runtime()
    course = current_membership().course
    try:
        with PlatformHttp(rt.settings) as http:
            client = services.service_client(course, keys=rt.keys, http=http)
            report = services.sync_roster(course, client, now=utcnow())
    except MentorLtiError as error:
        db.session.rollback()
        flash(f"The roster was not synced; nothing changed. {error.explanation}", "error")
    else:
        db.session.commit()
        flash(f"Roster synced from the LMS. {report.summary}", "success")
    return redirect(url_for("programs.overview", course_id=course_id), code=303)
