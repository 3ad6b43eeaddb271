"""The program setup pages in a real browser, inside the sandbox LMS's 800 px iframe: usable by keyboard, no
sideways scrolling, no serious accessibility violations, and the weights' shares follow what is typed."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_serious_axe_violations, chromium, page  # noqa: F401  (fixtures)
from tests.browser.test_sandbox_launch import INSTRUCTOR, launch, tool_frame
from tests.conftest import Sandbox
from tests.programs.helpers import course_id, program_state, skill_id


def test_instructor_creates_a_program_with_the_keyboard_only(
    app: Flask,
    page: Page,  # noqa: F811
    sandbox: Sandbox,
    tool_url: str,
) -> None:
    frame = launch(page, sandbox, INSTRUCTOR)
    title = frame.get_by_label("Program title")
    title.focus()
    page.keyboard.type("Keyboard circles")
    page.keyboard.press("Tab")  # into the model radio group, on the checked option
    expect(frame.get_by_label("One-on-one")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(frame.get_by_label("Group")).to_be_checked()
    page.keyboard.press("Tab")
    expect(frame.get_by_role("button", name="Create program")).to_be_focused()
    page.keyboard.press("Enter")
    expect(frame.get_by_role("status")).to_contain_text("Created “Keyboard circles”")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    state = program_state(app, course_id(app, "ment-101"))
    assert state is not None
    assert (state["title"], state["model"]) == ("Keyboard circles", "group")


@pytest.mark.parametrize("path", ["", "/settings", "/skills", "/skills/{python}"])
def test_setup_pages_fit_the_iframe_and_pass_axe(
    app: Flask,
    page: Page,  # noqa: F811
    sandbox: Sandbox,
    tool_url: str,
    path: str,
) -> None:
    frame_locator = launch(page, sandbox, INSTRUCTOR)
    frame_locator.get_by_label("Program title").fill("Fit test")
    frame_locator.get_by_role("button", name="Create program").click()
    expect(frame_locator.get_by_role("status")).to_be_visible()
    frame = tool_frame(page, tool_url)
    course = course_id(app, "ment-101")
    frame.goto(f"{tool_url}/courses/{course}/program{path.format(python=skill_id(app, course, 'python'))}")
    expect(frame_locator.get_by_role("heading", level=1)).to_be_visible()
    widths = frame.evaluate(
        "() => ({inner: window.innerWidth, scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["inner"] == 800, widths
    assert widths["scroll"] <= widths["client"], widths
    assert_no_serious_axe_violations(frame)


def test_weight_shares_follow_the_inputs(
    app: Flask,
    page: Page,  # noqa: F811
    sandbox: Sandbox,
    tool_url: str,
) -> None:
    frame_locator = launch(page, sandbox, INSTRUCTOR)
    frame_locator.get_by_label("Program title").fill("Weights")
    frame_locator.get_by_role("button", name="Create program").click()
    frame_locator.get_by_role("link", name="Edit settings").click()
    share = frame_locator.locator('output[data-share-for="weight_goal_gain"]')
    expect(share).to_have_text("45%")
    frame_locator.get_by_label("Goal gain").fill("1")  # 1 of 1 + 0.15 + 0.2 + 0.1 + 0.1
    expect(share).to_have_text("65%")
    for key in ("goal_gain", "complementarity", "availability", "diversity", "preferences"):
        frame_locator.locator(f"#weight_{key}").fill("0")
    expect(share).to_have_text("\u2013")  # an en dash: no share of a zero total


def test_instructor_chooses_quality_and_a_time_zone_limit_and_a_bad_value_is_explained(
    app: Flask,
    page: Page,  # noqa: F811
    sandbox: Sandbox,
    tool_url: str,
) -> None:
    frame_locator = launch(page, sandbox, INSTRUCTOR)
    frame_locator.get_by_label("Program title").fill("Choices")
    frame_locator.get_by_role("button", name="Create program").click()
    frame_locator.get_by_role("link", name="Edit settings").click()
    frame_locator.get_by_label("Minimum match score (points of 100)").fill("150")
    frame_locator.get_by_label("At most this many hours apart").fill("6")
    frame_locator.get_by_role("button", name="Save settings").click()
    minimum = frame_locator.get_by_label("Minimum match score (points of 100)")
    expect(minimum).to_have_attribute("aria-invalid", "true")
    expect(frame_locator.locator("#min_score-error")).to_contain_text("from 0 to 100")
    expect(frame_locator.get_by_label("At most this many hours apart")).to_have_value("6")  # kept as typed
    minimum.fill("60")
    minimum.press("Enter")  # submits the form from the keyboard
    expect(frame_locator.get_by_role("heading", level=1)).to_have_text("Program setup")
    expect(frame_locator.get_by_role("status")).to_contain_text("Settings saved.")
    expect(frame_locator.get_by_text("Only matches scoring at least 60 of 100 points")).to_be_visible()
    expect(frame_locator.get_by_text("At most 6 hours apart")).to_be_visible()
    state = program_state(app, course_id(app, "ment-101"))
    assert state is not None
    assert (state["min_score"], state["max_hours_apart"]) == (0.6, 6)
