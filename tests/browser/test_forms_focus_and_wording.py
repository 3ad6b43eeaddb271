"""What a person sees and where the keyboard goes on the pair page's forms, in a real browser through the sandbox
LMS (issue 15, "Wording and figures"): focus moves to the error summary after a failed submit and to the flash
after a success; a number that is no number gets one plain message."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import FrameLocator, Page, expect

from tests.browser import test_mentoring_in_practice as practice
from tests.browser.test_mentoring_in_practice import AMARA, PRIYA, ZONE, flash
from tests.browser.test_mentorship_flow import launch, tool_document
from tests.conftest import Sandbox
from tests.matching_workflow.conftest import Cohort

pair = practice.pair  # the published pair with an open round


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
