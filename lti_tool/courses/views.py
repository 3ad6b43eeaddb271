"""Course landing: instructors and TAs go to the program, learners to their own mentorship page."""

from __future__ import annotations

from flask import redirect, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotAuthorised
from lti_tool.lti.roles import CourseRole


def landing_url(course_id: int, role: CourseRole) -> str | None:
    """The page a member of the course lands on (the program for staff, their own mentorship page for learners);
    None for a role the program has no page for."""
    if role.is_staff:
        return url_for("programs.overview", course_id=course_id)
    if role is CourseRole.LEARNER:
        return url_for("profiles.home", course_id=course_id)
    return None


@course_member()
def home(course_id: int) -> Response:
    landing = landing_url(course_id, CourseRole(current_membership().course_role))
    if landing is None:
        raise NotAuthorised(
            "Your role in this course does not include the mentorship program.",
            hint="Ask the course's instructor to enrol you as a student or a teacher.",
        )
    return redirect(landing)
