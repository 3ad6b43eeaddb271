"""Course roles from LTI role claims (pure)."""

from __future__ import annotations

import pytest

from lti_tool.lti.roles import CourseRole, course_role

M = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
I = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"  # noqa: E741


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([M + "Instructor"], CourseRole.INSTRUCTOR),
        ([M + "Instructor", "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
         CourseRole.TEACHING_ASSISTANT),
        ([M + "Learner", I + "Instructor"], CourseRole.LEARNER),  # Canvas: institution roles do not count
        ([M + "ContentDeveloper"], CourseRole.INSTRUCTOR),
        (["Instructor"], CourseRole.INSTRUCTOR),  # deprecated simple names are still valid
        (["Learner"], CourseRole.LEARNER),
        ([M + "Mentor"], CourseRole.OTHER),
        ([I + "Administrator"], CourseRole.INSTRUCTOR),  # no course role: an administrator may set up
        ([I + "Student"], CourseRole.OTHER),
        ([], CourseRole.OTHER),
    ],
)  # fmt: skip
def test_course_role(roles: list[str], expected: CourseRole) -> None:
    assert course_role(roles) is expected
