"""Forms of the session log: each field's own checks here; the pair's rules (when, who owns what) in sessions."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from lti_tool.extensions import utcnow
from lti_tool.mentoring import sessions
from lti_tool.mentoring.models import ActionItem, MentoringSession
from lti_tool.mentoring.relationships import PairAccess
from lti_tool.number_fields import WholeNumberField
from lti_tool.profiles.forms import MultiCheckboxField

LOG_PREFIX = "session"
RATING_LABELS = {1: "1 (not useful)", 2: "2", 3: "3 (useful)", 4: "4", 5: "5 (very useful)"}
_DATE = "Enter a date such as 2025-01-14."
_TIME = "Enter a time such as 18:00."


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=f"Use at most {limit} characters (you wrote %(length)d).")


class ActionItemForm(Form):  # type: ignore[misc]
    """One row of action items: a row without text (and without a due date) is left out."""

    text = StringField("Action", filters=[_strip], validators=[_at_most(sessions.MAX_ACTION)])
    owner = SelectField("Who will do it", validate_choice=False)
    due_on = DateField("Due by (optional)", validators=[Optional()], invalid_value_message=_DATE)

    def validate_text(self, field: Field) -> None:
        if not field.data and self.due_on.data:
            raise ValidationError("Say what is to be done, or clear the due date.")


class SessionForm(FlaskForm):  # type: ignore[misc]
    """Logging a session; `for_pair` fills in the pair's skills and members."""

    day = DateField("Date", [InputRequired("Enter the date you met.")], invalid_value_message=_DATE)
    start = TimeField(
        "Start time",
        [InputRequired("Enter the time you started, such as 18:00.")],
        format=["%H:%M", "%H:%M:%S"],
        invalid_value_message=_TIME,
    )
    duration_minutes = WholeNumberField(
        "Duration in minutes",
        [
            InputRequired("Enter how long you met, in minutes."),
            NumberRange(*sessions.DURATION_RANGE, message="Enter a whole number of minutes from %(min)s to %(max)s."),
        ],
        invalid_message="Enter how long you met as a number of minutes, such as 45.",
    )
    format = RadioField(
        "How you met",
        choices=[SelectChoice(value, label) for value, label in sessions.FORMAT_LABELS.items()],
        validators=[InputRequired("Choose how you met.")],
    )
    topics = TextAreaField(
        "Topics",
        filters=[_strip],
        validators=[DataRequired("Say in a few words what you talked about."), _at_most(sessions.MAX_TOPICS)],
    )
    skill_keys = MultiCheckboxField("Skills practised (optional)", default=list)
    shared_notes = TextAreaField("Shared notes (optional)", filters=[_strip], validators=[_at_most(sessions.MAX_NOTES)])
    private_note = TextAreaField(
        "Your private note (optional)", filters=[_strip], validators=[_at_most(sessions.MAX_NOTES)]
    )
    actions = FieldList(
        FormField(ActionItemForm), min_entries=sessions.BLANK_ACTION_ROWS, max_entries=sessions.MAX_ACTIONS
    )

    @classmethod
    def for_pair(cls, access: PairAccess, data: dict[str, Any] | None = None) -> SessionForm:
        """The form for this pair: its program's skills, its active members as owners; a new log starts today."""
        if data is None:
            data = {
                "day": sessions.local_moment(utcnow(), access.me.participant.timezone).date(),
                "duration_minutes": 60,
            }
        form = cls(prefix=LOG_PREFIX, data=data)
        form.skill_keys.choices = [SelectChoice(skill.key, skill.name) for skill in access.relationship.program.skills]
        owners = [SelectChoice("", "Choose…")] + [
            SelectChoice(
                str(m.participant_id),
                m.participant.membership.user.display_name + (" (you)" if m.id == access.me.id else ""),
            )
            for m in access.active_members
        ]
        for number, row in enumerate(form.actions, start=1):
            row.form.text.label.text = f"Action {number}"
            row.form.owner.label.text = f"Who does action {number}"
            row.form.due_on.label.text = f"Action {number} due by (optional)"
            row.form.owner.choices = owners
        return form

    def validate_skill_keys(self, field: Field) -> None:
        allowed = {choice.value for choice in field.choices}
        if any(key not in allowed for key in field.data or ()):
            raise ValidationError("Choose skills from the program's list.")

    def entry(self) -> sessions.SessionEntry:
        """The submitted session, once the form is valid; rows without an action are left out."""
        allowed = [choice.value for choice in self.skill_keys.choices]
        return sessions.SessionEntry(
            day=self.day.data,
            start=self.start.data,
            duration_minutes=self.duration_minutes.data,
            format=self.format.data,
            topics=self.topics.data or "",
            skill_keys=tuple(key for key in allowed if key in (self.skill_keys.data or ())),
            shared_notes=self.shared_notes.data or "",
            actions=tuple(
                sessions.ActionEntry(
                    row=index,
                    text=row.form.text.data,
                    owner_id=int(row.form.owner.data) if (row.form.owner.data or "").isdigit() else 0,
                    due_on=row.form.due_on.data,
                )
                for index, row in enumerate(self.actions)
                if row.form.text.data
            ),
        )

    def add_entry_errors(self, errors: dict[str, str]) -> None:
        """Put the pair's rules' errors (`SessionEntryError.field_errors`) next to their fields."""
        for name, message in errors.items():
            if name.startswith("actions-"):
                _, row, part = name.split("-", 2)
                field = self.actions.entries[int(row)].form[part]
            else:
                field = self[name]
            field.errors = [*field.errors, message]

    def listed_fields(self) -> list[Field]:
        """Every input, action rows' inputs one by one, in page order (for the error summary)."""
        found: list[Field] = []
        for f in self:
            if f.name == self.actions.name:
                found.extend(sub for row in self.actions for sub in row.form)
            elif f.type != "CSRFTokenField":
                found.append(f)
        return found


