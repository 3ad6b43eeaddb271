"""Maps the LTI roles of a launch to the tool's course role, preferring course (membership) roles."""

from __future__ import annotations

from enum import StrEnum

_MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_MEMBERSHIP_SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
_INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
_SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"


class CourseRole(StrEnum):
    INSTRUCTOR = "instructor"
    TEACHING_ASSISTANT = "teaching_assistant"
    LEARNER = "learner"
    OTHER = "other"

    @property
    def is_staff(self) -> bool:
        return self in (CourseRole.INSTRUCTOR, CourseRole.TEACHING_ASSISTANT)


def course_role(roles: list[str]) -> CourseRole:
    """Decide the course role from the `roles` claim.

    Canvas sends institution roles (e.g. Instructor) even for a course's students, so when any course
    membership role is present only those count; institution and system roles are a fallback for launches
    that carry no membership role (e.g. an administrator launching from an admin placement).
    """
    membership = [r for r in roles if _is_membership_role(r)]
    if membership:
        names = {_short_name(r) for r in membership}
        if "Instructor#TeachingAssistant" in names or "TeachingAssistant" in names:
            return CourseRole.TEACHING_ASSISTANT
        if names & {"Instructor", "ContentDeveloper", "Administrator"}:
            return CourseRole.INSTRUCTOR
        if names & {"Learner", "Learner#Learner", "Member"}:
            return CourseRole.LEARNER
        return CourseRole.OTHER
    fallback = {r.removeprefix(_INSTITUTION).removeprefix(_SYSTEM) for r in roles}
    if fallback & {"Administrator", "SysAdmin"}:
        return CourseRole.INSTRUCTOR
    return CourseRole.OTHER


_ADMINISTRATOR_ROLES = frozenset({_SYSTEM + "Administrator", _SYSTEM + "SysAdmin", _INSTITUTION + "Administrator"})


def roster_lists(roles: list[str]) -> bool:
    """Whether the course roster is expected to list someone who launched with these roles, so that missing from it
    means they left the course. Only course members are on it. An administrator may launch into any course without
    being enrolled: Canvas then sends no membership role, Moodle the Instructor one beside the administrator roles,
    so a launch with an administrator role says nothing about enrolment."""
    return any(_is_membership_role(r) for r in roles) and _ADMINISTRATOR_ROLES.isdisjoint(roles)


def _is_membership_role(role: str) -> bool:
    return role.startswith((_MEMBERSHIP, _MEMBERSHIP_SUB)) or ("#" not in role and "/" not in role)


def _short_name(role: str) -> str:
    # Simple names ("Instructor") are deprecated but still valid LTI 1.3 membership roles.
    return role.removeprefix(_MEMBERSHIP).removeprefix(_MEMBERSHIP_SUB)
