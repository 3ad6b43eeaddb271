"""Forms of the matching workflow; every one carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button (run, publish, lock, remove): CSRF is its only field."""


class PairForm(FlaskForm):  # type: ignore[misc]
    """A manual match: a mentor and a mentee, as participant ids (found by searching; the workflow checks them)."""

    mentor = IntegerField("Mentor", validators=[DataRequired()])
    mentee = IntegerField("Mentee", validators=[DataRequired()])


class ReassignForm(FlaskForm):  # type: ignore[misc]
    mentor = IntegerField("New mentor", validators=[DataRequired()])


class SwapForm(FlaskForm):  # type: ignore[misc]
    first = IntegerField("First draft", validators=[DataRequired()])
    second = IntegerField("Second draft", validators=[DataRequired()])


class RematchForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        "Why would you like a different match?",
        validators=[DataRequired(message="Please say why."), Length(min=10, max=2000)],
    )


class ResolveForm(FlaskForm):  # type: ignore[misc]
    action = SelectField(
        "Decision", choices=[SelectChoice("rematch", "End this match"), SelectChoice("dismiss", "Keep the match")]
    )


class ChooseForm(FlaskForm):  # type: ignore[misc]
    mentor = IntegerField("Mentor", validators=[DataRequired()])


class AnswerForm(FlaskForm):  # type: ignore[misc]
    """A mentor's answer to a mentee's request: the button pressed is the decision."""

    decision = SelectField("Answer", choices=[SelectChoice("accept", "Accept"), SelectChoice("decline", "Decline")])


class StepInForm(FlaskForm):  # type: ignore[misc]
    """Staff step in on a waiting request."""

    decision = SelectField(
        "Decision", choices=[SelectChoice("approve", "Approve"), SelectChoice("cancel", "Cancel the request")]
    )