class EditSessionForm(SessionForm):
    """Editing a logged session's shared fields: a private note is kept on the session's page instead."""

    private_note = None

    @classmethod
    def of(cls, access: PairAccess, mentoring_session: MentoringSession, items: list[ActionItem]) -> SessionForm:
        """The form filled in with the session as it stands, on the editor's clock, with two empty rows to add."""
        local = sessions.local_moment(mentoring_session.started_at, access.me.participant.timezone)
        rows: list[dict[str, Any]] = [
            {"text": item.text, "owner": str(item.owner_id), "due_on": item.due_on} for item in items
        ]
        rows += [{}] * max(0, min(2, sessions.MAX_ACTIONS - len(rows)))
        return cls.for_pair(
            access,
            {
                "day": local.date(),
                "start": local.time().replace(second=0, microsecond=0, tzinfo=None),
                "duration_minutes": mentoring_session.duration_minutes,
                "format": mentoring_session.format,
                "topics": mentoring_session.topics,
                "skill_keys": list(mentoring_session.skill_keys),
                "shared_notes": mentoring_session.shared_notes,
                "actions": rows,
            },
        )


class DisputeForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        "What is wrong with this log?",
        filters=[_strip],
        validators=[DataRequired("Say what is wrong, so it can be corrected."), _at_most(sessions.MAX_REASON)],
    )


class RatingForm(FlaskForm):  # type: ignore[misc]
    rating = RadioField(
        "How useful was this session for you?",
        choices=[SelectChoice(str(value), label) for value, label in RATING_LABELS.items()],
        validators=[InputRequired("Choose a rating from 1 to 5.")],
    )
    comment = TextAreaField("Comment (optional)", filters=[_strip], validators=[_at_most(sessions.MAX_COMMENT)])


class PrivateNoteForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField("Your private note", filters=[_strip], validators=[_at_most(sessions.MAX_NOTES)])
