"""Forms of the assessment pages: a round's settings (staff) and one rating per focus skill (raters)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from lti_tool.assessments.models import AssessmentRound, GradeRule, RoundKind, SkillAssessment
from lti_tool.assessments.services import (
    GRADE_RULE_LABELS,
    GRADE_RULE_WORDS,
    KIND_LABELS,
    MAX_COMMENT,
    MAX_TITLE,
    POSITION_RANGE,
    RoundSettings,
)
from lti_tool.number_fields import WholeNumberField
from lti_tool.profiles.forms import one_of
from lti_tool.programs.models import Skill
from lti_tool.programs.services import LEVELS

KIND_EXPLANATIONS = {
    RoundKind.BASELINE.value: "At the start of the cohort: where each mentee begins.",
    RoundKind.FOLLOW_UP.value: "Later or at the end: growth is measured against the first round.",
}
RULE_EXPLANATIONS = {value: f"Score: {words}" for value, words in GRADE_RULE_WORDS.items()}
LEVEL_FIELD_PREFIX = "level-"


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class RoundForm(FlaskForm):  # type: ignore[misc]
    title = StringField(
        "Title",
        [DataRequired("Give the round a title."), Length(max=MAX_TITLE, message="At most %(max)d characters.")],
        filters=[_strip],
    )
    kind = RadioField(
        "Kind of round",
        choices=[SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        default=RoundKind.BASELINE.value,
        validators=[InputRequired("Choose baseline or follow-up.")],
    )
    position = WholeNumberField(
        "Order",
        [
            InputRequired("Enter a whole number."),
            NumberRange(*POSITION_RANGE, message="Enter a whole number from %(min)s to %(max)s."),
        ],
        invalid_message="Enter the round's place in the order as a whole number, such as 2.",
        description="Rounds are compared in this order: growth runs from the first round with ratings to the latest.",
    )
    graded = BooleanField("Graded: give each mentee a score by the rule below")
    grade_rule = RadioField(
        "Grading rule",
        choices=[SelectChoice(value, label) for value, label in GRADE_RULE_LABELS.items()],
        default=GradeRule.AVERAGE_LEVEL.value,
        validators=[InputRequired("Choose how the score is given.")],
    )

    @staticmethod
    def data_of(round_: AssessmentRound) -> dict[str, Any]:
        return {
            "title": round_.title,
            "kind": round_.kind,
            "position": round_.position,
            "graded": round_.graded,
            "grade_rule": round_.grade_rule,
        }

    def to_settings(self) -> RoundSettings:
        return RoundSettings(
            title=self.title.data or "",
            kind=RoundKind(self.kind.data),
            position=int(self.position.data),
            graded=bool(self.graded.data),
            grade_rule=GradeRule(self.grade_rule.data),
        )


class RatingForm(FlaskForm):  # type: ignore[misc]
    """The fields every rating form shares; `build_rating_form` adds one level field per focus skill."""

    comment = TextAreaField(
        "Comment (optional)",
        [Length(max=MAX_COMMENT, message=f"Use at most {MAX_COMMENT} characters (you wrote %(length)d).")],
        filters=[_strip],
    )

    skill_fields: list[tuple[Skill, RadioField]]

    def levels(self) -> dict[str, int]:
        return {skill.key: int(field.data) for skill, field in self.skill_fields}

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(what, message, id of the control to jump to) for every error, in page order."""
        entries = [(f"Level in {skill.name}", field.errors, f"{field.id}-0") for skill, field in self.skill_fields]
        entries.append((str(self.comment.label.text), self.comment.errors, self.comment.id))
        return [(what, message, anchor) for what, messages, anchor in entries for message in messages]


def build_rating_form(skills: list[Skill], previous: SkillAssessment | None, *, fill: bool) -> RatingForm:
    """The form for these skills; `fill` shows the rater's previous submission (if any) instead of the request."""
    levels = [str(level) for level in range(1, LEVELS + 1)]
    attrs: dict[str, Any] = {
        f"{LEVEL_FIELD_PREFIX}{skill.key}": RadioField(
            skill.name,
            choices=[SelectChoice(str(n), text) for n, text in enumerate(skill.descriptors[:LEVELS], start=1)],
            validate_choice=False,
            validators=[
                InputRequired(message=f"Choose a level for {skill.name}."),
                one_of(levels, f"Choose a level from 1 to {LEVELS}."),
            ],
        )
        for skill in skills
    }
    form_class = type("SkillRatingForm", (RatingForm,), attrs)
    data: dict[str, Any] | None = None
    if fill and previous is not None:
        data = {f"{LEVEL_FIELD_PREFIX}{r.skill_key}": str(r.level) for r in previous.ratings}
        data["comment"] = previous.comment
    form: RatingForm = form_class(formdata=None, data=data) if fill else form_class()
    form.skill_fields = [(skill, form[f"{LEVEL_FIELD_PREFIX}{skill.key}"]) for skill in skills]
    return form
