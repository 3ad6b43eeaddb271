"""Survey questions as plain data: the question schema, checking answers per question type, coded answers and the
distribution of answers. No Flask and no database."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The limits of a survey, for the JSON schema and the question editor alike.
SCALE = range(1, 6)
MAX_QUESTIONS = 30
MIN_OPTIONS, MAX_OPTIONS = 2, 12
MAX_QUESTION_TEXT = 300
MAX_OPTION_LABEL = 120
MAX_SCALE_LABEL = 60
MAX_TEXT_ANSWER = 2000
# xAPI's delimiter between the choices of one response (cmi.interaction "choice" responses).
CHOICE_DELIMITER = "[,]"
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
KEY_RULE = '1-40 lowercase letters, digits, "-" or "_"'


class QuestionType(StrEnum):
    SCALE = "scale"  # 1 to 5, with optional words for the two ends
    SINGLE_CHOICE = "single-choice"
    MULTI_CHOICE = "multi-choice"
    TEXT = "text"  # free text: stays in the tool, never in a statement


TYPE_LABELS = {
    QuestionType.SCALE: "Scale from 1 to 5",
    QuestionType.SINGLE_CHOICE: "Choose one",
    QuestionType.MULTI_CHOICE: "Choose any",
    QuestionType.TEXT: "Written answer",
}
CHOICE_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE)
QUESTION_FIELDS = {"key", "text", "type", "required", "options", "labels"}
SCHEMA_HELP = (
    f"A JSON list of 1 to {MAX_QUESTIONS} questions. Each question is an object with: "
    f'"key" (1-40 lowercase letters, digits, "-" or "_", unique), "text" (up to {MAX_QUESTION_TEXT} characters), '
    '"type" ("scale" for 1 to 5, "single-choice", "multi-choice" or "text"), "required" (true or false); '
    f'choice questions add "options": a list of {MIN_OPTIONS}-{MAX_OPTIONS} objects {{"value": a key, "label": up to '
    f'{MAX_OPTION_LABEL} characters}}, each value and label different; scale questions may add "labels": the words '
    f'for 1 and for 5 (up to {MAX_SCALE_LABEL} characters each), e.g. ["Not at all", "Completely"].'
)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    type: QuestionType
    required: bool
    options: tuple[Option, ...] = ()
    labels: tuple[str, str] | None = None

    @property
    def coded(self) -> bool:
        """Its answers are codes (numbers, option values) that may leave the tool; free text may not."""
        return self.type is not QuestionType.TEXT

    def label_of(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "text": self.text, "type": self.type.value, "required": self.required}
        if self.options:
            data["options"] = [{"value": o.value, "label": o.label} for o in self.options]
        if self.labels:
            data["labels"] = list(self.labels)
        return data


@dataclass(frozen=True)
class QuestionProblem:
    """One break of the schema: the question's position (None for the whole list), its field and what is wrong."""

    index: int | None
    field: str  # "key", "text", "type", "required", "options", "labels", "fields", or "" for the whole list
    message: str
    where: str  # e.g. "Question 2 “mood” (options)", for a list of problems without a form beside them

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class QuestionsInvalid(ValueError):
    """A question list breaks the schema; `errors` says where (e.g. "question 2 (options)") and what, `problems`
    the same by question and field (for a form showing each next to its field)."""

    def __init__(self, problems: list[QuestionProblem]) -> None:
        self.problems = problems
        self.errors = [str(p) for p in problems]
        super().__init__("; ".join(self.errors))


class _Problems(list[QuestionProblem]):
    def add(self, index: int | None, field: str, where: str, message: str) -> None:
        self.append(QuestionProblem(index, field, message, f"{where} ({field})" if field and where else where))


