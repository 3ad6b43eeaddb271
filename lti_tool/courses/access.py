"""Authorisation by course and role: a page is served only to a browser that launched into that course."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, session

from lti_tool.courses.models import Membership
from lti_tool.courses.services import membership_for
from lti_tool.errors import NotAuthorised
from lti_tool.lti.roles import CourseRole

F = TypeVar("F", bound=Callable[..., Any])

_RELAUNCH = "Open the tool again from your course in the LMS; your session may have expired or cookies may be blocked."


def course_member(*, staff: bool = False) -> Callable[[F], F]:
    """Require a launch session for the route's `course_id`; with `staff`, an instructor or teaching assistant."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, course_id: int, **kwargs: Any) -> Any:
            membership = membership_for(session.get("courses", {}).get(str(course_id)), course_id)
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
