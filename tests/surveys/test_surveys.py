"""The instructor prepares, opens and closes a survey; participants answer it once and may change it while open."""

from __future__ import annotations

import html
import json

from lti_tool.extensions import db
from lti_tool.surveys.models import Survey, SurveyKind
from lti_tool.surveys.questions import questions_json
from lti_tool.surveys.services import default_survey
from tests.mentoring.conftest import Pair
from tests.profiles.helpers import field_errors, outbox_count, outbox_events
from tests.surveys.conftest import (
    END_ANSWERS,
    answer,
    answer_path,
    close_survey,
    create_survey,
    open_survey,
    responses,
    staff_path,
    submit,
    survey,
)


def test_a_survey_goes_from_draft_to_open_to_closed_and_participants_answer_it(pair: Pair) -> None:
    survey_id = create_survey(pair, "end")
    page = pair.browser("instructor").get(staff_path(pair, f"/{survey_id}"))
    assert "End-of-program survey" in page.text and "Draft" in page.text
    assert "career-outcomes" in page.text  # the default questions, ready to edit
    # A draft is the staff's only: learners neither see it at home nor can open it.
    assert pair.browser(pair.mentee).get(answer_path(pair, survey_id)).status_code == 404
    assert "Surveys to answer" not in pair.browser(pair.mentee).get(f"/courses/{pair.course_id}/me").text

    opened = open_survey(pair, survey_id)
    assert opened.status_code == 200
    assert "is open: participants see it on their home page" in html.unescape(opened.text)
    home = pair.browser(pair.mentee).get(f"/courses/{pair.course_id}/me")
    assert "Surveys to answer" in home.text and answer_path(pair, survey_id) in home.text

    sent = answer(pair, pair.mentee, survey_id, END_ANSWERS)
    assert sent.status_code == 200
    assert "your answers are saved" in sent.text
    assert "Surveys to answer" not in sent.text  # answered: no longer waiting on the home page
    home = pair.browser(pair.mentee).get(f"/courses/{pair.course_id}/me")
    assert "Surveys to answer" not in home.text
    assert "Change your answers" in home.text and answer_path(pair, survey_id) in home.text  # but found again there
    [saved] = responses(pair.app, survey_id)
    assert saved.answers["career-outcomes"] == ["promotion", "certification"]
    assert saved.answers["satisfaction"] == 4 and saved.revision == 1
    [statement] = outbox_events(pair.app, "survey-answered")
    body = json.loads(statement.body)
    assert body["verb"]["id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert body["result"]["extensions"]["https://mentor-lti.example/xapi/extensions/survey-answers"] == {
        "satisfaction": 4,
        "confidence": 5,
        "goal-progress": 3,
        "career-outcomes": "promotion[,]certification",
        "recommend": "yes",
    }
    assert "Ada helped me" not in statement.body  # free text stays in the tool

    # Their answers come back to change them while the survey is open; the free text is shown as text.
    again = pair.browser(pair.mentee).get(answer_path(pair, survey_id))
    assert "You can change your answers" in again.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in again.text and "<script>alert(1)" not in again.text
    assert 'value="promotion" checked' in again.text
    changed = answer(pair, pair.mentee, survey_id, {**END_ANSWERS, "q-satisfaction": "2"})
    assert "Your answers are updated" in changed.text
    [saved] = responses(pair.app, survey_id)
    assert saved.answers["satisfaction"] == 2 and saved.revision == 2
    # The change voids the first statement and sends the new answers.
    first, second = sorted(outbox_events(pair.app, "survey-answered"), key=lambda row: row.id)
    [voiding] = outbox_events(pair.app, "survey-answer-voided")
    assert json.loads(voiding.body)["object"] == {"objectType": "StatementRef", "id": first.statement_id}
    assert (
        json.loads(second.body)["result"]["extensions"]["https://mentor-lti.example/xapi/extensions/survey-answers"][
            "satisfaction"
        ]
        == 2
    )

    closed = close_survey(pair, survey_id)
    assert "is closed: its answers are final" in html.unescape(closed.text)
    home = pair.browser(pair.mentee).get(f"/courses/{pair.course_id}/me")
    assert "Change your answers" not in home.text and answer_path(pair, survey_id) not in home.text
    statements = outbox_count(pair.app)
    late = answer(pair, pair.mentor, survey_id, END_ANSWERS)
    assert late.status_code == 409
    assert "This survey is closed" in late.text
    assert len(responses(pair.app, survey_id)) == 1
    assert outbox_count(pair.app) == statements
    # The closed survey still shows its answers to the one who gave them, read only.
    shown = pair.browser(pair.mentee).get(answer_path(pair, survey_id))
    assert "Your answers" in shown.text and "disabled" in shown.text


