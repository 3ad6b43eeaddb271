"""The session log in a real browser, inside the sandbox LMS's 800 px iframe: the mentor logs a session with the
form on the pair page, then opens it, its edit form and its history; each page fits and passes axe."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from lti_tool.extensions import utcnow
from tests.browser.conftest import chromium, page  # noqa: F401  (real-browser fixtures)
from tests.browser.test_mentorship_flow import (
    PRIYA,
    assert_no_serious_axe_violations,
    launch,
    no_horizontal_scroll,
    save_screenshot,
    tool_document,
)
from tests.conftest import Sandbox
from tests.mentoring.conftest import Pair


def test_a_mentor_logs_a_session_and_each_session_page_fits_the_iframe(
    page: Page,  # noqa: F811
    sandbox: Sandbox,
    tool_url: str,
    pair: Pair,
) -> None:
    assert pair.mentor == "learner-01"  # Priya Natarajan
    frame = launch(page, sandbox, PRIYA, "My mentorship")
    document = tool_document(page, tool_url)
    document.goto(f"{tool_url}{pair.path}#log-session")

    form = frame.get_by_role("region", name="Log a session")
    # An hour ago, on Priya's clock (her profile is in Paris).
    started = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris"))
    form.get_by_label("Date").fill(started.date().isoformat())
    form.get_by_label("Start time").fill(f"{started:%H:%M}")
    form.get_by_label("Duration in minutes").fill("50")
    form.get_by_label("Video call").check()
    form.get_by_label("Topics").fill("Reading a stack trace together")
    form.locator("summary", has_text="Skills practised (optional)").click()  # the lists open on demand
    form.get_by_label("Python").check()
    form.locator("summary", has_text="Action items (optional)").click()
    form.get_by_label("Action 1", exact=True).fill("Write a failing test first")
    form.get_by_label("Who does action 1").select_option(label="Priya Natarajan (you)")
    form.get_by_role("button", name="Log this session").press("Enter")

    expect(frame.get_by_role("status").first).to_contain_text("Your session is logged. Waiting for")
    card = frame.get_by_role("article").filter(has_text="Reading a stack trace together")
    expect(card).to_contain_text("Awaiting confirmation")
    expect(card.get_by_role("button", name="Mark done")).to_contain_text("Write a failing test first")
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)
    save_screenshot(page, document, frame.locator("#sessions"), "session-log-on-the-pair-page.png")

    card.get_by_role("link", name="Open the session of").click()
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Session of")
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)

    frame.get_by_role("link", name="Edit this session").click()
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Edit the session of")
    frame.get_by_label("Duration in minutes").fill("65")
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)
    save_screenshot(page, document, None, "session-edit-form.png")
    frame.get_by_role("button", name="Save changes").press("Enter")
    expect(frame.get_by_role("status").first).to_contain_text("Saved as version 2.")

    frame.get_by_role("link", name="edited: see the history (version 2)").click()
    expect(frame.get_by_role("row", name="Duration 50 minutes 65 minutes")).to_be_visible()
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)