def questions_from_json(text: str) -> list[Question]:
    """Questions from the instructor's JSON (see SCHEMA_HELP); every problem is reported, not only the first."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        raise QuestionsInvalid([QuestionProblem(None, "", message, "")]) from None
    return parse_questions(data)


def parse_questions(data: Any) -> list[Question]:
    """Questions from plain data (the JSON's list of objects); every problem is reported, not only the first."""
    if not isinstance(data, list):
        raise QuestionsInvalid(
            [QuestionProblem(None, "", "The questions must be a JSON list: [ {question}, {question}, … ].", "")]
        )
    if not 1 <= len(data) <= MAX_QUESTIONS:
        raise QuestionsInvalid(
            [QuestionProblem(None, "", f"A survey has 1 to {MAX_QUESTIONS} questions (found {len(data)}).", "")]
        )
    problems = _Problems()
    questions: list[Question] = []
    for index, entry in enumerate(data):
        question = _parse_question(entry, index, problems)
        if question is not None:
            questions.append(question)
    keys = [q.key for q in questions]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        problems.add(None, "", "", f"Question keys must be unique; repeated: {', '.join(repeated)}.")
    if problems:
        raise QuestionsInvalid(problems)
    return questions


def _parse_question(entry: Any, index: int, problems: _Problems) -> Question | None:
    where = f"Question {index + 1}"
    if not isinstance(entry, dict):
        problems.add(index, "fields", where, "must be an object with key, text, type and required.")
        return None
    found = len(problems)
    unknown = sorted(set(entry) - QUESTION_FIELDS)
    if unknown:
        problems.add(index, "fields", where, f"unknown field {', '.join(repr(u) for u in unknown)}.")
    key = entry.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        problems.add(index, "key", where, f"{KEY_RULE}, starting with a letter or digit.")
    where = f"{where} “{key}”" if isinstance(key, str) and key else where
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip() or len(text.strip()) > MAX_QUESTION_TEXT:
        problems.add(index, "text", where, f"write the question, at most {MAX_QUESTION_TEXT} characters.")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        problems.add(index, "required", where, "true or false.")
    try:
        kind = QuestionType(str(entry.get("type")))
    except ValueError:
        problems.add(index, "type", where, 'one of "scale", "single-choice", "multi-choice" or "text".')
        return None
    options = _parse_options(entry.get("options"), kind, index, where, problems)
    labels = _parse_labels(entry.get("labels"), kind, index, where, problems)
    if len(problems) > found:
        return None
    return Question(str(key), str(text).strip(), kind, bool(required), options, labels)


def _parse_options(raw: Any, kind: QuestionType, index: int, where: str, problems: _Problems) -> tuple[Option, ...]:
    if kind not in CHOICE_TYPES:
        if raw is not None:
            problems.add(index, "options", where, "only choice questions have options.")
        return ()
    if not isinstance(raw, list) or not MIN_OPTIONS <= len(raw) <= MAX_OPTIONS:
        found = f" (found {len(raw)})" if isinstance(raw, list) else ""
        problems.add(index, "options", where, f"{MIN_OPTIONS} to {MAX_OPTIONS} options{found}.")
        return ()
    options: list[Option] = []
    for number, option in enumerate(raw, start=1):
        value = option.get("value") if isinstance(option, dict) else None
        label = option.get("label") if isinstance(option, dict) else None
        if not isinstance(value, str) or not _KEY.fullmatch(value):
            problems.add(index, "options", where, f"option {number} value: {KEY_RULE}.")
        elif not isinstance(label, str) or not label.strip() or len(label.strip()) > MAX_OPTION_LABEL:
            problems.add(
                index,
                "options",
                where,
                f"option {number} label: the words participants see, at most {MAX_OPTION_LABEL} characters.",
            )
        else:
            options.append(Option(value, label.strip()))
    values = [o.value for o in options]
    if len(set(values)) != len(values):
        problems.add(index, "options", where, "each option needs its own value.")
    labels = [o.label.casefold() for o in options]
    repeated = sorted({o.label for o in options if labels.count(o.label.casefold()) > 1})
    if repeated:
        problems.add(index, "options", where, f"participants could not tell these apart: {', '.join(repeated)}.")
    return tuple(options)


def _parse_labels(raw: Any, kind: QuestionType, index: int, where: str, problems: _Problems) -> tuple[str, str] | None:
    if raw is None:
        return None
    if kind is not QuestionType.SCALE:
        problems.add(index, "labels", where, "only scale questions have labels.")
        return None
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(w, str) and w.strip() and len(w.strip()) <= MAX_SCALE_LABEL for w in raw)
    ):
        words = f"two short texts (at most {MAX_SCALE_LABEL} characters), the words for 1 and for 5."
        problems.add(index, "labels", where, words)
        return None
    return raw[0].strip(), raw[1].strip()


def questions_json(questions: Sequence[Question]) -> str:
    """The questions as the instructor edits them: indented JSON, one option per line."""
    return json.dumps([q.to_json() for q in questions], indent=2, ensure_ascii=False)


# --- Answers ----------------------------------------------------------------------------------------------------

Answer = int | str | list[str]


class AnswersInvalid(ValueError):
    """Some answers are missing or invalid; `errors` maps a question key to what to correct."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def field_name(question: Question) -> str:
    """The form field of a question's answer."""
    return f"q-{question.key}"


