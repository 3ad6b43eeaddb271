"""Two-sided self-match end to end in a real browser, through the sandbox LMS: the instructor turns it on in the
program's settings, a mentee asks a suggested mentor, the mentor declines, the mentee asks another and the
instructor approves that request in the mentor's stead; and a mentee withdraws a waiting request. Everything a
person does is clicked or typed in the tool's iframe with the keyboard; only the setup (the program, the profiles)
goes through the services."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Frame, Page, expect

from lti_tool.extensions import db
from lti_tool.programs.models import Program
from tests.browser.conftest import assert_no_serious_axe_violations
from tests.browser.test_mentorship_flow import (
    AMARA,
    INSTRUCTOR,
    LUKAS,
    PRIYA,
    flash,
    launch,
    launched,
    no_horizontal_scroll,
    tick,
    tool_document,
)
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort, mentee_profile, mentor_profile
from tests.profiles.helpers import course_id, create_program


@pytest.fixture
def cohort(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Priya (learner-01) and Lukas (-02) mentor one mentee each; Amara (-03) wants a mentor."""
    browsers = launched(new_browser, "instructor", "learner-01", "learner-02", "learner-03")
    found = Cohort(app, course_id(app, "ment-101"), create_program(app), browsers)
    found.profile("learner-01", mentor_profile())
    found.profile("learner-02", mentor_profile(skill_levels={"python": 4, "sql": 5, "data-viz": 2,
                                                             "communication": 3, "feedback": 3}))  # fmt: skip
    found.profile("learner-03", mentee_profile())
    return found


