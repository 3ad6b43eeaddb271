"""The chooser's form: which items to add, or nothing; the LMS's own rules are checked in services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, SubmitField

from lti_tool.deep_linking.services import Choice


class SelectionForm(FlaskForm):  # type: ignore[misc]
    """Radio buttons or checkboxes (the template decides by accept_multiple) over the course's choices."""

    items = SelectMultipleField("What to add", choices=[])
    add = SubmitField("Add to the course")
    cancel = SubmitField("Add nothing")

    def offer(self, available: list[Choice]) -> SelectionForm:
        self.items.choices = [(choice.key, choice.title) for choice in available]
        return self
