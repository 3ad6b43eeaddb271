"""Deep linking over HTTP against the sandbox LMS: an instructor places the program or a graded skill assessment,
the LMS accepts the tool's signed answer, and later launches of the placed links open what was placed."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Membership, ResourceLink, User
from lti_tool.extensions import db
from lti_tool.lti.claims import LTI
from lti_tool.programs.models import Participant
from lti_tool.programs.services import program_for_course
from lti_tool.sandbox.advantage import Preset
from lti_tool.sandbox.platform import DEEP_LINKING
from tests.conftest import Sandbox, row_counts
from tests.deep_linking.conftest import TOOL_NAME
from tests.deep_linking.helpers import (
    DL,
    answer_of,
    choose,
    input_types,
    open_placed,
    select_content,
    verified_with_tool_jwks,
)
from tests.lti_browser import LtiBrowser, error_code, heading
from tests.programs.helpers import course_id, create_program, text_of

TARGET, ROUND = "mentor_lti_target", "mentor_lti_round"


def _placed(sandbox: Sandbox, course: str = "ment-101") -> list[Any]:
    return [link for link in sandbox.platform.placed_links if link.course_id == course]


def _return(answer_url: str, token: str) -> httpx.Response:
    """The browser's auto-submitted POST of the answer to the LMS."""
    return httpx.post(answer_url, data={"JWT": token})


def _place(
    browser: LtiBrowser, placement: str, items: list[str], *, course: str = "ment-101"
) -> tuple[dict[str, Any], list[Any]]:
    """Place items through a content selection; answer the signed response's claims and the LMS's placed links."""
    launch = select_content(browser, placement, course=course)
    answer = answer_of(choose(browser, launch.location, {"items": items, "add": "1"}))
    claims = verified_with_tool_jwks(browser.tool_url, answer.token)
    before = len(browser.platform.placed_links)
    accepted = _return(answer.return_url, answer.token)
    assert accepted.status_code == 200, accepted.text
    return claims, browser.platform.placed_links[before:]


@pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE, Preset.CANVAS])
def test_instructor_places_the_program_and_a_round_as_links(
    tool_url: str, sandbox: Sandbox, instructor: LtiBrowser, course: int, rounds: dict[str, int]
) -> None:
    launch = select_content(instructor, "link_selection")
    assert re.fullmatch(rf"/courses/{course}/deep-linking/[\w-]+", launch.location)

    chooser = instructor.get(launch.location)
    assert chooser.status_code == 200
    assert heading(chooser) == f"Add {TOOL_NAME} content"
    assert "mentor-lti" not in text_of(chooser)
    # link_selection takes several items: checkboxes.
    assert input_types(chooser) == {"checkbox"}
    page = text_of(chooser)
    assert "Mentorship program: Spring mentoring" in page
    assert "Skill assessment: Baseline self-check" in page and "Skill assessment: Midterm follow-up" in page
    assert "Graded: each mentee's score goes to the gradebook." in page

    answered = choose(
        instructor, launch.location, {"items": ["program", f"assessment-{rounds['follow-up']}"], "add": "1"}
    )
    answer = answer_of(answered)
    assert answer.return_url == launch.settings["deep_link_return_url"]
    # Posted by a script file (the policy allows no inline script), with a visible button for keyboards and no-JS.
    assert '<script src="/static/deep-linking-return.js" defer></script>' in answered.text
    assert '<button type="submit">Return to Sandbox LMS</button>' in answered.text
    assert f"form-action 'self' {sandbox.url}" in answered.headers["content-security-policy"]
    assert answered.headers["cache-control"] == "no-store"
    assert instructor.http.get(f"{tool_url}/static/deep-linking-return.js").status_code == 200

    claims = verified_with_tool_jwks(tool_url, answer.token)
    platform = sandbox.platform
    assert claims["iss"] == platform.client_id
    assert claims["aud"] == platform.issuer
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == platform.deployment_id
    assert claims[DL + "data"] == launch.settings["data"]
    assert claims["nonce"] and claims["nonce"] != launch.claims["nonce"]
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 600
    assert claims[DL + "msg"] == f"Added from {TOOL_NAME}: Spring mentoring, Midterm follow-up."
    program_item, round_item = claims[DL + "content_items"]
    assert program_item == {
        "type": "ltiResourceLink",
        "title": "Spring mentoring",
        "text": program_item["text"],
        "url": f"{tool_url}/lti/launch",
        "custom": {TARGET: "program"},
        "iframe": {"width": 800, "height": 800},
    }
    assert round_item["custom"] == {TARGET: "assessment", ROUND: str(rounds["follow-up"])}
    assert "lineItem" not in round_item  # an ungraded round is a plain link

    accepted = _return(answer.return_url, answer.token)
    assert accepted.status_code == 200, accepted.text
    assert "Content added to the course" in accepted.text
    placed = _placed(sandbox)
    assert [(link.title, link.custom, link.line_item_id) for link in placed] == [
        ("Spring mentoring", {TARGET: "program"}, None),
        ("Midterm follow-up", {TARGET: "assessment", ROUND: str(rounds["follow-up"])}, None),
    ]
    course_page = httpx.get(f"{sandbox.url}/courses/ment-101")
    assert 'id="placed-links"' in course_page.text and "Midterm follow-up" in course_page.text
    assert 'id="gradebook"' not in course_page.text

    # A selection is answered once: the chooser is closed afterwards.
    again = instructor.get(launch.location)
    assert again.status_code == 404
    assert heading(again) == "This content selection is no longer open"


