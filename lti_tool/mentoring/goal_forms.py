"""Forms of the pair page's goals section: field checks here; the goal rules they apply come from goals.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from lti_tool.mentoring.goals import MAX_COMMENT, MAX_MEASURE, MAX_TITLE, DateWindow
from lti_tool.mentoring.models import Goal, GoalStatus
from lti_tool.number_fields import WholeNumberField
from lti_tool.programs.models import Skill

NEW_GOAL = "new-goal"
STATUS_LABELS = {
    GoalStatus.NOT_STARTED.value: "Not started",
    GoalStatus.IN_PROGRESS.value: "In progress",
    GoalStatus.COMPLETED.value: "Completed",
    GoalStatus.DROPPED.value: "Dropped",
}
_PROGRESS_MESSAGE = "Enter a whole number from 0 to 100."


# Each goal's forms carry its id in their prefix, so that several goals' fields have distinct ids on one page.
def progress_prefix(goal_id: int) -> str:
    return f"goal-{goal_id}"


def milestone_prefix(goal_id: int) -> str:
    return f"goal-{goal_id}-milestone"


def comment_prefix(goal_id: int) -> str:
    return f"goal-{goal_id}-comment"


def _date_limits(window: DateWindow) -> dict[str, str]:
    return {"min": window.earliest.isoformat(), "max": window.latest.isoformat()}


def _check_window(window: DateWindow, field: Field) -> None:
    error = window.error(field.data) if field.data else None
    if error:
        raise ValidationError(error)


class GoalForm(FlaskForm):  # type: ignore[misc]
    title = StringField(
        "Your goal",
        [
            DataRequired("Say what you want to achieve."),
            Length(max=MAX_TITLE, message="At most %(max)d characters."),
        ],
        description="Specific: what you will be able to do, e.g. “Review a colleague's pull request on my own”.",
    )
    skill_key = SelectField(
        "Framework skill it develops",
        validate_choice=False,
        validators=[InputRequired("Choose the skill this goal develops.")],
    )
    measure = TextAreaField(
        "How we'll know it is reached",
        [
            DataRequired("Say how you and your mentor will know the goal is reached."),
            Length(max=MAX_MEASURE, message="At most %(max)d characters."),
        ],
        description="Measurable: something you can both check, e.g. “Three reviews merged without rework”.",
    )
    target_on = DateField("Target date", [InputRequired("Enter the date you aim to reach it by.")])

    def __init__(self, skills: Iterable[Skill], window: DateWindow, **kwargs: Any) -> None:
        super().__init__(prefix=NEW_GOAL, **kwargs)
        self.window = window
        self.skill_key.choices = [SelectChoice("", "Choose a skill"), *(SelectChoice(s.key, s.name) for s in skills)]
        self.target_on.render_kw = _date_limits(window)

    @classmethod
    def blank(cls, skills: Iterable[Skill], window: DateWindow) -> GoalForm:
        return cls(skills, window, formdata=None)

    def validate_skill_key(self, field: Field) -> None:
        if field.data not in {choice.value for choice in self.skill_key.choices if choice.value}:
            raise ValidationError("Choose one of the program's skills.")

    def validate_target_on(self, field: Field) -> None:
        _check_window(self.window, field)


class ProgressForm(FlaskForm):  # type: ignore[misc]
    status = SelectField(
        "Status",
        choices=[SelectChoice(value, label) for value, label in STATUS_LABELS.items()],
        validate_choice=False,
        validators=[InputRequired("Choose a status.")],
    )
    progress = WholeNumberField(
        "Progress (%)",
        [InputRequired(_PROGRESS_MESSAGE), NumberRange(0, 100, _PROGRESS_MESSAGE)],
        invalid_message="Enter the progress as a whole number from 0 to 100, such as 50.",
    )

    @classmethod
    def of(cls, goal: Goal) -> ProgressForm:
        return cls(
            formdata=None, prefix=progress_prefix(goal.id), data={"status": goal.status, "progress": goal.progress}
        )

    def validate_status(self, field: Field) -> None:
        if field.data not in STATUS_LABELS:
            raise ValidationError("Choose one of the statuses listed.")


class MilestoneForm(FlaskForm):  # type: ignore[misc]
    title = StringField(
        "Milestone",
        [DataRequired("Name the step."), Length(max=MAX_TITLE, message="At most %(max)d characters.")],
    )
    due_on = DateField("Due date (optional)", [Optional()])

    def __init__(self, window: DateWindow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window = window
        self.due_on.render_kw = _date_limits(window)

    @classmethod
    def blank(cls, goal_id: int, window: DateWindow) -> MilestoneForm:
        return cls(window, formdata=None, prefix=milestone_prefix(goal_id))

    def validate_due_on(self, field: Field) -> None:
        _check_window(self.window, field)


class CommentForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField(
        "Your comment",
        [
            DataRequired("Write your comment first."),
            Length(max=MAX_COMMENT, message="At most %(max)d characters."),
        ],
    )

    @classmethod
    def blank(cls, goal_id: int) -> CommentForm:
        return cls(formdata=None, prefix=comment_prefix(goal_id))


class MilestoneTickForm(FlaskForm):  # type: ignore[misc]
    """A button that ticks a milestone off (`done` sent) or back on (`done` absent)."""

    done = BooleanField()
