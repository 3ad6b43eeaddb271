"""Every number input says what to type, once, in plain words: never WTForms' "Not a valid float value"."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField, Form, FormField, IntegerField
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, NumberRange

from lti_tool.number_fields import DecimalNumberField, WholeNumberField

FORM_MODULES = [
    "lti_tool.programs.forms",
    "lti_tool.profiles.forms",
    "lti_tool.mentoring.goal_forms",
    "lti_tool.mentoring.session_forms",
    "lti_tool.assessments.forms",
    "lti_tool.surveys.forms",
    "lti_tool.deep_linking.forms",
    "lti_tool.lti.admin",
]
PLAIN = "Enter a number of hours, such as 1.5."


class Hours(Form):
    whole = WholeNumberField("Whole", [InputRequired("Required."), NumberRange(1, 10, "From 1 to 10.")],
                             invalid_message=PLAIN)  # fmt: skip
    decimal = DecimalNumberField("Decimal", [InputRequired("Required."), NumberRange(0, 10, "From 0 to 10.")],
                                 invalid_message=PLAIN)  # fmt: skip


def _number_fields(form: type) -> Iterator[tuple[str, type]]:
    for name, value in inspect.getmembers(form, lambda v: isinstance(v, UnboundField)):
        if issubclass(value.field_class, FormField):
            yield from _number_fields(value.args[0])
        elif issubclass(value.field_class, IntegerField | FloatField | DecimalField):
            yield f"{form.__name__}.{name}", value.field_class


def test_every_number_field_of_every_form_is_one_with_a_plain_message() -> None:
    found = {
        name: field
        for module in FORM_MODULES
        for _, form in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(form, Form) and form.__module__ == module
        for name, field in _number_fields(form)
    }
    assert "SessionForm.duration_minutes" in found and "SettingsForm.weight_goal_gain" in found  # the walk works
    plain = {name for name, field in found.items() if issubclass(field, WholeNumberField | DecimalNumberField)}
    assert plain == set(found)


@pytest.mark.parametrize("typed", ["abc", "1,5", "1.5.2", "1e", "½"])
def test_what_is_no_number_gets_the_one_plain_message(typed: str) -> None:
    form = Hours(MultiDict({"whole": typed, "decimal": typed}))
    assert not form.validate()
    assert form.errors == {"whole": [PLAIN], "decimal": [PLAIN]}


def test_a_decimal_in_a_whole_number_field_gets_the_plain_message_and_numbers_their_range_check() -> None:
    form = Hours(MultiDict({"whole": "1.5", "decimal": "11"}))
    assert not form.validate()
    assert form.errors == {"whole": [PLAIN], "decimal": ["From 0 to 10."]}
    assert Hours(MultiDict({"whole": "3", "decimal": "1.5"})).validate()
    huge = Hours(MultiDict({"whole": "9" * 400, "decimal": "9" * 400}))
    assert not huge.validate() and huge.errors == {"whole": [PLAIN], "decimal": ["From 0 to 10."]}
    empty = Hours(MultiDict({"whole": "", "decimal": ""}))  # nothing typed is not "no number": it is required
    assert not empty.validate() and empty.errors == {"whole": ["Required."], "decimal": ["Required."]}