def test_a_graded_assessment_from_assignment_selection_gets_a_gradebook_column(
    app: Flask, tool_url: str, sandbox: Sandbox, instructor: LtiBrowser, course: int, rounds: dict[str, int]
) -> None:
    before = row_counts(app)
    launch = select_content(instructor, "assignment_selection")
    # Choosing content opens no resource link: no link row, no `launched` statement.
    assert row_counts(app) == before
    assert launch.settings["accept_multiple"] is False
    chooser = instructor.get(launch.location)
    assert input_types(chooser) == {"radio"}

    # The LMS takes one item here; two are refused whatever the form claims, and nothing is signed.
    both = ["program", f"assessment-{rounds['baseline']}"]
    refused = choose(instructor, launch.location, {"items": both, "add": "1", "accept_multiple": "true"})
    assert refused.status_code == 422
    assert "Choose one item: this place in the LMS takes a single item." in text_of(refused)
    assert "JWT" not in refused.text
    unknown = choose(instructor, launch.location, {"items": ["assessment-99999"], "add": "1"})
    assert unknown.status_code == 422
    nothing = choose(instructor, launch.location, {"add": "1"})
    assert nothing.status_code == 422 and "Choose what to add to the course." in text_of(nothing)

    answer = answer_of(choose(instructor, launch.location, {"items": [f"assessment-{rounds['baseline']}"], "add": "1"}))
    claims = verified_with_tool_jwks(tool_url, answer.token)
    assert claims[DL + "data"] == launch.settings["data"]
    (item,) = claims[DL + "content_items"]
    assert item["title"] == "Baseline self-check"
    assert item["custom"] == {TARGET: "assessment", ROUND: str(rounds["baseline"])}
    assert item["lineItem"] == {
        "scoreMaximum": 100,
        "label": "Baseline self-check",
        "resourceId": f"assessment-{rounds['baseline']}",
        "tag": "skill-assessment",
    }

    accepted = _return(answer.return_url, answer.token)
    assert accepted.status_code == 200, accepted.text
    assert "graded: a gradebook column was created" in accepted.text
    (link,) = _placed(sandbox)
    column = sandbox.platform.advantage.line_items[link.line_item_id]
    assert (column.label, column.score_maximum, column.resource_id, column.tag, column.resource_link_id) == (
        "Baseline self-check",
        100.0,
        f"assessment-{rounds['baseline']}",
        "skill-assessment",
        link.id,
    )
    assert 'id="gradebook"' in httpx.get(f"{sandbox.url}/courses/ment-101").text


def test_the_lms_accepts_only_the_untampered_answer(
    tool_url: str, sandbox: Sandbox, instructor: LtiBrowser, course: int
) -> None:
    launch = select_content(instructor, "link_selection")
    answer = answer_of(choose(instructor, launch.location, {"items": ["program"], "add": "1"}))
    header, payload, signature = answer.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[DL + "content_items"][0]["custom"][TARGET] = "assessment"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    refused = _return(answer.return_url, f"{header}.{forged}.{signature}")
    assert refused.status_code == 400
    assert "The deep linking response is invalid" in refused.text
    assert _placed(sandbox) == []

    assert _return(answer.return_url, answer.token).status_code == 200
    assert [link.custom for link in _placed(sandbox)] == [{TARGET: "program"}]


