"""Launch the tool from the sandbox LMS in a real browser: the whole LTI 1.3 flow (OIDC login, platform auth,
auto-submitted form post, redirect) runs inside the LMS page's iframe, with real cookies, CSP and layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, expect

from tests.conftest import Sandbox

COURSE_TITLE = "Mentoring Practice 101"
INSTRUCTOR = "Ada Okafor"
TEACHING_ASSISTANT = "Tomás Reyes"
LEARNER = "Priya Natarajan"
# The page each person's launch must end on: staff set the program up, learners see their own space.
HEADING = {INSTRUCTOR: "Program setup", TEACHING_ASSISTANT: "Program setup", LEARNER: "My mentorship"}


def open_course(page: Page, sandbox: Sandbox) -> None:
    page.goto(f"{sandbox.url}/courses/ment-101")
    expect(page.get_by_role("heading", level=1)).to_have_text(COURSE_TITLE)


def launch(page: Page, sandbox: Sandbox, name: str, *, keyboard: bool = False) -> FrameLocator:
    """Open the course in the LMS and launch the tool as `name`; returns the tool frame once it shows that person's
    page (so every test below fails when the launch does)."""
    open_course(page, sandbox)
    link = page.get_by_role("link", name=f"Launch as {name}", exact=True)
    if keyboard:
        link.focus()
        page.keyboard.press("Enter")
    else:
        link.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox.url)}/courses/ment-101/launch/[^/]+$"))
    frame = page.frame_locator("#tool-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(HEADING[name])
    return frame


def tool_frame(page: Page, tool_url: str) -> Frame:
    """The iframe's document as a Frame (for evaluate); it must be the tool's, not the LMS's or an error page."""
    handle = page.locator("#tool-frame").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    assert frame.url.startswith(f"{tool_url}/"), frame.url
    return frame


def test_instructor_launch_shows_program_setup(page: Page, sandbox: Sandbox, tool_url: str) -> None:
    frame = launch(page, sandbox, INSTRUCTOR, keyboard=True)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    expect(frame.locator(".tool-header .course")).to_contain_text(COURSE_TITLE)
    expect(frame.locator(".tool-header .who")).to_contain_text(f"{INSTRUCTOR} · instructor")
    expect(frame.get_by_role("heading", name="People who have opened the tool")).to_be_visible()
    # The instructor has opened the tool: they are counted.
    expect(frame.locator(".stats div", has_text="Instructors").locator("dd")).to_have_text("1")
    assert tool_frame(page, tool_url).title() == f"Program setup · {COURSE_TITLE}"


def test_teaching_assistant_launch_shows_program_setup(page: Page, sandbox: Sandbox) -> None:
    frame = launch(page, sandbox, TEACHING_ASSISTANT)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    expect(frame.locator(".tool-header .who")).to_contain_text(f"{TEACHING_ASSISTANT} · teaching assistant")


def test_learner_launch_shows_my_mentorship(page: Page, sandbox: Sandbox, tool_url: str) -> None:
    frame = launch(page, sandbox, LEARNER)
    expect(frame.get_by_role("heading", level=1)).to_have_text("My mentorship")
    expect(frame.locator(".tool-header .course")).to_contain_text(COURSE_TITLE)
    expect(frame.locator(".lead")).to_contain_text(f"Welcome, {LEARNER}.")
    expect(frame.get_by_text("Program setup")).to_have_count(0)
    assert tool_frame(page, tool_url).title() == f"My mentorship · {COURSE_TITLE}"


@pytest.mark.parametrize("name", [INSTRUCTOR, LEARNER])
@pytest.mark.parametrize("viewport_width", [1024, 400])
def test_tool_page_fits_the_lms_iframe(
    page: Page, sandbox: Sandbox, tool_url: str, name: str, viewport_width: int
) -> None:
    """The LMS gives the tool an 800 px iframe (narrower on a phone): the tool must not scroll sideways in it."""
    page.set_viewport_size({"width": viewport_width, "height": 800})
    launch(page, sandbox, name)
    frame = tool_frame(page, tool_url)
    widths = frame.evaluate(
        "() => ({inner: window.innerWidth, scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    if viewport_width == 1024:
        assert widths["inner"] == 800, widths
    else:
        assert widths["inner"] < 400, widths
    assert widths["client"] > 0
    assert widths["scroll"] <= widths["client"], widths


def test_first_tab_into_the_tool_focuses_the_skip_link(page: Page, sandbox: Sandbox, tool_url: str) -> None:
    """A keyboard user tabbing from the LMS into the tool lands first on a visible "Skip to content" link."""
    frame = launch(page, sandbox, INSTRUCTOR)
    skip = frame.get_by_role("link", name="Skip to content")
    expect(skip).to_have_count(1)
    document = tool_frame(page, tool_url)
    box = skip.bounding_box()
    assert box is not None and box["x"] + box["width"] < 0, "the skip link is off-screen until focused"

    page.locator("body").focus()
    for _ in range(10):  # Tab through the LMS page until focus enters the tool's iframe
        page.keyboard.press("Tab")
        if document.evaluate("() => document.hasFocus() && document.activeElement !== document.body"):
            break
    else:
        pytest.fail("Tab never moved focus into the tool's iframe")

    expect(skip).to_be_focused()
    box = skip.bounding_box()
    frame_box = page.locator("#tool-frame").bounding_box()
    assert box is not None and frame_box is not None
    assert frame_box["x"] <= box["x"] and box["x"] + box["width"] <= frame_box["x"] + frame_box["width"], box
    assert box["width"] > 0 and box["height"] > 0

    page.keyboard.press("Enter")
    expect(frame.locator("main#main")).to_be_focused()


@pytest.mark.parametrize("name", [INSTRUCTOR, LEARNER])
def test_tool_page_has_no_serious_accessibility_violations(
    page: Page, sandbox: Sandbox, tool_url: str, name: str
) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    launch(page, sandbox, name)
    results = axe_module.Axe().run(tool_frame(page, tool_url))
    # axe ran for real: it reports what it checked, not only what failed.
    assert results.response["testEngine"]["name"] == "axe-core"
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, results.generate_report()
