"""The instructor's question editor: building questions without JSON, moving, adding and removing them, and each
refusal next to its field with what was typed kept and nothing saved."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx

from lti_tool.surveys.questions import MAX_QUESTIONS
from tests.mentoring.conftest import Pair
from tests.profiles.helpers import field_errors
from tests.surveys.conftest import create_survey, staff_path, submit, survey, token_of


def _row(n: int, kind: str, text: str, **fields: Any) -> dict[str, Any]:
    return {f"q-{n}-type": kind, f"q-{n}-text": text, **{f"q-{n}-{name}": value for name, value in fields.items()}}


def _rows(page: str) -> list[str]:
    """The question texts in the editor, in their order."""
    return [html.unescape(t) for t in re.findall(r'id="q-\d+-text" name="q-\d+-text" value="([^"]*)"', page)]


def test_an_instructor_builds_each_type_of_question_in_the_editor_and_saves_it(pair: Pair) -> None:
    survey_id = create_survey(pair, "mid")
    page = staff_path(pair, f"/{survey_id}")
    form = {
        "title": "Halfway",
        **_row(0, "scale", "How useful are your meetings?", required="y", low="Not at all", high="Very"),
        **_row(1, "single-choice", "How often do you meet?", options="Weekly\nEvery two weeks\n\nMonthly"),
        **_row(2, "multi-choice", "What did you work on?", options="Career\nSkills (SQL, Python)\nGarcía's project"),
        **_row(3, "text", "Anything else?", options="ignored: not a choice question"),
    }
    previewed = submit(pair.browser("instructor"), page, page, {**form, "action": "preview"})
    assert previewed.status_code == 200
    assert "Preview of your changes: not saved yet" in previewed.text
    assert 'id="preview-q-how-often-do-you-meet-every-two-weeks"' in previewed.text  # the participant's inputs
    assert survey(pair.app, survey_id).title != "Halfway"

    saved = submit(pair.browser("instructor"), page, page, {**form, "action": "save"})
    assert saved.status_code == 200 and "The survey is saved" in saved.text
    assert survey(pair.app, survey_id).questions == [
        {
            "key": "how-useful-are-your-meetings",
            "text": "How useful are your meetings?",
            "type": "scale",
            "required": True,
            "labels": ["Not at all", "Very"],
        },
        {
            "key": "how-often-do-you-meet",
            "text": "How often do you meet?",
            "type": "single-choice",
            "required": False,
            "options": [
                {"value": "weekly", "label": "Weekly"},
                {"value": "every-two-weeks", "label": "Every two weeks"},
                {"value": "monthly", "label": "Monthly"},
            ],
        },
        {
            "key": "what-did-you-work-on",
            "text": "What did you work on?",
            "type": "multi-choice",
            "required": False,
            "options": [
                {"value": "career", "label": "Career"},
                {"value": "skills-sql-python", "label": "Skills (SQL, Python)"},
                {"value": "garcia-s-project", "label": "García's project"},
            ],
        },
        {"key": "anything-else", "text": "Anything else?", "type": "text", "required": False},
    ]


def test_saved_questions_keep_their_keys_and_option_codes_when_edited(pair: Pair) -> None:
    survey_id = create_survey(pair, "end")
    page = staff_path(pair, f"/{survey_id}")
    before = next(q for q in survey(pair.app, survey_id).questions if q["type"] == "multi-choice")
    labels = [o["label"] for o in before["options"]]
    changed = [*labels[:-1], "Something new"]
    form = {"title": "End", "q-0-key": before["key"], **_row(0, "multi-choice", "Changed?", options="\n".join(changed))}
    assert submit(pair.browser("instructor"), page, page, form).status_code == 200
    (after,) = survey(pair.app, survey_id).questions
    assert after["key"] == before["key"]
    assert [o["value"] for o in after["options"]][:-1] == [o["value"] for o in before["options"]][:-1]
    assert after["options"][-1] == {"value": "something-new", "label": "Something new"}


def test_moving_adding_and_removing_questions_changes_the_page_only_until_saved(pair: Pair) -> None:
    survey_id = create_survey(pair, "mid")
    page = staff_path(pair, f"/{survey_id}")
    instructor = pair.browser("instructor")
    saved = survey(pair.app, survey_id).questions
    form = {"title": "Halfway", **_row(0, "text", "First"), **_row(1, "text", "Second"), **_row(2, "text", "Third")}

    moved = submit(instructor, page, page, {**form, "action": "down-0"})
    assert moved.status_code == 200 and _rows(moved.text) == ["Second", "First", "Third"]
    assert re.search(r'value="down-1" id="q-1-down" class="secondary" autofocus', moved.text)  # keyboard stays
    up = submit(instructor, page, page, {**form, "action": "up-2"})
    assert _rows(up.text) == ["First", "Third", "Second"]
    added = submit(instructor, page, page, {**form, "action": "add"})
    assert _rows(added.text) == ["First", "Second", "Third", ""]
    assert re.search(r'id="q-3-text"[^>]*autofocus', added.text) is None  # focus goes to the button's id
    removed = submit(instructor, page, page, {**form, "action": "remove-1"})
    assert _rows(removed.text) == ["First", "Third"]
    assert survey(pair.app, survey_id).questions == saved

    unknown = submit(instructor, page, page, {**form, "action": "up-99"})
    assert unknown.status_code == 400


def test_each_mistake_is_shown_next_to_its_field_with_what_was_typed_and_nothing_saved(pair: Pair) -> None:
    survey_id = create_survey(pair, "mid")
    page = staff_path(pair, f"/{survey_id}")
    before = survey(pair.app, survey_id)
    form = {
        "title": "",
        **_row(0, "scale", "   ", low="Never"),
        **_row(1, "single-choice", "Which <b>one</b>?", options="Yes\nyes"),
        **_row(2, "multi-choice", "Which ones?", options="Only one"),
        **_row(3, "poll", "Kind?"),
        **_row(4, "text", "x" * 301),
    }
    refused = submit(pair.browser("instructor"), page, page, form)
    assert refused.status_code == 422
    errors = field_errors(refused)
    assert (
        '<p class="field-error" id="title-error"><span class="visually-hidden">Error: </span>Give the survey a title.'
        in refused.text
    )
    assert errors["q-0-text-errors"] == "Write the question, at most 300 characters."
    assert errors["q-0-labels-errors"] == "Two short texts (at most 60 characters), the words for 1 and for 5."
    assert errors["q-1-options-errors"] == "Participants could not tell these apart: Yes, yes."
    assert errors["q-2-options-errors"] == "2 to 12 options (found 1)."
    assert errors["q-3-type-errors"].startswith("One of ")
    assert errors["q-4-text-errors"] == "Write the question, at most 300 characters."
    # What was typed is still there, escaped, and tied to its error.
    assert 'value="Which &lt;b&gt;one&lt;/b&gt;?"' in refused.text
    assert (
        'name="q-1-options" rows="4" aria-describedby="q-1-options-hint q-1-options-errors" aria-invalid="true">'
        "Yes\nyes</textarea>" in refused.text
    )
    assert 'value="Never"' in refused.text
    assert '<a href="#q-1-options">Question 2: Participants could not tell these apart' in html.unescape(refused.text)
    after = survey(pair.app, survey_id)
    assert (after.title, after.questions) == (before.title, before.questions)


def test_too_many_or_no_questions_are_refused_with_the_json_limits(pair: Pair) -> None:
    survey_id = create_survey(pair, "mid")
    page = staff_path(pair, f"/{survey_id}")
    instructor = pair.browser("instructor")
    before = survey(pair.app, survey_id).questions
    full = {"title": "Long", **{k: v for n in range(MAX_QUESTIONS) for k, v in _row(n, "text", f"Q{n}").items()}}

    more = submit(instructor, page, page, {**full, "action": "add"})
    assert more.status_code == 422
    assert (
        field_errors(more)["editor-questions-errors"]
        == f"A survey has at most {MAX_QUESTIONS} questions: remove one to add another."
    )
    too_many = submit(instructor, page, page, {**full, **_row(MAX_QUESTIONS, "text", "One more")})
    assert too_many.status_code == 422
    assert (
        field_errors(too_many)["editor-questions-errors"]
        == f"A survey has 1 to {MAX_QUESTIONS} questions (found {MAX_QUESTIONS + 1})."
    )
    none = submit(instructor, page, page, {"title": "Empty"})
    assert none.status_code == 422
    assert field_errors(none)["editor-questions-errors"] == f"A survey has 1 to {MAX_QUESTIONS} questions (found 0)."
    assert survey(pair.app, survey_id).questions == before


def test_questions_import_from_a_json_file_and_a_file_that_is_not_text_is_refused(pair: Pair) -> None:
    survey_id = create_survey(pair, "mid")
    page = staff_path(pair, f"/{survey_id}")
    instructor = pair.browser("instructor")
    before = survey(pair.app, survey_id).questions

    def upload(content: bytes) -> httpx.Response:
        token = token_of(instructor.get(page))
        return instructor.http.post(
            f"{instructor.tool_url}{page}/import",
            data={"csrf_token": token, "questions": ""},
            files={"file": ("questions.json", content, "application/json")},
            follow_redirects=True,
        )

    refused = upload(b"\xff\xfe not UTF-8")
    assert refused.status_code == 422
    assert "The file is not UTF-8 text" in html.unescape(refused.text)
    empty = upload(b"[]")
    assert empty.status_code == 422
    assert f"A survey has 1 to {MAX_QUESTIONS} questions (found 0)." in field_errors(empty)["questions-errors"]
    assert survey(pair.app, survey_id).questions == before

    one = [{"key": "mood", "text": "How are you?", "type": "scale", "required": True}]
    imported = upload(b"\xef\xbb\xbf" + json.dumps(one).encode())  # with the BOM some editors write
    assert imported.status_code == 200 and "Imported 1 question: they replace" in imported.text
    assert survey(pair.app, survey_id).questions == one