def test_invalid_answers_are_shown_next_to_each_question_and_nothing_is_saved(pair: Pair) -> None:
    survey_id = create_survey(pair, "end")
    open_survey(pair, survey_id)
    statements = outbox_count(pair.app)
    refused = answer(
        pair,
        pair.mentee,
        survey_id,
        {
            "q-satisfaction": "7",
            "q-goal-progress": "3",
            "q-career-outcomes": ["promotion", "astronaut"],
            "q-recommend": ["yes", "no"],
            "q-proudest-outcome": "x" * 2001,
        },
    )
    assert refused.status_code == 422
    assert field_errors(refused) == {
        "q-satisfaction-errors": "Choose a number from 1 to 5.",
        "q-confidence-errors": "Choose a number from 1 to 5.",
        "q-career-outcomes-errors": "Choose among the answers shown.",
        "q-recommend-errors": "Choose one answer only.",
        "q-proudest-outcome-errors": "Keep your answer under 2000 characters.",
    }
    assert "Nothing was saved: please correct 5 answers" in refused.text
    # What they entered is still there to correct.
    assert 'id="q-goal-progress-3" name="q-goal-progress" value="3" checked' in refused.text
    assert responses(pair.app, survey_id) == []
    assert outbox_count(pair.app) == statements


def test_the_instructor_imports_questions_as_json_with_each_schema_error_next_to_the_field(pair: Pair) -> None:
    survey_id = create_survey(pair, "mid")
    page = staff_path(pair, f"/{survey_id}")
    imports = staff_path(pair, f"/{survey_id}/import")
    instructor = pair.browser("instructor")
    before = survey(pair.app, survey_id).questions

    broken = submit(instructor, page, imports, {"questions": '[{"key": "x",'})
    assert broken.status_code == 422
    assert "Not valid JSON" in broken.text and 'id="questions-errors"' in broken.text
    assert 'aria-invalid="true"' in broken.text

    wrong = json.dumps(
        [
            {"key": "mood", "text": "How are you?", "type": "scale", "required": True},
            {"key": "mood", "text": "Again", "type": "single-choice", "options": [{"value": "a", "label": "A"}]},
            {"key": "how", "text": "", "type": "poll"},
        ]
    )
    refused = submit(instructor, page, imports, {"questions": wrong})
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Question 2 “mood” (options): 2 to 12 options (found 1)" in text
    assert "Question 3 “how” (text)" in text and "Question 3 “how” (type)" in text
    assert survey(pair.app, survey_id).questions == before

    questions = default_survey(SurveyKind.MID).questions[:2]
    saved = submit(instructor, page, imports, {"questions": questions_json(questions)})
    assert saved.status_code == 200 and "Imported 2 questions" in saved.text
    stored = survey(pair.app, survey_id)
    assert [q["key"] for q in stored.questions] == ["satisfaction", "confidence"]
    exported = instructor.get(staff_path(pair, f"/{survey_id}/questions.json"))
    assert exported.headers["content-disposition"] == f'attachment; filename="survey-{survey_id}-questions.json"'
    assert json.loads(exported.text) == stored.questions

    # Once open, answers refer to the questions: they are fixed, and the page says so.
    open_survey(pair, survey_id)
    fixed = submit(instructor, page, imports, {"questions": questions_json(questions[:1])})
    assert fixed.status_code == 422
    assert "The questions of an opened survey cannot change" in html.unescape(fixed.text)
    assert "The questions are fixed since the survey opened" in html.unescape(fixed.text)
    assert len(survey(pair.app, survey_id).questions) == 2
    assert open_survey(pair, survey_id).status_code == 422  # opening twice is refused too


def test_creating_needs_a_kind_of_survey(pair: Pair) -> None:
    refused = submit(pair.browser("instructor"), staff_path(pair), staff_path(pair), {"kind": "weekly"})
    assert refused.status_code == 422
    assert "Not a valid choice" in refused.text
    with pair.app.app_context():
        assert db.session.query(Survey).count() == 0
