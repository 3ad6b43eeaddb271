"""Course landing pages: instructors and TAs get program setup, learners their own mentorship page."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.courses.services import course_roster_counts
from lti_tool.errors import NotAuthorised
from lti_tool.lti.roles import CourseRole


@course_member()
def home(course_id: int) -> Response:
    role = CourseRole(current_membership().course_role)
    if role.is_staff:
        return redirect(url_for("courses.program_setup", course_id=course_id))
    if role is CourseRole.LEARNER:
        return redirect(url_for("courses.my_mentorship", course_id=course_id))
    raise NotAuthorised(
        "Your role in this course does not include the mentorship program.",
        hint="Ask the course's instructor to enrol you as a student or a teacher.",
    )


@course_member(staff=True)
def program_setup(course_id: int) -> str:
    membership = current_membership()
    return render_template(
        "courses/program_setup.html",
        membership=membership,
        course=membership.course,
        counts=course_roster_counts(course_id),
    )


@course_member()
def my_mentorship(course_id: int) -> str:
    membership = current_membership()
    return render_template("courses/my_mentorship.html", membership=membership, course=membership.course)
