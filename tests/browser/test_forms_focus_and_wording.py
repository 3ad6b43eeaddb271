"""What a person sees and where the keyboard goes on the pair page's forms, in a real browser through the sandbox
LMS (issue 15, "Wording and figures"): focus moves to the error summary after a failed submit and to the flash
after a success; a number that is no number gets one plain message; the session form is a few Tab presses from
Topics to its button and still logs what was chosen; Program health says "45 minutes in 1 session"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from playwright.sync_api import FrameLocator, Page, expect

from tests.browser import test_mentoring_in_practice as practice
from tests.browser.test_mentoring_in_practice import AMARA, INSTRUCTOR, PRIYA, ZONE, flash
from tests.browser.test_mentorship_flow import launch, tool_document
from tests.conftest import Sandbox
from tests.matching_workflow.conftest import Cohort

pair = practice.pair  # the published pair with an open round (people, more browsers: conftest.py)

MAX_TABS = 10  # from Topics to "Log this session"


def open_pair_page(page: Page, sandbox: Sandbox) -> FrameLocator:
    frame = launch(page, sandbox, AMARA, "My mentorship")
    frame.get_by_role("link", name="Open your pair page").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text(f"With {PRIYA}")
    return frame


def fill_when(frame: FrameLocator, minutes: str) -> None:
    """The log form's date, time, length and format: a video call that started three hours ago."""
    log = frame.locator("#log-session")
    met = datetime.now(ZONE) - timedelta(hours=3)
    log.get_by_label("Date", exact=True).fill(met.date().isoformat())
    log.get_by_label("Start time").fill(f"{met.hour:02d}:{met.minute // 15 * 15:02d}")
    duration = log.get_by_label("Duration in minutes")
    duration.fill("")
    duration.press_sequentially(minutes)
    log.get_by_role("radio", name="Video call").press("Space")


def test_focus_goes_to_the_error_summary_after_a_failed_submit_and_to_the_flash_after_a_success(
    page: Page, sandbox: Sandbox, tool_url: str, pair: Cohort
) -> None:
    mentee = open_pair_page(page, sandbox)

    # A success: the flash has the focus.
    mentee.get_by_role("button", name="I accept the agreement").press("Enter")
    expect(flash(mentee)).to_contain_text("You accepted the agreement.")
    expect(flash(mentee)).to_be_focused()

    # The session form, with a length that is no number: one plain message, and the focus on the summary.
    fill_when(mentee, "1.5")  # a number input sends no letters; a decimal is what gets through
    mentee.locator("#log-session").get_by_label("Topics").press_sequentially("SQL joins.")
    mentee.get_by_role("button", name="Log this session").press("Enter")
    summary = mentee.locator("#log-session .error-summary")
    expect(summary).to_be_focused()
    message = "Enter how long you met as a number of minutes, such as 45."
    expect(summary.get_by_role("link")).to_have_text(f"Duration in minutes: {message}")
    expect(mentee.locator("#session-duration_minutes-error")).to_have_text(f"Error: {message}")
    assert "Not a valid" not in tool_document(page, tool_url).content()
    summary.get_by_role("link").press("Enter")  # the summary's link leads to the field
    expect(mentee.get_by_label("Duration in minutes")).to_be_focused()

    # Another form, the goal form, sent empty: the focus is on its summary too.
    goals = mentee.get_by_role("region", name="Goals")
    goals.get_by_role("button", name="Set the goal").press("Enter")
    expect(mentee.locator("#goals .error-summary")).to_be_focused()
    assert tool_document(page, tool_url).evaluate("document.activeElement.getAttribute('role')") == "alert"


def test_the_session_form_is_a_few_tab_presses_from_topics_to_its_button_and_logs_what_was_chosen(
    page: Page, people: Callable[[], Page], sandbox: Sandbox, tool_url: str, pair: Cohort
) -> None:
    mentee = open_pair_page(page, sandbox)
    document = tool_document(page, tool_url)
    log = mentee.locator("#log-session")
    fill_when(mentee, "45")
    topics = log.get_by_label("Topics")
    topics.press_sequentially("Reading a first SQL join.")

    presses = 0
    while document.evaluate("document.activeElement.textContent.trim()") != "Log this session":
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= MAX_TABS, document.evaluate("document.activeElement.outerHTML")
    assert presses <= MAX_TABS

    # The collapsed parts open from the keyboard and what is chosen in them is logged.
    log.locator("summary", has_text="Skills practised (optional)").press("Enter")
    log.get_by_role("group", name="Skills practised (optional)").get_by_role("checkbox", name="Python").press("Space")
    log.locator("summary", has_text="Action items (optional)").press("Enter")
    log.get_by_label("Action 1", exact=True).press_sequentially("Send the query I wrote")
    log.get_by_label("Who does action 1").select_option(label=f"{AMARA} (you)")
    log.get_by_role("button", name="Log this session").press("Enter")
    expect(flash(mentee)).to_have_text(f"Your session is logged. Waiting for {PRIYA} to confirm it.")
    session = mentee.locator("article.session")
    expect(session).to_contain_text("Skills practised: Python")
    expect(session).to_contain_text("Send the query I wrote")

    # Program health gives the 45 minutes as minutes, and one session in the singular.
    staff = launch(people(), sandbox, INSTRUCTOR, "Program setup")
    staff.get_by_role("link", name="Program health").press("Enter")
    glance = staff.get_by_role("region", name="At a glance")
    expect(glance.locator("div", has=staff.get_by_text("Sessions logged")).locator("dd")).to_have_text("1 45 minutes")
    expect(staff.locator("svg desc").filter(has_text="45 minutes in 1 session.")).to_have_count(1)
