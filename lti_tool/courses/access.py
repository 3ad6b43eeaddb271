"""Authorisation by course and role: a page is served only to a browser that launched into that course.

The browser's session names one LMS user (`user_id`) and that user's memberships by course (`courses`). A launch
by another user (a shared lab computer) first ends the earlier user's access in that browser; pages check that
the remembered membership is the session user's own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, session

from lti_tool.courses.models import Membership
from lti_tool.courses.services import LaunchedMember, membership_for
from lti_tool.errors import NotAuthorised
from lti_tool.lti.admin import SESSION_KEY as ADMIN_SESSION_KEY
from lti_tool.lti.roles import CourseRole

F = TypeVar("F", bound=Callable[..., Any])

USER_KEY = "user_id"
COURSES_KEY = "courses"
MAX_REMEMBERED_COURSES = 20
# The tool administrator's sign-in is not an LMS user's: it survives a change of LMS user in the browser.
_KEPT_ACROSS_USERS = (ADMIN_SESSION_KEY,)

_RELAUNCH = "Open the tool again from your course in the LMS; your session may have expired or cookies may be blocked."


def remember_launch(member: LaunchedMember) -> None:
    """Let this browser open `member`'s course pages from now on.

    A launch by another LMS user drops everything the session held for the earlier one (their memberships in
    every course, flashed messages, the CSRF token their open pages carry) and keeps only the admin sign-in.
    The same user's launches into several courses accumulate; the oldest courses are forgotten first.
    """
    if session.get(USER_KEY) != member.user_id:
        kept = {key: session[key] for key in _KEPT_ACROSS_USERS if key in session}
        session.clear()
        session.update(kept)
        session[USER_KEY] = member.user_id
    courses = {k: v for k, v in session.get(COURSES_KEY, {}).items() if k != str(member.course_id)}
    courses[str(member.course_id)] = member.membership_id
    session[COURSES_KEY] = dict(list(courses.items())[-MAX_REMEMBERED_COURSES:])
    session.permanent = True


def course_member(*, staff: bool = False) -> Callable[[F], F]:
    """Require a launch session for the route's `course_id`; with `staff`, an instructor or teaching assistant."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, course_id: int, **kwargs: Any) -> Any:
            membership = membership_for(
                session.get(COURSES_KEY, {}).get(str(course_id)), course_id, user_id=session.get(USER_KEY)
            )
            if membership is None:
                raise NotAuthorised("This page belongs to a course you have not opened the tool from.", hint=_RELAUNCH)
            if staff and not CourseRole(membership.course_role).is_staff:
                raise NotAuthorised("Only the course's instructors and teaching assistants can open this page.")
            g.membership = membership
            return view(*args, course_id=course_id, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def current_membership() -> Membership:
    membership: Membership = g.membership
    return membership
