"""Deep linking in a real browser: the chooser inside the LMS's frame, used by keyboard, and the answer posted
back to the LMS by the page's script file under the tool's Content-Security-Policy."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_serious_axe_violations, chromium, page  # noqa: F401  (the fixtures)
from tests.conftest import Sandbox
from tests.deep_linking.conftest import TOOL_NAME


def test_an_instructor_adds_the_program_by_keyboard(
    page: Page,  # noqa: F811
    sandbox: Sandbox,
    tool_url: str,
    course: int,
) -> None:
    page.goto(f"{sandbox.url}/courses/ment-101")
    page.get_by_role("link", name="Add a link (link selection)").click()
    frame = page.frame_locator("#tool-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(f"Add {TOOL_NAME} content")
    document = page.locator("#tool-frame").element_handle().content_frame()
    assert document is not None and document.url.startswith(f"{tool_url}/courses/{course}/deep-linking/")
    assert_no_serious_axe_violations(document)

    choice = frame.get_by_role("checkbox", name="Mentorship program: Spring mentoring")
    choice.focus()
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    page.keyboard.press("Tab")
    expect(frame.get_by_role("button", name="Add to the course")).to_be_focused()
    page.keyboard.press("Enter")

    # The tool's answer page posts itself to the LMS, which places the link.
    expect(frame.get_by_role("heading", level=1)).to_have_text("Content added to the course")
    expect(frame.locator("#placed")).to_contain_text("Spring mentoring")
    page.goto(f"{sandbox.url}/courses/ment-101")
    expect(page.locator("#placed-links")).to_contain_text(re.compile("Spring mentoring"))
