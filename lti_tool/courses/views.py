"""Course landing: instructors and TAs go to the program, learners to their own mentorship page."""

from __future__ import annotations

from flask import redirect, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotAuthorised
from lti_tool.lti.roles import CourseRole


@course_member()
def home(course_id: int) -> Response:
    role = CourseRole(current_membership().course_role)
    if role.is_staff:
        return redirect(url_for("programs.overview", course_id=course_id))
    if role is CourseRole.LEARNER:
        return redirect(url_for("profiles.home", course_id=course_id))
    raise NotAuthorised(
        "Your role in this course does not include the mentorship program.",
        hint="Ask the course's instructor to enrol you as a student or a teacher.",
    )
