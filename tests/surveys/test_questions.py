"""The question schema and the checking of answers, as plain functions (no app)."""

from __future__ import annotations

import json

import pytest

from lti_tool.surveys.models import SurveyKind
from lti_tool.surveys.questions import (
    AnswersInvalid,
    QuestionsInvalid,
    answer_text,
    coded_answers,
    distribution,
    parse_answers,
    parse_questions,
    questions_from_json,
    questions_json,
)
from lti_tool.surveys.services import default_survey


def test_the_default_surveys_ask_about_the_match_confidence_progress_and_careers() -> None:
    mid, end = default_survey(SurveyKind.MID), default_survey(SurveyKind.END)
    assert {"satisfaction", "confidence", "goal-progress"} <= {q.key for q in mid.questions}
    career = next(q for q in end.questions if q.key == "career-outcomes")
    assert career.type.value == "multi-choice"
    assert {o.value for o in career.options} >= {"new-role", "promotion", "certification", "project-lead"}
    assert any(q.type.value == "text" for q in end.questions)
    # What the instructor edits reads back to the same questions.
    assert questions_from_json(questions_json(end.questions)) == end.questions


def test_every_schema_problem_is_reported_with_its_question() -> None:
    with pytest.raises(QuestionsInvalid) as raised:
        parse_questions(
            [
                {"key": "ok", "text": "Fine?", "type": "scale", "required": True},
                {"key": "Bad Key", "text": "", "type": "scale"},
                {"key": "pick", "text": "Pick", "type": "single-choice", "options": [{"value": "a", "label": "A"}]},
                {"key": "scale2", "text": "Rate", "type": "slider"},
                {"key": "ok", "text": "Again", "type": "text", "colour": "red"},
                {
                    "key": "twice",
                    "text": "Which?",
                    "type": "multi-choice",
                    "options": [{"value": "a", "label": "Yes"}, {"value": "b", "label": "yes "}],
                },
            ]
        )
    errors = raised.value.errors
    # The same problems by question and field, for the editor to show next to each field.
    by_field = {(p.index, p.field) for p in raised.value.problems}
    assert {(1, "key"), (1, "text"), (2, "options"), (3, "type"), (4, "fields"), (5, "options")} <= by_field
    assert "Question 6 “twice” (options): participants could not tell these apart: Yes, yes." in errors
    assert any(e.startswith("Question 2 (key)") for e in errors)
    assert any("(text)" in e and "Question 2" in e for e in errors)
    assert any("“pick” (options): 2 to 12 options (found 1)." in e for e in errors)
    assert any("“scale2” (type)" in e for e in errors)
    assert any("unknown field 'colour'" in e for e in errors)
    with pytest.raises(QuestionsInvalid, match="repeated: ok"):
        parse_questions([{"key": "ok", "text": "A", "type": "text"}, {"key": "ok", "text": "B", "type": "scale"}])
    with pytest.raises(QuestionsInvalid, match="line 1, column"):
        questions_from_json("[{")
    with pytest.raises(QuestionsInvalid, match="1 to 30"):
        questions_from_json(json.dumps([]))


def test_answers_are_checked_per_question_type() -> None:
    questions = default_survey(SurveyKind.END).questions
    valid = {
        "q-satisfaction": ["4"],
        "q-confidence": ["5"],
        "q-goal-progress": ["3"],
        "q-career-outcomes": ["project-lead", "promotion"],
        "q-recommend": ["yes"],
        "q-proudest-outcome": ["  I led the migration.  "],
        "q-improve": [""],
    }
    answers = parse_answers(questions, valid)
    # Options keep their own order; optional blanks are left out; text is trimmed.
    assert answers["career-outcomes"] == ["promotion", "project-lead"]
    assert answers["proudest-outcome"] == "I led the migration."
    assert "improve" not in answers
    assert coded_answers(questions, answers) == {
        "satisfaction": 4,
        "confidence": 5,
        "goal-progress": 3,
        "career-outcomes": "promotion[,]project-lead",
        "recommend": "yes",
    }
    career = next(q for q in questions if q.key == "career-outcomes")
    assert answer_text(career, answers["career-outcomes"]) == "I was promoted; I led a project"

    with pytest.raises(AnswersInvalid) as raised:
        parse_answers(
            questions,
            {
                "q-satisfaction": ["7"],
                "q-goal-progress": ["3", "4"],
                "q-career-outcomes": ["astronaut"],
                "q-recommend": ["yes", "no"],
                "q-proudest-outcome": ["x" * 2001],
            },
        )
    assert raised.value.errors == {
        "satisfaction": "Choose a number from 1 to 5.",
        "confidence": "Choose a number from 1 to 5.",
        "goal-progress": "Choose a number from 1 to 5.",
        "career-outcomes": "Choose among the answers shown.",
        "recommend": "Choose one answer only.",
        "proudest-outcome": "Keep your answer under 2000 characters.",
    }


def test_distribution_counts_each_answer_and_the_mean_of_a_scale() -> None:
    questions = {q.key: q for q in default_survey(SurveyKind.END).questions}
    answers = [
        {"satisfaction": 4, "career-outcomes": ["promotion", "certification"]},
        {"satisfaction": 5, "career-outcomes": ["promotion"]},
        {"career-outcomes": ["none-yet"]},
    ]
    scale = distribution(questions["satisfaction"], answers)
    assert scale.answered == 2 and scale.mean == 4.5
    assert [n for _, n in scale.counts] == [0, 0, 0, 1, 1]
    assert scale.counts[0][0] == "1: Not at all satisfied"
    career = dict(distribution(questions["career-outcomes"], answers).counts)
    assert career["I was promoted"] == 2 and career["I earned a certification"] == 1 and career["I led a project"] == 0
