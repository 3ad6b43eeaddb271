"""Number inputs of every form: one plain-language message when what was typed is no number, never WTForms'.

WTForms puts "Not a valid integer value." (or "float") in a field's errors when the text does not convert, then runs
the field's validators, whose range check adds its own message: the person read two messages, one of them jargon.
These fields say `invalid_message` instead ("Enter a number of minutes, such as 45.") and stop there."""

from __future__ import annotations

from typing import Any

from wtforms import FloatField, IntegerField
from wtforms.validators import StopValidation


class _PlainNumber:
    """Mixed in before a WTForms number field."""

    data: Any

    def __init__(self, label: str, validators: list[Any] | None = None, *, invalid_message: str, **kwargs: Any):
        super().__init__(label, validators, **kwargs)  # type: ignore[call-arg]
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and isinstance(valuelist[0], str) and not valuelist[0].strip():
            self.data = None  # nothing typed: InputRequired or Optional says what that means, not a "not a number"
            return
        try:
            super().process_formdata(valuelist)  # type: ignore[misc]
        except ValueError:
            raise ValueError(self.invalid_message) from None

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:  # type: ignore[attr-defined]
            raise StopValidation()  # the one message is already there: no range check on a value that is not one


class WholeNumberField(_PlainNumber, IntegerField):  # type: ignore[misc]
    """A whole number. It also refuses numbers longer than any field takes: NumberRange's NaN check cannot convert
    an integer of hundreds of digits to a float, which would otherwise end the request in an error."""

    MAX_DIGITS = 9

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and isinstance(valuelist[0], str) and len(valuelist[0].strip().lstrip("+-")) > self.MAX_DIGITS:
            self.data = None
            raise ValueError(self.invalid_message)
        super().process_formdata(valuelist)


class DecimalNumberField(_PlainNumber, FloatField):  # type: ignore[misc]
    """A number that may have decimals, such as 1.5."""
