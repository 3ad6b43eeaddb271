"""How a person is named wherever the tool shows them: the LMS's full name, else the given and family names that
are set, else "Participant"."""

from __future__ import annotations

import pytest

from lti_tool.courses.models import person_name


@pytest.mark.parametrize(
    ("name", "given_name", "family_name", "shown"),
    [
        ("Ada Lovelace", "Augusta", "King", "Ada Lovelace"),
        ("", "Ada", "Lovelace", "Ada Lovelace"),
        (None, "Ada", None, "Ada"),
        (None, "", "Lovelace", "Lovelace"),
        (None, " Ada", "Lovelace ", " Ada Lovelace "),  # as the LMS sent them
        ("", "", None, "Participant"),
        (None, None, None, "Participant"),
    ],
)
def test_a_person_is_named_by_their_name_else_their_given_and_family_names(
    name: str | None, given_name: str | None, family_name: str | None, shown: str
) -> None:
    assert person_name(name, given_name, family_name) == shown
