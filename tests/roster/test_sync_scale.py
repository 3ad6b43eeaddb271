"""A large roster: the tool asks the LMS for large pages, reuses one service token for every page, and applies
each page with the same few SQL statements whatever the course's size, so a 10,000-member course syncs in the
time of a few hundred statements (benchmarks/roster.py measures it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from lti_tool.roster.services import RosterSyncError
from lti_tool.sandbox.advantage import Membership, Preset
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import course_id
from tests.roster.helpers import COURSE, NRPS_PATH, people, sync
from tests.scale.queries import CountedStatements, count_statements

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
SMALL, LARGE = "lead-202", COURSE  # 4 and 14 people in the sandbox, each filled up with people only NRPS lists
PAGE = 4
# A first sync: the page's users and memberships in one query, then the new users and the new memberships in one
# insert each. A re-sync: the query, then changed users, changed memberships and the rest's sync time, one each.
STATEMENTS_PER_PAGE = 4


def _fill(sandbox: Sandbox, course: str, members: int) -> None:
    """List people nobody has launched as in `course`, up to `members` in all."""
    extra = members - len(sandbox.platform.course(course).people)
    sandbox.platform.advantage.also_listed[course] = [
        Membership(f"{course}-{n}", [LEARNER], f"Given{n} Family{n}", f"Given{n}", f"Family{n}", f"{n}@lms.example")
        for n in range(extra)
    ]


def _change_a_tenth(sandbox: Sandbox, course: str) -> None:
    """Renamed, made instructors and left the course: a tenth of the listed-only people, a third each."""
    listed = sandbox.platform.advantage.also_listed[course]
    tenth = listed[: len(listed) // 10]
    for index, member in enumerate(tenth):
        if index % 3 == 0:
            member.family_name += "-Renamed"
        elif index % 3 == 1:
            member.roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
        else:
            member.status = "Inactive"


def _pages(members: int) -> int:
    return -(-members // PAGE)


def _counted_sync(app: Flask, course: int) -> CountedStatements:
    with count_statements(app) as counted:
        sync(app, course, page_size=PAGE)
    return counted


@pytest.fixture
def courses(app: Flask, sandbox: Sandbox, new_browser: Callable[[], LtiBrowser]) -> tuple[int, int]:
    """Both courses after their instructor's first launch: 20 members (5 pages) and 200 (50 pages)."""
    new_browser().launch(SMALL, "instructor-2")
    new_browser().launch(LARGE, "instructor")
    _fill(sandbox, SMALL, 20)
    _fill(sandbox, LARGE, 200)
    return course_id(app, SMALL), course_id(app, LARGE)


def test_a_ten_times_larger_roster_runs_the_same_statements_per_page(
    app: Flask, sandbox: Sandbox, courses: tuple[int, int]
) -> None:
    small, large = courses
    first_small, first_large = _counted_sync(app, small), _counted_sync(app, large)
    assert len(people(app, sandbox, large)) == 200
    _change_a_tenth(sandbox, SMALL)
    _change_a_tenth(sandbox, LARGE)
    again_small, again_large = _counted_sync(app, small), _counted_sync(app, large)

    more_pages = _pages(200) - _pages(20)
    for name, few, many in (("first sync", first_small, first_large), ("re-sync", again_small, again_large)):
        assert many.total - few.total <= STATEMENTS_PER_PAGE * more_pages, f"{name}: {many.report()}"
    found = people(app, sandbox, large)
    assert sum(not p.active for p in found.values()) == 6
    assert sum(p.role == "instructor" for p in found.values()) == 1 + 6
    assert sum((p.family_name or "").endswith("-Renamed") for p in found.values()) == 6


def test_one_service_token_serves_every_page(app: Flask, sandbox: Sandbox, courses: tuple[int, int]) -> None:
    _, large = courses
    counted = _counted_sync(app, large)
    assert sandbox.requests[NRPS_PATH] == _pages(200)
    assert len(sandbox.platform.advantage.token_requests) == 1
    # Looked up once, stored once: not read again for each of the 50 pages.
    token_statements = [s for s in counted.statements if "lti_service_token" in s.sql]
    assert len(token_statements) == 2, counted.report()


@pytest.mark.parametrize(
    ("sandbox_preset", "pages"), [(Preset.MOODLE, 1), (Preset.CANVAS, 4)], ids=["moodle", "canvas"]
)
def test_the_tool_asks_for_large_pages_and_the_lms_serves_what_it_accepts(
    app: Flask, sandbox: Sandbox, courses: tuple[int, int], pages: int
) -> None:
    # Without a page size, the sandbox serves 5 members a page; Moodle serves the 1,000 the tool asks for, Canvas
    # at most 50.
    _, large = courses
    sync(app, large)
    assert sandbox.requests[NRPS_PATH] == pages
    assert len(people(app, sandbox, large)) == 200


def test_a_roster_beyond_the_member_bound_is_refused_and_changes_nothing(
    app: Flask, sandbox: Sandbox, courses: tuple[int, int]
) -> None:
    _, large = courses
    with pytest.raises(RosterSyncError) as refused:
        sync(app, large, page_size=PAGE, max_members=150)
    assert "more than 150 members" in refused.value.message
    assert "Nothing was changed" in refused.value.hint
    assert set(people(app, sandbox, large)) == {"instructor"}


def test_user_ids_written_into_the_lookups_are_quoted(app: Flask, sandbox: Sandbox, courses: tuple[int, int]) -> None:
    # The chunk's lookups carry the LMS's user ids as SQL literals (lti_tool/roster/services.py `_among`).
    _, large = courses
    odd = ["o'brien", "back\\slash\\'", "x'); DELETE FROM lti_user; --", "%(sub)s ?"]
    sandbox.platform.advantage.also_listed[LARGE] = [
        Membership(user_id, [LEARNER], "Odd Id", "Odd", "Id", "odd@lms.example") for user_id in odd
    ]
    assert sync(app, large).added == 13 + 4  # the course's own people, and these
    assert sync(app, large).unchanged == 14 + 4
    assert set(odd) <= set(people(app, sandbox, large))
