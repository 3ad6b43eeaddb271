"""An instructor builds a survey in the question editor (issue 15) in Chromium through the sandbox LMS: four types
of question, no JSON, a reorder, a preview and a mistake corrected; then a learner answers it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from playwright.sync_api import FrameLocator, Locator, Page, expect
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.surveys.models import Survey, SurveyResponse
from tests.browser.conftest import assert_no_serious_axe_violations
from tests.browser.test_mentorship_flow import INSTRUCTOR, PRIYA, flash, launch, no_horizontal_scroll, tool_document
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import build_cohort


def _question(frame: FrameLocator, number: int) -> Locator:
    return frame.get_by_role("group", name=f"Question {number}", exact=True)


def _press(frame: FrameLocator, name: str) -> None:
    frame.get_by_role("button", name=name, exact=True).first.press("Enter")


def test_an_instructor_builds_reorders_and_previews_a_survey_without_json_and_a_learner_answers_it(
    page: Page, sandbox: Sandbox, tool_url: str, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    build_cohort(app, new_browser)
    frame = launch(page, sandbox, INSTRUCTOR, "Program setup")
    frame.get_by_role("link", name="Surveys", exact=True).press("Enter")
    frame.get_by_role("radio", name="Mid-program check-in").check()
    _press(frame, "Create draft survey")
    expect(flash(frame)).to_contain_text("as a draft with the default questions")

    # Six default questions: keep three rows, rewritten, and remove the rest.
    for _ in range(3):
        _press(frame, "Remove question 4")
        expect(frame.get_by_role("button", name="Add a question")).to_be_focused()
    expect(_question(frame, 4)).to_have_count(0)
    first = _question(frame, 1)
    first.get_by_label("Question", exact=True).fill("How useful are your meetings?")
    first.get_by_label("Type").select_option(label="Scale from 1 to 5")
    first.get_by_label("Word for 1").fill("Not useful")
    first.get_by_label("Word for 5").fill("Very useful")
    second = _question(frame, 2)
    second.get_by_label("Question", exact=True).fill("How often do you meet?")
    second.get_by_label("Type").select_option(label="Choose one")
    second.get_by_label("Options, one a line").fill("Weekly\nEvery two weeks\nMonthly")
    third = _question(frame, 3)
    third.get_by_label("Question", exact=True).fill("What did you work on?")
    third.get_by_label("Type").select_option(label="Choose any")
    third.get_by_label("Options, one a line").fill("Career\nSkills\nA project")
    third.get_by_label("Participants must answer it").uncheck()
    _press(frame, "Add a question")
    fourth = _question(frame, 4)
    expect(fourth.get_by_label("Question", exact=True)).to_have_value("")
    fourth.get_by_label("Type").select_option(label="Written answer")
    fourth.get_by_label("Question", exact=True).fill("Anything else?")
    fourth.get_by_label("Participants must answer it").check()
    expect(fourth.get_by_label("Options, one a line")).to_be_hidden()  # only the fields of its type

    # The written question moves above the choices; the keyboard stays on its button.
    _press(frame, "Move up question 4")
    expect(_question(frame, 3).get_by_label("Question", exact=True)).to_have_value("Anything else?")
    expect(_question(frame, 4).get_by_label("Question", exact=True)).to_have_value("What did you work on?")
    expect(frame.get_by_role("button", name="Move up question 3")).to_be_focused()

    # A mistake: the error is next to its field, in the summary, and what was typed stays.
    _question(frame, 2).get_by_label("Options, one a line").fill("Weekly\nweekly")
    _press(frame, "Save questions")
    summary = frame.locator(".error-summary")
    expect(summary).to_contain_text("Question 2: Participants could not tell these apart: Weekly, weekly.")
    options = _question(frame, 2).get_by_label("Options, one a line")
    expect(options).to_have_attribute("aria-invalid", "true")
    expect(options).to_have_value("Weekly\nweekly")
    expect(_question(frame, 1).get_by_label("Word for 5")).to_have_value("Very useful")
    document = tool_document(page, tool_url)
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)

    options.fill("Weekly\nEvery two weeks\nMonthly")
    _press(frame, "Preview")
    preview = frame.get_by_role("region", name="Preview of your changes: not saved yet")
    expect(preview.get_by_role("group")).to_have_count(3)  # the scale and the two choices; the text is a textbox
    expect(preview.locator("legend, label").filter(has_text="?")).to_have_text(
        [
            "How useful are your meetings? required",
            "How often do you meet? required",
            "Anything else? required",
            "What did you work on? optional",
        ]
    )
    expect(preview.get_by_text("Very useful")).to_be_visible()
    document = tool_document(page, tool_url)
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)

    _press(frame, "Save questions")
    expect(flash(frame)).to_have_text("The survey is saved. Open it when the questions are ready.")
    editor_url = tool_document(page, tool_url).url
    _press(frame, "Open the survey")
    expect(flash(frame)).to_contain_text("is open")
    expect(frame.get_by_text("The questions are fixed since the survey opened")).to_be_visible()

    # The editor fits a 320 px phone, opened on its own (a new draft, as the open survey has no editor).
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(editor_url.rsplit("/", 1)[0])
    page.get_by_role("radio", name="End of program").check()
    page.get_by_role("button", name="Create draft survey").press("Enter")
    expect(page.get_by_role("group", name="Question 1", exact=True)).to_be_visible()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == 320, widths
    page.set_viewport_size({"width": 1024, "height": 800})

    learner = launch(page, sandbox, PRIYA, "My mentorship")
    learner.get_by_role("link", name="Mid-program check-in").press("Enter")
    learner.get_by_role("group", name="How useful are your meetings? required").get_by_label("4").check()
    learner.get_by_role("radio", name="Every two weeks").check()
    learner.get_by_label("Anything else? required").fill("Thank you.")
    learner.get_by_role("checkbox", name="Skills").check()
    _press(learner, "Send my answers")
    expect(flash(learner)).to_contain_text("Thank you: your answers are saved.")
    with app.app_context():
        survey = db.session.execute(select(Survey).where(Survey.opened_at.is_not(None))).scalar_one()
        (response,) = db.session.execute(select(SurveyResponse)).scalars()
        assert [q["key"] for q in survey.questions] == [
            "satisfaction",  # rewritten rows keep their keys; a new one takes its key from its words
            "confidence",
            "anything-else",
            "goal-progress",
        ]
        assert response.answers == {
            "satisfaction": 4,
            "confidence": "every-two-weeks",
            "anything-else": "Thank you.",
            "goal-progress": ["skills"],
        }
