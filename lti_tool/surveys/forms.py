"""Forms of the instructor's survey pages: field checks and the question editor here; the question schema and its
limits in `surveys.questions`, so the editor and the JSON import refuse the same things with the same words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from lti_tool.surveys.models import KIND_LABELS, MAX_TITLE
from lti_tool.surveys.questions import (
    CHOICE_TYPES,
    MAX_QUESTIONS,
    Question,
    QuestionsInvalid,
    QuestionType,
    parse_questions,
    questions_from_json,
)

KIND_EXPLANATIONS = {
    "mid": "Halfway through: satisfaction with the match, confidence, progress toward goals, how often pairs meet.",
    "end": "At the end: satisfaction, confidence, progress, career outcomes (new role, promotion, certification, "
    "project lead) and whether they would recommend the program.",
}
MAX_IMPORT_BYTES = 256 * 1024  # far above 30 questions of 12 options each
_ROW_FIELD = re.compile(r"q-(\d{1,4})-type")
_NOT_KEY = re.compile(r"[^a-z0-9]+")


class CreateSurveyForm(FlaskForm):  # type: ignore[misc]
    kind = RadioField(
        "Kind of survey",
        choices=[SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        validators=[InputRequired("Choose the kind of survey.")],
    )


class SurveyTitleForm(FlaskForm):  # type: ignore[misc]
    """The title beside the question editor (the questions come from `QuestionEditor`)."""

    title = StringField(
        "Title",
        [DataRequired("Give the survey a title."), Length(max=MAX_TITLE, message="At most %(max)d characters.")],
    )


class ImportQuestionsForm(FlaskForm):  # type: ignore[misc]
    """Questions as JSON, pasted or from a file, checked by the same schema as the editor."""

    questions = TextAreaField("Questions (JSON)")
    file = FileField("Or a JSON file")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed: list[Question] = []

    def validate(self, extra_validators: Any = None) -> bool:
        """The file if one was chosen, else the text; each problem of the schema is listed next to the text."""
        if not super().validate(extra_validators):
            return False
        text = self.questions.data or ""
        upload = self.file.data
        if isinstance(upload, FileStorage) and upload.filename:
            raw = upload.read(MAX_IMPORT_BYTES + 1)
            if len(raw) > MAX_IMPORT_BYTES:
                self.file.errors = [f"The file is larger than {MAX_IMPORT_BYTES // 1024} KB: is it the right one?"]
                return False
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.file.errors = ["The file is not UTF-8 text: export the questions as JSON and choose that file."]
                return False
            self.questions.data = text
        if not text.strip():
            self.questions.errors = ["Paste the questions as JSON, or choose a JSON file."]
            return False
        try:
            self.parsed = questions_from_json(text)
        except QuestionsInvalid as error:
            self.questions.errors = list(error.errors)
            return False
        return True


# --- The question editor: one row of fields per question, no JSON ------------------------------------------------


@dataclass
class QuestionRow:
    """One question as the editor's fields hold it; `errors` maps a field ("text", "type", "options", "labels",
    "required") to what to correct."""

    key: str = ""  # kept from the saved question; a new question's key is made from its text when saved
    type: str = QuestionType.SCALE.value
    text: str = ""
    required: bool = False
    options: str = ""  # the choices' labels, one a line
    low: str = ""  # the scale's words for 1 and 5
    high: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def option_labels(self) -> list[str]:
        return [line.strip() for line in self.options.splitlines() if line.strip()]

    @classmethod
    def of(cls, question: Question) -> QuestionRow:
        low, high = question.labels or ("", "")
        return cls(
            question.key,
            question.type.value,
            question.text,
            question.required,
            "\n".join(o.label for o in question.options),
            low,
            high,
        )


class QuestionEditor:
    """The questions of the editor's form: read from the submitted fields, moved, added and removed, and turned into
    `Question`s by the schema of `surveys.questions` (its problems land on the row and field they concern)."""

    def __init__(self, rows: list[QuestionRow]) -> None:
        self.rows = rows
        self.errors: list[str] = []  # about the whole list (how many questions, repeated keys)
        self.focus = ""  # the id of the control to focus after a move, an addition or a removal

    @classmethod
    def of(cls, questions: Sequence[Question]) -> QuestionEditor:
        return cls([QuestionRow.of(q) for q in questions])

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> QuestionEditor:
        """The rows in the order of their numbers (`q-<n>-type` and its siblings)."""
        numbers = sorted({int(found.group(1)) for name in form if (found := _ROW_FIELD.fullmatch(name))})
        return cls(
            [
                QuestionRow(
                    key=form.get(f"q-{n}-key", "").strip(),
                    type=form.get(f"q-{n}-type", ""),
                    text=form.get(f"q-{n}-text", ""),
                    required=bool(form.get(f"q-{n}-required")),
                    options=form.get(f"q-{n}-options", ""),
                    low=form.get(f"q-{n}-low", ""),
                    high=form.get(f"q-{n}-high", ""),
                )
                for n in numbers
            ]
        )

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.errors for row in self.rows)

    def apply(self, action: str) -> bool:
        """Move a question up or down, remove it or add one (`up-2`, `down-0`, `remove-1`, `add`); False if the
        action is not one of those."""
        if action == "add":
            if len(self.rows) >= MAX_QUESTIONS:
                self.errors.append(f"A survey has at most {MAX_QUESTIONS} questions: remove one to add another.")
            else:
                self.rows.append(QuestionRow())
                self.focus = f"q-{len(self.rows) - 1}-text"
            return True
        verb, _, number = action.partition("-")
        if verb not in {"up", "down", "remove"} or not number.isdigit() or int(number) >= len(self.rows):
            return False
        index = int(number)
        if verb == "remove":
            del self.rows[index]
            self.focus = "add-question"
            return True
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(self.rows):
            self.rows[index], self.rows[other] = self.rows[other], self.rows[index]
            # Keep the keyboard on the same button of the moved question; at either end, on the one that remains.
            end = (verb == "up" and other == 0) or (verb == "down" and other == len(self.rows) - 1)
            self.focus = f"q-{other}-{('down' if verb == 'up' else 'up') if end else verb}"
        return True

    def questions(self, previous: Sequence[Question]) -> list[Question]:
        """The rows as questions, checked by the schema; raises QuestionsInvalid after putting each problem on its
        row. `previous` (the saved questions) keeps the option codes of unchanged options."""
        keys: list[str] = []
        for index, row in enumerate(self.rows):
            taken = {r.key for r in self.rows if r.key} | set(keys)
            keys.append(row.key or _free_key(row.text, taken, f"question-{index + 1}"))
        data = [self._as_data(row, key, previous) for row, key in zip(self.rows, keys, strict=True)]
        try:
            return parse_questions(data)
        except QuestionsInvalid as error:
            for problem in error.problems:
                if problem.index is None:
                    self.errors.append(problem.message)
                else:
                    where = {"key": "text", "fields": "text"}.get(problem.field, problem.field)
                    message = problem.message[:1].upper() + problem.message[1:]
                    self.rows[problem.index].errors.setdefault(where, []).append(message)
            raise

    @staticmethod
    def _as_data(row: QuestionRow, key: str, previous: Sequence[Question]) -> dict[str, Any]:
        data: dict[str, Any] = {"key": key, "text": row.text, "type": row.type, "required": row.required}
        if row.type in CHOICE_TYPES:
            before = next((q for q in previous if q.key == key), None)
            codes = {o.label: o.value for o in before.options} if before else {}
            used: set[str] = set()
            options = []
            for number, label in enumerate(row.option_labels, start=1):
                value = codes.get(label) or _free_key(label, used | set(codes.values()), f"option-{number}")
                used.add(value)
                options.append({"value": value, "label": label})
            data["options"] = options
        elif row.type == QuestionType.SCALE.value and (row.low.strip() or row.high.strip()):
            data["labels"] = [row.low, row.high]
        return data


def _free_key(text: str, taken: set[str], fallback: str) -> str:
    """A key made from words ("How often?" -> "how-often"), unused by the others."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = _NOT_KEY.sub("-", ascii_text).strip("-")[:32].strip("-") or fallback
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key
