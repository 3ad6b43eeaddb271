"""What the walkthrough of issue 15 found, in Chromium through the sandbox LMS: a reload after a form's error, a
program renamed (and a long title at 320 px), and an answered survey found again on the learner's home."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_serious_axe_violations
from tests.browser.test_sandbox_launch import INSTRUCTOR, LEARNER, launch, tool_frame
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import publish_pairs
from tests.surveys.conftest import END_ANSWERS, answer, close_survey, create_survey, open_survey


def _create_program(page: Page, sandbox: Sandbox, title: str = "Spring mentoring") -> None:
    frame = launch(page, sandbox, INSTRUCTOR)
    frame.get_by_label("Program title").fill(title)
    frame.get_by_role("button", name="Create program").click()
    expect(frame.get_by_role("status")).to_contain_text("Created")


def test_reloading_a_page_that_showed_a_forms_error_opens_the_form_again(
    page: Page, sandbox: Sandbox, tool_url: str
) -> None:
    _create_program(page, sandbox)
    frame = page.frame_locator("#tool-frame")
    frame.get_by_role("link", name="Skill framework").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Skill framework")
    frame.get_by_role("button", name="Import and replace").click()  # no file chosen
    expect(frame.locator(".field-error").first).to_be_visible()
    document = tool_frame(page, tool_url)
    assert re.search(r"/program/skills/import(\?|#|$)", document.url), document.url
    # A reload: a GET of the URL that answered the POST (its #fragment never reaches the server).
    answer = document.goto(document.url.split("#")[0])
    assert answer is not None and answer.request.redirected_from is not None
    assert answer.request.redirected_from.method == "GET"
    expect(frame.get_by_role("heading", level=1)).to_have_text("Skill framework")
    expect(frame.get_by_role("button", name="Import and replace")).to_be_visible()
    assert re.search(r"/program/skills(\?|#|$)", tool_frame(page, tool_url).url)
    assert_no_serious_axe_violations(tool_frame(page, tool_url))


def _fits(page: Page, tool_url: str) -> None:
    document = tool_frame(page, tool_url)
    widths = document.evaluate("() => ({inner: window.innerWidth, scroll: document.documentElement.scrollWidth})")
    assert widths["inner"] == 320 and widths["scroll"] <= widths["inner"], widths


def test_instructor_renames_the_program_and_a_long_unbroken_title_wraps_at_320_px(
    page: Page, sandbox: Sandbox, tool_url: str
) -> None:
    _create_program(page, sandbox)
    frame = page.frame_locator("#tool-frame")
    frame.get_by_role("link", name="Edit settings").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program settings")
    title = frame.get_by_label("Program title")
    expect(title).to_have_value("Spring mentoring")
    title.fill("   ")
    frame.get_by_role("button", name="Save settings").click()
    expect(frame.locator("#title-error")).to_have_text("Error: Give the program a title.")
    frame.get_by_label("Program title").fill("Autumn circles")
    frame.get_by_role("button", name="Save settings").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    expect(frame.locator("p.flash").first).to_have_text("Settings saved.")
    expect(frame.locator(".program-title")).to_have_text("Autumn circles")

    long_title = "Mentoring" * 22 + "xy"  # 200 characters, no space
    frame.get_by_role("link", name="Edit settings").click()
    frame.get_by_label("Program title").fill(long_title)
    frame.get_by_role("button", name="Save settings").click()
    expect(frame.locator(".program-title")).to_have_text(long_title)
    page.locator("#tool-frame").evaluate("frame => { frame.style.width = '320px'; }")
    _fits(page, tool_url)
    frame.get_by_role("link", name="Edit settings").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program settings")
    _fits(page, tool_url)
    assert_no_serious_axe_violations(tool_frame(page, tool_url))


def test_an_answered_survey_stays_on_the_learners_home_to_change_its_answers_until_it_closes(
    app: Flask, page: Page, sandbox: Sandbox, tool_url: str, new_browser: Callable[[], LtiBrowser]
) -> None:
    pair = publish_pairs(app, new_browser)
    assert pair.mentor == "learner-01"  # Priya Natarajan, who answers in Chromium below
    survey_id = create_survey(pair, "end")
    open_survey(pair, survey_id)
    frame = launch(page, sandbox, LEARNER)
    to_answer = frame.get_by_role("region", name="Surveys to answer")
    expect(to_answer.get_by_role("link", name="End-of-program survey")).to_be_visible()
    expect(frame.get_by_role("region", name="Surveys you answered")).to_have_count(0)

    assert answer(pair, pair.mentor, survey_id, END_ANSWERS).status_code == 200
    document = tool_frame(page, tool_url)
    document.goto(document.url)
    expect(frame.get_by_role("region", name="Surveys to answer")).to_have_count(0)
    answered = frame.get_by_role("region", name="Surveys you answered")
    expect(answered).to_contain_text("you can change your answers until it closes")
    assert_no_serious_axe_violations(tool_frame(page, tool_url))
    answered.get_by_role("link", name="Change your answers to End-of-program survey").click()
    expect(frame.get_by_text("You can change your answers")).to_be_visible()
    expect(frame.locator('input[name="q-satisfaction"][value="4"]')).to_be_checked()

    close_survey(pair, survey_id)
    document = tool_frame(page, tool_url)
    document.goto(f"{tool_url}/courses/{pair.course_id}/me")
    expect(frame.get_by_role("heading", level=1)).to_have_text("My mentorship")
    expect(frame.get_by_role("region", name="Surveys you answered")).to_have_count(0)
    expect(frame.get_by_role("link", name=re.compile("Change your answers"))).to_have_count(0)