def parse_answers(questions: Sequence[Question], form: Mapping[str, Sequence[str]]) -> dict[str, Answer]:
    """Answers from a submitted form (field name -> submitted values), checked per question type.

    Unanswered optional questions are left out; every problem is reported with its question's key.
    """
    answers: dict[str, Answer] = {}
    errors: dict[str, str] = {}
    for question in questions:
        values = [v for v in form.get(field_name(question), []) if v.strip()]
        try:
            answer = _parse_answer(question, values)
        except ValueError as error:
            errors[question.key] = str(error)
            continue
        if answer is None:
            if question.required:
                errors[question.key] = _missing(question)
        else:
            answers[question.key] = answer
    if errors:
        raise AnswersInvalid(errors)
    return answers


def _missing(question: Question) -> str:
    if question.type is QuestionType.SCALE:
        return "Choose a number from 1 to 5."
    if question.type is QuestionType.SINGLE_CHOICE:
        return "Choose one answer."
    if question.type is QuestionType.MULTI_CHOICE:
        return "Choose at least one answer."
    return "Write an answer."


def _parse_answer(question: Question, values: list[str]) -> Answer | None:
    if not values:
        return None
    if question.type is QuestionType.TEXT:
        text = values[0].replace("\r\n", "\n").strip()
        if len(values) > 1 or len(text) > MAX_TEXT_ANSWER:
            raise ValueError(f"Keep your answer under {MAX_TEXT_ANSWER} characters.")
        return text
    if question.type is QuestionType.SCALE:
        if len(values) > 1 or not values[0].isdigit() or int(values[0]) not in SCALE:
            raise ValueError("Choose a number from 1 to 5.")
        return int(values[0])
    known = [o.value for o in question.options]
    if any(v not in known for v in values):
        raise ValueError("Choose among the answers shown.")
    if question.type is QuestionType.SINGLE_CHOICE:
        if len(values) > 1:
            raise ValueError("Choose one answer only.")
        return values[0]
    return [v for v in known if v in values]  # the options' order, each once


def form_values(questions: Sequence[Question], answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """Saved answers as the form shows them again (question key -> the submitted values)."""
    values: dict[str, list[str]] = {}
    for question in questions:
        answer = answers.get(question.key)
        if answer is not None:
            values[question.key] = [str(v) for v in answer] if isinstance(answer, list) else [str(answer)]
    return values


def answer_code(question: Question, answer: Any) -> str | int | None:
    """A coded question's answer as its code: the scale number or the option value, several options joined with
    xAPI's choice delimiter "[,]"; None for free text and for no answer."""
    if not question.coded or answer is None:
        return None
    return CHOICE_DELIMITER.join(answer) if isinstance(answer, list) else answer


def coded_answers(questions: Sequence[Question], answers: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """The answers that may leave the tool (scales and choices), for the `answered` statement; never free text."""
    coded: dict[str, str | int | float | bool] = {}
    for question in questions:
        code = answer_code(question, answers.get(question.key))
        if code is not None:
            coded[question.key] = code
    return coded


def answer_text(question: Question, answer: Any) -> str:
    """An answer as a person reads it: the scale number, the options' labels, or the text."""
    if answer is None:
        return ""
    if isinstance(answer, list):
        return "; ".join(question.label_of(v) for v in answer)
    if question.type in CHOICE_TYPES:
        return question.label_of(str(answer))
    return str(answer)


@dataclass(frozen=True)
class Distribution:
    """How the answers to one coded question spread over its possible answers."""

    question: Question
    answered: int
    counts: tuple[tuple[str, int], ...]  # (label, how many chose it), in the scale's or the options' order
    mean: float | None  # scale questions only


def distribution(question: Question, answers: Sequence[Mapping[str, Any]]) -> Distribution:
    """Count each possible answer of a coded question over every response (a multi-choice answer counts once per
    option chosen)."""
    # Counted in one pass each (program health counts thousands of responses on every view).
    given = [answer for a in answers if (answer := a.get(question.key)) is not None]
    if question.type is QuestionType.SCALE:
        labels = {1: question.labels[0], 5: question.labels[1]} if question.labels else {}
        chosen = Counter(given)
        counts = tuple((f"{n}: {labels[n]}" if n in labels else str(n), chosen[n]) for n in SCALE)
        mean = sum(int(v) for v in given) / len(given) if given else None
        return Distribution(question, len(given), counts, mean)
    chosen = Counter(v for answer in given for v in (answer if isinstance(answer, list) else [answer]))
    counts = tuple((o.label, chosen[o.value]) for o in question.options)
    return Distribution(question, len(given), counts, None)