def test_later_launches_of_placed_links_open_what_was_placed(
    app: Flask, sandbox: Sandbox, instructor: LtiBrowser, new_browser: Any, course: int, rounds: dict[str, int]
) -> None:
    _, (program_link, assessment_link) = _place(
        instructor, "link_selection", ["program", f"assessment-{rounds['baseline']}"]
    )

    # The program link opens the course's page for the role, directly: the program overview for staff, their
    # own page for learners.
    staff = open_placed(instructor, program_link.id, person="instructor")
    assert staff.location == f"/courses/{course}/program"
    assert instructor.get(staff.location).url.path == f"/courses/{course}/program"
    learner = new_browser()
    learned = open_placed(learner, program_link.id, person="learner-01")
    assert learned.location == f"/courses/{course}/me"
    assert learner.get(learned.location).url.path == f"/courses/{course}/me"

    # The assessment link opens the round: its page for staff, the learner's assessments or their own rating.
    staff = open_placed(instructor, assessment_link.id, person="instructor")
    assert staff.location == f"/courses/{course}/assessments/manage/{rounds['baseline']}"
    assert "Baseline self-check" in heading(instructor.get(staff.location))
    learned = open_placed(learner, assessment_link.id, person="learner-01")
    assert learned.location == f"/courses/{course}/assessments"
    assert learner.get(learned.location).status_code == 200
    with app.app_context():
        program = program_for_course(course)
        assert program is not None
        member = db.session.execute(
            select(Membership)
            .join(User)
            .where(Membership.course_id == course, User.sub == sandbox.platform.sub(_person(sandbox, "learner-01")))
        ).scalar_one()
        mentee = Participant(program_id=program.id, membership_id=member.id, wants_to_be_mentored=True)
        db.session.add(mentee)
        db.session.commit()
        mentee_id = mentee.id
    rate = open_placed(learner, assessment_link.id, person="learner-01")
    assert rate.location == f"/courses/{course}/assessments/rounds/{rounds['baseline']}/people/{mentee_id}"
    assert "Baseline self-check" in text_of(learner.get(rate.location))

    # The launches recorded the links' custom parameters and the graded link's gradebook column.
    with app.app_context():
        links = {
            link.resource_link_id: link
            for link in db.session.execute(select(ResourceLink).where(ResourceLink.course_id == course)).scalars()
        }
    assert links[program_link.id].custom == {TARGET: "program"}
    assert links[program_link.id].line_item_url is None
    assert links[assessment_link.id].custom == {TARGET: "assessment", ROUND: str(rounds["baseline"])}
    assert links[assessment_link.id].line_item_url == sandbox.platform.advantage.line_item_url(
        sandbox.platform.advantage.line_items[assessment_link.line_item_id], sandbox.platform.base_url
    )


def _person(sandbox: Sandbox, person_id: str) -> Any:
    return sandbox.platform.course("ment-101").person(person_id)


def test_a_round_of_another_course_is_refused_at_launch(
    app: Flask, sandbox: Sandbox, instructor: LtiBrowser, course: int, rounds: dict[str, int]
) -> None:
    _, (link,) = _place(instructor, "link_selection", [f"assessment-{rounds['baseline']}"])
    # The LMS copies the course with its links (custom parameters included), not the tool's rounds.
    platform = sandbox.platform
    original = platform.course("ment-101")
    platform.courses = (*platform.courses, replace(original, id="ment-102", title="Mentoring Practice 102"))
    platform.placed_links.append(replace(link, id="ment-102-placed-1", course_id="ment-102"))
    instructor.launch("ment-102", "instructor")
    create_program(instructor, course_id(app, "ment-102"), title="Autumn mentoring")

    for person in ("instructor", "learner-01"):
        refused = open_placed(instructor, "ment-102-placed-1", person=person, course="ment-102").response
        assert refused.status_code == 404
        assert heading(refused) == "This link cannot be opened"
        assert "not part of this course's mentorship program" in text_of(refused)
        assert "add it again through the LMS's content selection" in text_of(refused)

    # In its own course the same link still opens the round.
    assert open_placed(instructor, link.id, person="instructor").location.endswith(f"/manage/{rounds['baseline']}")