def fits_320_px(page: Page, document: Frame) -> None:
    """The tool's page fits a 320 px wide frame (a phone) without scrolling sideways."""
    page.locator("#tool-frame").evaluate("frame => { frame.style.width = '320px'; }")
    widths = document.evaluate(
        "() => ({inner: window.innerWidth, scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["inner"] == 320 and widths["scroll"] <= widths["client"], widths
    page.locator("#tool-frame").evaluate("frame => { frame.style.width = ''; }")


def test_a_mentee_asks_a_mentor_who_declines_asks_another_and_the_instructor_approves(
    people: Callable[[], Page], sandbox: Sandbox, tool_url: str, cohort: Cohort
) -> None:
    # The instructor turns two-sided self-match on, with three days to answer.
    staff_page = people()
    staff = launch(staff_page, sandbox, INSTRUCTOR, "Program setup")
    staff.get_by_role("link", name="Edit settings").press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Program settings")
    tick(staff.get_by_role("checkbox", name=re.compile("^Self-match")))
    tick(staff.get_by_role("checkbox", name=re.compile("^Two-sided self-match")))
    days = staff.get_by_label("Days a mentor has to answer")
    days.fill("3")
    staff.get_by_role("button", name="Save settings").press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Program setup")
    expect(
        staff.get_by_text(
            re.compile("Two-sided: mentees request one of their top suggestions, who answers within 3 days")
        )
    ).to_be_visible()

    # Amara asks Priya, her best suggestion.
    mentee_page = people()
    mentee = launch(mentee_page, sandbox, AMARA, "My mentorship")
    mentee.get_by_role("link", name="Choose your mentor").press("Enter")
    expect(mentee.get_by_role("heading", level=1)).to_have_text("Choose your mentor")
    expect(mentee.get_by_text("they have 3 days to accept or decline")).to_be_visible()
    assert_no_serious_axe_violations(tool_document(mentee_page, tool_url))
    mentee.get_by_role("button", name=f"Ask {PRIYA}").press("Enter")
    expect(flash(mentee)).to_contain_text(f"Your request was sent to {PRIYA}. They have until")
    expect(mentee.get_by_role("status").filter(has_text=f"You asked {PRIYA}")).to_be_visible()

    # Priya sees the request on her home page and declines it.
    mentor_page = people()
    mentor = launch(mentor_page, sandbox, PRIYA, "My mentorship")
    asking = mentor.get_by_role("region", name="Mentees asking for you")
    expect(asking).to_contain_text("1 mentee asked you to be their mentor")
    assert_no_serious_axe_violations(tool_document(mentor_page, tool_url))
    asking.get_by_role("link", name="Answer the requests").press("Enter")
    expect(mentor.get_by_role("heading", level=1)).to_have_text("Mentee requests")
    request = mentor.get_by_role("article", name=AMARA)
    expect(request.get_by_text(re.compile(r"^Score: \d+ of 100 points$"))).to_be_visible()
    document = tool_document(mentor_page, tool_url)
    assert_no_serious_axe_violations(document)
    no_horizontal_scroll(document)
    fits_320_px(mentor_page, document)
    request.get_by_role("button", name=f"Decline {AMARA}").press("Enter")
    expect(flash(mentor)).to_have_text(f"Declined: {AMARA} is told, and can ask another mentor.")
    expect(mentor.get_by_text("No mentee is waiting for your answer.")).to_be_visible()

    # Amara is told on her home page; Priya is not suggested again, so she asks Lukas.
    tool_document(mentee_page, tool_url).goto(f"{tool_url}/courses/{cohort.course_id}/me")
    expect(mentee.get_by_role("status").filter(has_text=f"{PRIYA} declined your request.")).to_be_visible()
    assert_no_serious_axe_violations(tool_document(mentee_page, tool_url))
    mentee.get_by_role("link", name="Choose your mentor").press("Enter")
    expect(mentee.get_by_role("button", name=f"Ask {PRIYA}")).to_have_count(0)
    mentee.get_by_role("button", name=f"Ask {LUKAS}").press("Enter")
    expect(flash(mentee)).to_contain_text(f"Your request was sent to {LUKAS}.")

    # The instructor sees the request waiting and approves it in Lukas's stead.
    staff.get_by_role("link", name="Matching").first.press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Matching")
    expect(staff.get_by_role("heading", name="Mentees' requests of mentors (1 waiting)")).to_be_visible()
    staff.get_by_role("link", name="See the requests waiting and step in").press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Requests waiting for mentors")
    waiting = staff.get_by_role("article", name=f"{AMARA} asked {LUKAS}")
    document = tool_document(staff_page, tool_url)
    assert_no_serious_axe_violations(document)
    fits_320_px(staff_page, document)
    waiting.get_by_role("button", name=f"Approve {LUKAS} as {AMARA}'s mentor").press("Enter")
    expect(flash(staff)).to_have_text(f"Approved: {LUKAS} is now {AMARA}'s mentor.")
    expect(staff.get_by_text("No request is waiting for a mentor's answer.")).to_be_visible()

    # Amara's home page shows her mentor.
    tool_document(mentee_page, tool_url).goto(f"{tool_url}/courses/{cohort.course_id}/me")
    expect(mentee.get_by_role("heading", name=f"Your mentor: {LUKAS}")).to_be_visible()
    assert cohort.matches() == [("learner-02", "learner-03", "published", False)]


def test_a_mentee_withdraws_their_waiting_request_from_their_home_page(
    people: Callable[[], Page], sandbox: Sandbox, tool_url: str, cohort: Cohort, app: Flask
) -> None:
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.self_match, program.mentor_accepts = True, True
        db.session.commit()
    mentee_page = people()
    mentee = launch(mentee_page, sandbox, AMARA, "My mentorship")
    mentee.get_by_role("link", name="Choose your mentor").press("Enter")
    mentee.get_by_role("button", name=f"Ask {PRIYA}").press("Enter")
    expect(flash(mentee)).to_contain_text(f"Your request was sent to {PRIYA}.")
    tool_document(mentee_page, tool_url).goto(f"{tool_url}/courses/{cohort.course_id}/me")
    document = tool_document(mentee_page, tool_url)
    assert_no_serious_axe_violations(document)
    fits_320_px(mentee_page, document)
    mentee.get_by_role("button", name=f"Withdraw my request to {PRIYA}").press("Enter")
    expect(flash(mentee)).to_have_text(f"You withdrew your request to {PRIYA}. You can choose another mentor.")
    matches = mentee.get_by_role("region", name="Your matches")
    expect(matches.get_by_role("status")).to_contain_text(f"You withdrew your request to {PRIYA}")
    assert_no_serious_axe_violations(tool_document(mentee_page, tool_url))
    mentee.get_by_role("link", name="Choose your mentor").press("Enter")
    expect(mentee.get_by_role("button", name=f"Ask {PRIYA}")).to_be_visible()  # a withdrawal is not a decline
