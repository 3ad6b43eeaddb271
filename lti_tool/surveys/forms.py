"""Forms of the instructor's survey pages: field checks here; the question schema in `surveys.questions`."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from lti_tool.surveys.questions import Question, QuestionsInvalid, questions_from_json
from lti_tool.surveys.services import KIND_LABELS, MAX_TITLE

KIND_EXPLANATIONS = {
    "mid": "Halfway through: satisfaction with the match, confidence, progress toward goals, how often pairs meet.",
    "end": "At the end: satisfaction, confidence, progress, career outcomes (new role, promotion, certification, "
    "project lead) and whether they would recommend the program.",
}


class CreateSurveyForm(FlaskForm):  # type: ignore[misc]
    kind = RadioField(
        "Kind of survey",
        choices=[SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        validators=[InputRequired("Choose the kind of survey.")],
    )


class SurveyForm(FlaskForm):  # type: ignore[misc]
    title = StringField(
        "Title",
        [DataRequired("Give the survey a title."), Length(max=MAX_TITLE, message="At most %(max)d characters.")],
    )
    questions = TextAreaField("Questions (JSON)", [DataRequired("Enter at least one question.")])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed: list[Question] = []

    def validate(self, extra_validators: Any = None) -> bool:
        """The field checks, then the question schema: each of its problems is listed next to the field."""
        valid: bool = super().validate(extra_validators)
        if not self.questions.errors:
            try:
                self.parsed = questions_from_json(self.questions.data or "")
            except QuestionsInvalid as error:
                self.questions.errors = list(error.errors)
                return False
        return valid