def test_a_learner_cannot_add_content(sandbox: Sandbox, browser: LtiBrowser, course: int) -> None:
    launch = select_content(browser, "link_selection", person="learner-02")
    refused = browser.get(launch.location)
    assert refused.status_code == 403
    assert f"Only the course's instructors and teaching assistants can add {TOOL_NAME} content" in text_of(refused)
    # A valid CSRF token from the learner's own profile form does not help either.
    profile = browser.get(f"/courses/{course}/me/profile").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', profile)
    assert token
    posted = browser.http.post(
        f"{browser.tool_url}{launch.location}", data={"csrf_token": token.group(1), "items": ["program"], "add": "1"}
    )
    assert posted.status_code == 403
    assert "JWT" not in posted.text
    assert sandbox.platform.placed_links == []


def test_a_selection_belongs_to_the_browser_that_started_it(
    new_browser: Any, instructor: LtiBrowser, course: int
) -> None:
    launch = select_content(instructor, "link_selection")
    teaching_assistant = new_browser()
    teaching_assistant.launch("ment-101", "ta")
    stolen = teaching_assistant.get(launch.location)
    assert stolen.status_code == 404
    assert heading(stolen) == "This content selection is no longer open"
    # Still open for the instructor.
    assert instructor.get(launch.location).status_code == 200


def test_a_place_that_takes_no_lti_links_is_explained(app: Flask, browser: LtiBrowser, course: int) -> None:
    before = row_counts(app)
    # Canvas's course import (migration_selection) takes only files back.
    launch = select_content(browser, "migration_selection")
    assert launch.response.status_code == 400
    assert error_code(launch.response) == "deep_linking_types"
    page = text_of(launch.response)
    assert "This place in the LMS accepts only file back from a tool." in page
    assert f"{TOOL_NAME} adds its program and skill assessments as LTI links" in page
    assert "there is nothing it can add here" in page
    assert row_counts(app) == before


def test_a_content_selection_without_a_return_url_is_refused(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    settings = {"accept_types": ["ltiResourceLink"], "accept_presentation_document_targets": ["iframe"]}
    refused = browser.signed_launch(
        claims={LTI + "message_type": DEEP_LINKING, DL + "deep_linking_settings": settings},
        drop=(LTI + "resource_link",),
    )
    assert refused.status_code == 400
    assert error_code(refused) == "missing_claim"
    assert "deep_link_return_url" in text_of(refused)
    assert row_counts(app) == before


def test_frame_only_places_without_gradebook_get_links_without_line_items(
    tool_url: str, sandbox: Sandbox, instructor: LtiBrowser, course: int, rounds: dict[str, int]
) -> None:
    # Canvas's collaboration placement: one item, opened in a frame; this LMS says it ignores line items.
    launch = select_content(instructor, "collaboration")
    assert launch.settings["accept_presentation_document_targets"] == ["iframe"]
    chooser = instructor.get(launch.location)
    assert input_types(chooser) == {"radio"}
    assert "does not create gradebook columns" in text_of(chooser)
    answer = answer_of(choose(instructor, launch.location, {"items": [f"assessment-{rounds['baseline']}"], "add": "1"}))
    (item,) = verified_with_tool_jwks(tool_url, answer.token)[DL + "content_items"]
    assert "lineItem" not in item
    assert item["iframe"] == {"width": 800, "height": 800} and "window" not in item
    assert _return(answer.return_url, answer.token).status_code == 200
    assert sandbox.platform.advantage.line_items == {}


def test_without_a_program_or_rounds_the_chooser_says_what_to_do(
    app: Flask, tool_url: str, sandbox: Sandbox, instructor: LtiBrowser
) -> None:
    course = course_id(app, "ment-101")
    launch = select_content(instructor, "link_selection")
    chooser = instructor.get(launch.location)
    page = text_of(chooser)
    assert "This course has no mentorship program yet, so there is nothing to add." in page
    assert f'href="/courses/{course}/program"' in chooser.text
    assert input_types(chooser) == set()

    create_program(instructor, course, title="Spring mentoring")
    chooser = instructor.get(launch.location)
    assert input_types(chooser) == {"checkbox"}
    assert "No skill assessment rounds yet." in text_of(chooser)
    assert f'href="/courses/{course}/assessments/manage"' in chooser.text

    # Adding nothing closes the LMS's dialog with an empty answer.
    answer = answer_of(choose(instructor, launch.location, {"cancel": "1"}))
    claims = verified_with_tool_jwks(tool_url, answer.token)
    assert claims[DL + "content_items"] == []
    assert claims[DL + "msg"] == "Nothing was added."
    returned = _return(answer.return_url, answer.token)
    assert returned.status_code == 200 and "The tool returned nothing to add." in returned.text
