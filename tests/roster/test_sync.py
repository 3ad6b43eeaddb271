"""Roster sync over HTTP against the sandbox LMS, shaped like Moodle (limit/from pages) and like Canvas
(case-sensitive page bookmarks): everyone is prepared before they launch, people who left become inactive with
their history kept, and a sync that fails halfway changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Course, Membership, User
from lti_tool.courses.services import course_roster_counts
from lti_tool.extensions import db
from lti_tool.lti.services import ServiceError
from lti_tool.programs.models import Participant, Program
from lti_tool.roster.services import MEMBERSHIP_CONTAINER, NRPS_SCOPE, RosterSyncError, next_page_url, service_client
from lti_tool.runtime import runtime
from lti_tool.sandbox.advantage import Preset
from tests.conftest import Sandbox, row_counts
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import course_id, create_program
from tests.roster.helpers import COURSE, NRPS_PATH, people, sync, synced_at

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


@pytest.fixture(params=[Preset.MOODLE, Preset.CANVAS], ids=["moodle", "canvas"])
def sandbox_preset(request: pytest.FixtureRequest) -> Preset:
    preset: Preset = request.param
    return preset


@pytest.fixture
def course(app: Flask, sandbox: Sandbox, browser: LtiBrowser) -> int:
    """ment-101 after its instructor's first launch (which brought the roster endpoint); 4 people a page, so its
    14 people take 4 pages."""
    sandbox.platform.advantage.max_page_size = 4
    browser.launch(COURSE, "instructor")
    return course_id(app, COURSE)


def test_a_sync_reads_every_page_and_prepares_everyone_before_they_launch(
    app: Flask, sandbox: Sandbox, course: int
) -> None:
    report = sync(app, course)

    assert sandbox.requests[NRPS_PATH] == 4
    assert (report.listed, report.added, report.updated, report.unchanged) == (14, 13, 0, 1)
    assert (report.deactivated, report.reactivated) == (0, 0)
    found = people(app, sandbox, course)
    assert len(found) == 14 and all(p.active for p in found.values())
    # Until their first launch the roster is all the tool knows, and Moodle's lists a non-editing teacher as Learner.
    roles = {"learner": 12, "instructor": 1, "teaching_assistant": 1}
    if sandbox.platform.preset is Preset.MOODLE:
        roles = {"learner": 13, "instructor": 1}
    assert Counter(p.role for p in found.values()) == roles
    # Known from the roster only: nobody but the instructor has opened the tool.
    assert {person for person, p in found.items() if p.launched} == {"instructor"}
    priya = found["learner-01"]
    assert (priya.name, priya.given_name, priya.family_name, priya.email) == (
        "Priya Natarajan",
        "Priya",
        "Natarajan",
        "learner-01@sandbox.example",
    )
    assert priya.roles == ("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",)
    assert priya.roster_synced_at == synced_at(app, course) is not None
    # The instructor's launch roles (with their institution role) stay: their course role did not change.
    assert len(found["instructor"].roles) == 2
    with app.app_context():
        counts = course_roster_counts(course)
    assert counts.members == roles
    assert counts.opened == {role: int(role == "instructor") for role in roles}


@pytest.mark.parametrize("sandbox_preset", [Preset.CANVAS], ids=["canvas"])
def test_canvas_page_bookmarks_are_followed_exactly_as_given(app: Flask, sandbox: Sandbox, course: int) -> None:
    with app.app_context(), httpx.Client() as http:
        client = service_client(db.session.get_one(Course, course), keys=runtime().keys, http=http)
        first = client.request("GET", f"{sandbox.url}{NRPS_PATH}", [NRPS_SCOPE], accept=MEMBERSHIP_CONTAINER)
        following = next_page_url(first)
        assert following is not None and following != following.lower()
        # A client that lowercases the Link header (as pylti1p3 2.0 does) loses its place.
        with pytest.raises(ServiceError) as refused:
            client.request("GET", following.lower(), [NRPS_SCOPE], accept=MEMBERSHIP_CONTAINER)
        assert refused.value.status_code == 400
        second = client.request("GET", following, [NRPS_SCOPE], accept=MEMBERSHIP_CONTAINER)
        assert len(second.json()["members"]) == 4


def test_names_and_emails_are_applied_when_shared_and_kept_when_not(app: Flask, sandbox: Sandbox, course: int) -> None:
    sandbox.platform.advantage.share_personal_data = False
    sync(app, course)
    found = people(app, sandbox, course)
    assert (found["learner-01"].name, found["learner-01"].email) == (None, None)
    # What a launch told us stays when the roster leaves it out.
    assert (found["instructor"].name, found["instructor"].email) == ("Ada Okafor", "instructor@sandbox.example")

    sandbox.platform.advantage.share_personal_data = True
    report = sync(app, course)
    assert (report.updated, report.unchanged) == (13, 1)
    assert people(app, sandbox, course)["learner-01"].name == "Priya Natarajan"

    sandbox.platform.advantage.share_personal_data = False
    report = sync(app, course)
    assert (report.updated, report.unchanged) == (0, 14)
    assert people(app, sandbox, course)["learner-01"].email == "learner-01@sandbox.example"


def test_a_second_sync_changes_nothing(app: Flask, sandbox: Sandbox, course: int) -> None:
    sync(app, course)
    before, rows = people(app, sandbox, course), row_counts(app)
    report = sync(app, course)
    assert (report.listed, report.added, report.updated, report.unchanged) == (14, 0, 0, 14)
    assert (report.deactivated, report.reactivated) == (0, 0)
    after = people(app, sandbox, course)
    assert row_counts(app) == rows
    assert {k: replace(p, roster_synced_at=None) for k, p in after.items()} == {
        k: replace(p, roster_synced_at=None) for k, p in before.items()
    }


ONCE = pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE], ids=["moodle"])  # paging does not matter here


def _sub(sandbox: Sandbox, person: str) -> str:
    return sandbox.platform.sub(sandbox.platform.course(COURSE).person(person))


def _add_participant(app: Flask, course: int, sub: str) -> int:
    """A profile in the course's program for this person (as the profile page makes one)."""
    with app.app_context():
        program = db.session.execute(select(Program).where(Program.course_id == course)).scalar_one()
        membership = db.session.execute(
            select(Membership).join(Membership.user).where(Membership.course_id == course, User.sub == sub)
        ).scalar_one()
        participant = Participant(program_id=program.id, membership_id=membership.id, wants_to_be_mentored=True)
        db.session.add(participant)
        db.session.commit()
        return participant.id


