"""Only the course's own staff see its program's health, pairs and exports; guessed ids from another course are
not found, and nothing of this program shows there."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import row_counts
from tests.health.conftest import PRIVATE, SHARED, KnownProgram
from tests.lti_browser import LtiBrowser
from tests.profiles.helpers import course_id, create_program

EXPORTS = ("sessions", "goals", "assessments", "survey-answers")


def _routes(known: KnownProgram, base: str | None = None) -> list[str]:
    base = base or known.base
    return [
        f"{base}/health",
        f"{base}/pairs/{known.pair.relationship_id}",
        f"{base}/pairs/{known.other_id}",
        *(f"{base}/exports/{name}.csv" for name in EXPORTS),
    ]


def _status(browser: LtiBrowser, path: str) -> int:
    return browser.http.get(f"{browser.tool_url}{path}").status_code


def test_learners_even_the_pairs_own_members_are_refused_every_staff_route(known: KnownProgram) -> None:
    rows = row_counts(known.app)
    for person in (known.pair.mentee, known.pair.mentor, known.pair.outsider):
        learner = known.pair.browser(person)
        for path in _routes(known):
            assert _status(learner, path) == 403, (person, path)
    page = known.pair.browser(known.pair.mentee).get(f"{known.base}/pairs/{known.pair.relationship_id}")
    assert "instructors and teaching assistants" in page.text
    assert PRIVATE not in page.text and "We planned the refactor" not in page.text
    assert row_counts(known.app) == rows


def test_without_a_launch_every_route_is_refused(known: KnownProgram, new_browser: Callable[[], LtiBrowser]) -> None:
    stranger = new_browser()
    for path in _routes(known):
        assert _status(stranger, path) == 403, path


def test_another_courses_instructor_is_refused_and_guessed_ids_are_not_found(
    known: KnownProgram, new_browser: Callable[[], LtiBrowser]
) -> None:
    other = new_browser()
    other.launch("lead-202", "instructor-2")
    create_program(known.app, "lead-202")
    own_base = f"/courses/{course_id(known.app, 'lead-202')}/program"
    rows = row_counts(known.app)
    for path in _routes(known):
        assert _status(other, path) == 403, path
    # From their own course, this program's pair ids are not found ...
    for relationship_id in (known.pair.relationship_id, known.other_id, known.other_id + 1000):
        page = other.get(f"{own_base}/pairs/{relationship_id}")
        assert page.status_code == 404
        assert SHARED not in page.text
    # ... and their own health page and exports hold nothing of this program.
    assert other.get(f"{own_base}/health").status_code == 200
    for name in EXPORTS:
        exported = other.get(f"{own_base}/exports/{name}.csv")
        assert exported.status_code == 200
        assert exported.text.count("\n") == 1, (name, exported.text)  # the header only
    assert row_counts(known.app) == rows