@ONCE
def test_someone_who_left_is_deactivated_and_keeps_their_history(
    app: Flask, sandbox: Sandbox, course: int, browser: LtiBrowser, new_browser: Callable[[], LtiBrowser]
) -> None:
    create_program(browser, course, title="Spring mentoring")
    sofia = new_browser()
    assert sofia.launch(COURSE, "learner-05").status_code == 200
    participant = _add_participant(app, course, _sub(sandbox, "learner-05"))
    sync(app, course)

    sandbox.platform.advantage.removed[COURSE] = {"learner-05"}
    report = sync(app, course)

    assert (report.listed, report.deactivated, report.unchanged) == (13, 1, 13)
    found = people(app, sandbox, course)
    assert len(found) == 14
    assert not found["learner-05"].active and found["learner-05"].name == "Sofia Rossi"
    with app.app_context():
        assert db.session.get(Participant, participant) is not None
        # 11 learners, and the teaching assistant, whom Moodle's roster lists as Learner (they never launched).
        assert course_roster_counts(course).members["learner"] == 12
    # Their session no longer opens the course.
    assert sofia.get(f"/courses/{course}/").status_code == 403


@ONCE
def test_a_member_who_comes_back_is_active_again(
    app: Flask, sandbox: Sandbox, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    sofia = new_browser()
    sofia.launch(COURSE, "learner-05")
    advantage = sandbox.platform.advantage
    advantage.removed[COURSE] = {"learner-05"}
    sync(app, course)
    assert not people(app, sandbox, course)["learner-05"].active

    # Enrolled again in the LMS: the next sync brings them back, with the same membership.
    advantage.removed[COURSE] = set()
    assert sync(app, course).reactivated == 1
    assert people(app, sandbox, course)["learner-05"].active
    assert sofia.get(f"/courses/{course}/").status_code == 200

    # Their own launch brings them back too, before any sync lists them again.
    advantage.removed[COURSE] = {"learner-05"}
    sync(app, course)
    assert sofia.launch(COURSE, "learner-05").status_code == 200
    assert people(app, sandbox, course)["learner-05"].active


@ONCE
def test_people_missing_from_the_roster_are_deactivated_but_not_administrators(
    app: Flask, sandbox: Sandbox, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    unenrolled, admin = new_browser(), new_browser()
    learner = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    administrator = ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]
    response = unenrolled.signed_launch(COURSE, "learner-01", claims={"sub": "unenrolled", LTI + "roles": learner})
    assert response.status_code == 303
    response = admin.signed_launch(COURSE, "instructor", claims={"sub": "lms-admin", LTI + "roles": administrator})
    assert response.status_code == 303

    report = sync(app, course)

    assert report.deactivated == 1
    found = people(app, sandbox, course)
    assert not found["unenrolled"].active
    # No roster lists an administrator who is not enrolled: they keep their access.
    assert found["lms-admin"].active and found["lms-admin"].role == "instructor"
    assert admin.get(f"/courses/{course}/").status_code == 200


def test_a_site_administrator_who_is_not_enrolled_keeps_their_access_after_a_sync(
    app: Flask, sandbox: Sandbox, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    """Moodle launches a site administrator who is not enrolled with the Instructor membership role beside the
    administrator roles (Canvas with the administrator role alone), and no roster lists them."""
    admin = new_browser()
    landing = admin.launch(COURSE, "admin")
    assert heading(landing) == "Program setup"
    if sandbox.platform.preset is Preset.MOODLE:
        assert (
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
            in people(app, sandbox, course)["admin"].roles
        )

    report = sync(app, course)

    assert (report.listed, report.deactivated) == (14, 0)
    found = people(app, sandbox, course)["admin"]
    assert found.active and found.role == "instructor"
    # Their next page opens, without launching again.
    assert admin.get(str(landing.url)).status_code == 200
    assert admin.get(f"/courses/{course}/").status_code == 200


def test_a_teaching_assistant_stays_staff_until_a_later_launch_says_otherwise(
    app: Flask, sandbox: Sandbox, course: int, new_browser: Callable[[], LtiBrowser]
) -> None:
    """Moodle launches a non-editing teacher as Instructor (they may manage the activity), and its roster service
    lists them as Learner. A launch's roles stand until the person's next launch; a sync never demotes them."""
    assistant = new_browser()
    landing = assistant.launch(COURSE, "ta")
    assert heading(landing) == "Program setup"
    listed = sandbox.platform.roster_roles(sandbox.platform.course(COURSE).person("ta"))
    assert (listed == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]) is (
        sandbox.platform.preset is Preset.MOODLE
    )

    for _ in range(2):
        report = sync(app, course)
        found = people(app, sandbox, course)["ta"]
        assert found.active and found.role == "teaching_assistant"
        # Their staff pages stay open: the sync did not make them a learner.
        assert heading(assistant.get(str(landing.url))) == "Program setup"
    assert report.deactivated == 0

    # Made a student in the LMS: their next launch says so, and a sync does not make them staff again.
    course_ = sandbox.platform.course(COURSE)
    learners = tuple(replace(p, role="Learner") if p.id == "ta" else p for p in course_.people)
    sandbox.platform.courses = tuple(
        replace(c, people=learners) if c.id == COURSE else c for c in sandbox.platform.courses
    )
    assert heading(assistant.launch(COURSE, "ta")) == "My mentorship"
    sync(app, course)
    assert people(app, sandbox, course)["ta"].role == "learner"
    assert assistant.get(str(landing.url)).status_code == 403


def test_an_lms_outage_halfway_through_changes_nothing(app: Flask, sandbox: Sandbox, course: int) -> None:
    advantage = sandbox.platform.advantage
    rows = row_counts(app)
    advantage.outage_after_pages = 2
    with pytest.raises(ServiceError) as failed:
        sync(app, course)
    assert failed.value.status_code == 503 and failed.value.retryable
    assert sandbox.requests[NRPS_PATH] == 3
    assert set(people(app, sandbox, course)) == {"instructor"}
    assert synced_at(app, course) is None
    assert row_counts(app) == rows

    # After a complete sync someone leaves, and the LMS fails on the last page: nobody is deactivated.
    advantage.outage = False
    sync(app, course)
    before, synced = people(app, sandbox, course), synced_at(app, course)
    advantage.removed[COURSE] = {"learner-05"}
    advantage.outage_after_pages = 3
    with pytest.raises(ServiceError):
        sync(app, course)
    assert people(app, sandbox, course) == before
    assert synced_at(app, course) == synced


@ONCE
def test_a_roster_that_never_ends_is_stopped_at_the_page_cap(app: Flask, sandbox: Sandbox, course: int) -> None:
    with pytest.raises(RosterSyncError) as stopped:
        sync(app, course, max_pages=3)
    assert "beyond 3 pages" in stopped.value.message
    assert sandbox.requests[NRPS_PATH] == 3
    assert set(people(app, sandbox, course)) == {"instructor"}


@ONCE
def test_a_course_without_a_roster_endpoint_cannot_be_synced(app: Flask, sandbox: Sandbox, browser: LtiBrowser) -> None:
    assert browser.signed_launch(COURSE, "instructor", drop=(NRPS_CLAIM,)).status_code == 303
    with pytest.raises(RosterSyncError) as refused:
        sync(app, course_id(app, COURSE))
    assert "no roster endpoint" in refused.value.message
    assert "Launch the tool from the course once as an instructor" in refused.value.hint
    assert NRPS_PATH not in sandbox.requests
